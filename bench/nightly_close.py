# ruff: noqa: T201 - a benchmark prints its figures
"""The nightly close of the loan sub-ledger at scale (issue 14, item 7).

    .venv/bin/python bench/nightly_close.py --loans 20000            # builds asm_bench_accounting, times
    .venv/bin/python bench/nightly_close.py --loans 150000 --reuse   # an existing database

Builds the book with ``bench/portfolio.py``'s loader into its own database (``asm_bench_accounting``, so
the shared ``asm_bench`` keeps its schema), then times, as of ``--as-of``:

- the servicing step (moratory accrual + rating, which sets the provisions);
- the first posting of the whole journal (disbursements, withholdings, remittances, the accrual,
  vencido and provision true-ups), in batches of ``--batch-size`` loans;
- its rerun for the same date (idempotent: posts nothing);
- the next day's close (a day of accrual and state changes), with one worker and with ``--workers``
  (processes each running batches as a Celery worker runs the chord's tasks; the ratio is reported).
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--withholdings", type=int, default=5_000)
    parser.add_argument("--database", default="asm_bench_accounting")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true")
    return parser.parse_args()


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def _batch(url: str, as_of: str, loan_ids: list[int]) -> int:
    _setup(url)
    from accounting.posting import journal_post_loans

    return journal_post_loans(as_of=dt.date.fromisoformat(as_of), loan_ids=loan_ids)


def close(url: str, as_of: dt.date, batch_size: int, workers: int) -> int:
    from accounting.posting import journal_post_book_level, loan_batches

    entries = journal_post_book_level(as_of=as_of)
    batches = loan_batches(as_of=as_of, batch_size=batch_size)
    if workers == 1:
        from accounting.posting import journal_post_loans

        return entries + sum(journal_post_loans(as_of=as_of, loan_ids=ids) for ids in batches)
    # Spawned, not forked: each worker opens its own connection, as a Celery worker does.
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        return entries + sum(pool.map(_batch, [url] * len(batches), [as_of.isoformat()] * len(batches), batches))


def main() -> None:
    import portfolio

    args = parse()
    args.miners = 2 * args.loans
    as_of = dt.date.fromisoformat(args.as_of)
    url = f"{args.server}/{args.database}"
    if not args.reuse:
        portfolio.recreate_database(args.server, args.database)
    _setup(url)
    from django.core.management import call_command

    from installments.services import moratory_accrue, portfolio_rate

    timer = portfolio.Timer()
    if not args.reuse:
        portfolio.build(args, as_of, timer)
    else:
        timer("migrate", call_command, "migrate", verbosity=0)
        # Time a first posting, not a rerun of the previous one (TRUNCATE is not row-level: allowed).
        portfolio.sql("TRUNCATE accounting_journalline, accounting_journalentry, accounting_tieout")
    print(f"timings ({args.loans:,} loans, batches of {args.batch_size:,})")
    timer("servicing: moratory accrual", moratory_accrue, as_of=as_of)
    timer("servicing: rating and provisions", portfolio_rate, as_of=as_of)
    first = timer("journal: first posting of the whole book (1 worker)", close, url, as_of, args.batch_size, 1)
    again = timer("journal: rerun, same date (posts nothing)", close, url, as_of, args.batch_size, 1)
    day1, day2 = as_of + dt.timedelta(days=1), as_of + dt.timedelta(days=2)
    one = timer("next day's journal, 1 worker", close, url, day1, args.batch_size, 1)
    many = timer(f"following day's journal, {args.workers} workers", close, url, day2, args.batch_size, args.workers)
    results = dict(timer.results)
    servicing = results["servicing: moratory accrual"] + results["servicing: rating and provisions"]
    total = servicing + results["journal: first posting of the whole book (1 worker)"]
    print("summary")
    print(f"  entries: first {first:,}, rerun {again}, next day {one:,}, the day after {many:,}")
    print(f"  whole close (servicing + first posting, 1 worker): {total:.1f} s (target < 60 s)")
    ratio = results["next day's journal, 1 worker"] / results[f"following day's journal, {args.workers} workers"]
    print(f"  a day's posting: 1 worker / {args.workers} workers = {ratio:.2f}×")


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"  ({time.perf_counter() - start:.0f} s in all)")
