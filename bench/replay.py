"""The replay engine alone (``installments.ledger``, no database): how long a loan's whole log takes to
replay, and one more withholding on top of it — what a settlement post pays for a miner who sells every
week.

    .venv/bin/python bench/replay.py                  # 36 installments, 150 weekly withholdings
    .venv/bin/python bench/replay.py --entries 400

Each treatment decision (adelanto or pago anticipado, DOMAIN.md §3) is taken in one pass over the lines
unless the amount could reach the payoff, so a long log costs about what it did before the decision
moved into the replay.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from installments import ledger  # noqa: E402
from loans.schedule import ScheduleTerms, build_schedule  # noqa: E402

START = dt.date(2025, 1, 15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--installments", type=int, default=36)
    parser.add_argument("--entries", type=int, default=150)
    parser.add_argument("--repeat", type=int, default=10)
    args = parser.parse_args()
    schedule = build_schedule(
        ScheduleTerms(
            principal=Decimal("50000.00"),
            tea=Decimal("0.40"),
            disbursed_on=START,
            first_due_on=dt.date(2025, 2, 17),
            installments=args.installments,
            insurance_monthly_rate=Decimal("0.0004"),
            fee_per_installment=Decimal("3.50"),
        )
    )
    lines = [
        ledger.PlannedLine(**{name: getattr(line, name) for name in ledger.PlannedLine.__dataclass_fields__})
        for line in schedule.lines
    ]
    terms = ledger.LedgerTerms(
        disbursed_on=START,
        tea=Decimal("0.40"),
        moratory_tea=Decimal("0.15"),
        installment=schedule.installment,
        insurance_monthly_rate=Decimal("0.0004"),
        fee_per_installment=Decimal("3.50"),
    )
    entries = [
        ledger.Entry(n, ledger.WITHHOLDING, START + dt.timedelta(days=7 * n), Decimal("420.00"))
        for n in range(1, args.entries + 1)
    ]
    started = time.perf_counter()
    for _ in range(args.repeat):
        state = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=START + dt.timedelta(days=1200))
    full = (time.perf_counter() - started) / args.repeat
    book = ledger.IncrementalReplay(terms=terms, lines=lines, entries=entries)
    extra = ledger.Entry(10**9, ledger.WITHHOLDING, entries[-1].value_date + dt.timedelta(days=7), Decimal("420.00"))
    started = time.perf_counter()
    book.add(extra)
    one = time.perf_counter() - started
    print(f"{args.installments} installments, {args.entries} withholdings; outstanding {state.outstanding_principal}")
    print(f"  full replay            {full * 1000:8.1f} ms")
    print(f"  one more, incremental  {one * 1000:8.2f} ms")


if __name__ == "__main__":
    main()
