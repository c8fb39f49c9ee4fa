"""A settlement in date order is applied on top of the loan's replayed state instead of replaying its
whole log (``ledger.IncrementalReplay``), and a batch is posted with one write per loan. Neither may
change anything: after any sequence of settlements, recomputing the loan from its log from scratch
(``loan_recompute``) finds nothing to change, and a batch leaves exactly what posting its settlements
one by one leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from buyers.models import Buyer
from installments import ledger
from installments.models import Allocation, ScheduleLine
from installments.selectors import loan_entries, loan_ledger_terms, loan_planned_lines
from installments.services import (
    loan_recompute,
    payment_record,
    settlement_post,
    settlement_post_many,
    settlement_void,
)
from installments.services.settlements import _allocation_breakdown
from installments.services.writeback import LINE_DERIVED, LOAN_DERIVED
from loans.models import Loan
from miners.models import Miner
from tests.installments.conftest import DISBURSED, DOMAIN_LOT, disburse

D = Decimal
# Small lots (30% of their payable is less than one installment), so every settlement withholds and
# most pay an installment only in part; a big one pays several installments at once.
TONNES = [D("0.2"), D("0.5"), D("1"), D("3")]


def derived(loan: Loan) -> dict[str, Any]:
    """Everything the servicing engine derives for a loan: its cached columns, each schedule row's
    derived columns, and the allocations of each transaction (in the order they were written)."""
    loan.refresh_from_db()
    lines = {
        (row["version"], row["number"]): row
        for row in ScheduleLine.objects.filter(loan=loan).values("version", "number", "due_on", *LINE_DERIVED)
    }
    allocations = list(
        Allocation.objects.filter(transaction__loan=loan)
        .order_by("id")
        .values_list("transaction__reference", "schedule_line__version", "schedule_line__number", "component", "amount")
    )
    return {"loan": {name: getattr(loan, name) for name in LOAN_DERIVED}, "lines": lines, "allocations": allocations}


def lot(n: int, settled_on: dt.date, tonnes: Decimal) -> dict[str, Any]:
    return {
        **DOMAIN_LOT,
        "wet_tonnes": tonnes,
        "lot_code": f"INC-{n:03d}",
        "settled_on": settled_on,
        "currency": "PEN",
        "exchange_rate": D("3.75"),
    }


def settlements_strategy() -> st.SearchStrategy[list[tuple[int, Decimal]]]:
    """Days after the first installment's due date (so some land on the same day, some skip whole
    periods) and lot sizes."""
    return st.lists(st.tuples(st.integers(0, 120), st.sampled_from(TONNES)), min_size=1, max_size=8)


@pytest.fixture
def late_loan(officer, orex, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    return disburse(miner=teodoro, product=product, officer=officer, buyer=orex)


_EXAMPLES = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture], database=None
)


@_EXAMPLES
@given(steps=settlements_strategy())
def test_settlements_in_date_order_leave_what_a_full_recompute_gives(
    officer: Any, orex: Buyer, teodoro: Miner, late_loan: Loan, steps: list[tuple[int, Decimal]]
) -> None:
    with transaction.atomic():
        day = DISBURSED + dt.timedelta(days=33)
        for n, (gap, tonnes) in enumerate(steps):
            day = min(day + dt.timedelta(days=gap), timezone.localdate())
            outcome = settlement_post(buyer=orex, miner=teodoro, actor=officer, **lot(n, day, tonnes))
            for withholding, item in zip(outcome.withholdings, outcome.breakdown, strict=True):
                # What the buyer is told was applied is what the allocation rows say.
                assert item["installments"] == _allocation_breakdown(withholding.transaction_id)
        incremental = derived(late_loan)
        loan_recompute(loan=late_loan)
        assert derived(late_loan) == incremental
        transaction.set_rollback(True)


@_EXAMPLES
@given(steps=settlements_strategy(), backdated=st.integers(1, 60))
def test_a_backdated_settlement_replays_the_log_and_gives_the_same_state(
    officer: Any, orex: Buyer, teodoro: Miner, late_loan: Loan, steps: list[tuple[int, Decimal]], backdated: int
) -> None:
    with transaction.atomic():
        day = DISBURSED + dt.timedelta(days=33)
        for n, (gap, tonnes) in enumerate(steps):
            day = min(day + dt.timedelta(days=gap), timezone.localdate())
            settlement_post(buyer=orex, miner=teodoro, actor=officer, **lot(n, day, tonnes))
        earlier = max(day - dt.timedelta(days=backdated), DISBURSED)
        settlement_post(buyer=orex, miner=teodoro, actor=officer, **lot(99, earlier, D("0.5")))
        posted = derived(late_loan)
        loan_recompute(loan=late_loan)
        assert derived(late_loan) == posted
        transaction.set_rollback(True)


def test_a_batch_leaves_what_posting_one_by_one_leaves(officer, orex, rosa, product) -> None:  # type: ignore[no-untyped-def]
    older = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    newer = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        amount=D("5000.00"),
        disbursed_on=dt.date(2025, 2, 1),
        first_due_on=dt.date(2025, 3, 1),
    )
    # Two loans share each cap; same-day lots of different sizes (a smaller one sorts before a bigger
    # one of the same day, so the log is replayed); a lot that predates the second loan; one backdated;
    # and enough money, late on, to pay the older loan off (it must then drop out of the batch).
    plan = [
        (dt.date(2025, 1, 20), D("0.5")),
        (dt.date(2025, 2, 10), D("1")),
        (dt.date(2025, 2, 10), D("0.2")),
        (dt.date(2025, 3, 3), D("1")),
        (dt.date(2025, 2, 20), D("0.5")),
        (dt.date(2025, 5, 5), D("3")),
        *[(dt.date(2025, 9, 1) + dt.timedelta(days=n), D("10")) for n in range(6)],
    ]
    rows = [lot(n, day, tonnes) for n, (day, tonnes) in enumerate(plan)]

    def post_and_read(post: Any) -> tuple[list[Any], dict[str, Any], dict[str, Any]]:
        with transaction.atomic():
            outcomes = post()
            result = (
                [(o.withholding_amount, o.net_to_miner, o.breakdown) for o in outcomes],
                derived(older),
                derived(newer),
            )
            transaction.set_rollback(True)
        return result

    batch = post_and_read(
        lambda: settlement_post_many(buyer=orex, actor=officer, settlements=[{"miner": rosa, **row} for row in rows])
    )
    one_by_one = post_and_read(lambda: [settlement_post(buyer=orex, miner=rosa, actor=officer, **row) for row in rows])
    assert batch == one_by_one
    older_state = batch[1]["loan"]
    assert older_state["status"] == Loan.Status.PAID_OFF


def test_a_void_and_a_payment_still_recompute_from_the_whole_log(officer, orex, teodoro, late_loan) -> None:  # type: ignore[no-untyped-def]
    posted = [
        settlement_post(
            buyer=orex, miner=teodoro, actor=officer, **lot(n, DISBURSED + dt.timedelta(days=40 + n), D("1"))
        )
        for n in range(3)
    ]
    settlement_void(settlement=posted[1].settlement, actor=officer, reason="Wrong lot.")
    payment_record(loan=late_loan, amount=D("500.00"), paid_on=DISBURSED + dt.timedelta(days=41), actor=officer)
    settlement_post(buyer=orex, miner=teodoro, actor=officer, **lot(9, DISBURSED + dt.timedelta(days=90), D("1")))
    state = derived(late_loan)
    loan_recompute(loan=late_loan)
    assert derived(late_loan) == state
    # And the stored rows are the pure replay of the log.
    replayed = ledger.replay(
        terms=loan_ledger_terms(late_loan),
        lines=loan_planned_lines(late_loan),
        entries=loan_entries(late_loan),
        as_of=late_loan.state_as_of,
    )
    assert late_loan.outstanding_principal == replayed.outstanding_principal
    assert {(line.version, line.number): line.paid_principal for line in replayed.lines} == {
        key: row["paid_principal"] for key, row in state["lines"].items()
    }


def test_the_incremental_replay_is_the_full_replay() -> None:
    terms = ledger.LedgerTerms(
        disbursed_on=dt.date(2025, 1, 15), tea=D("0.40"), moratory_tea=D("0.15"), installment=D("1000.00")
    )
    lines = [
        ledger.PlannedLine(
            number=n,
            due_on=dt.date(2025, 1 + n, 15),
            days=30,
            opening_balance=D("3000.00") - D("900.00") * (n - 1),
            principal=D("900.00"),
            interest=D("100.00"),
            insurance=D("0.00"),
            fees=D("0.00"),
            total=D("1000.00"),
            closing_balance=D("3000.00") - D("900.00") * n,
        )
        for n in range(1, 4)
    ]
    entries = [ledger.Entry(1, ledger.DISBURSEMENT, dt.date(2025, 1, 15), D("2700.00"))]
    engine = ledger.IncrementalReplay(terms=terms, lines=lines, entries=entries)
    additions = [
        ledger.Entry(2, ledger.WITHHOLDING, dt.date(2025, 2, 20), D("300.00")),
        ledger.Entry(3, ledger.WITHHOLDING, dt.date(2025, 2, 20), D("400.00")),  # same day, bigger: follows
        ledger.Entry(4, ledger.WITHHOLDING, dt.date(2025, 2, 20), D("100.00")),  # same day, smaller: replays
        ledger.Entry(5, ledger.PAYMENT, dt.date(2025, 4, 1), D("650.00")),
        ledger.Entry(6, ledger.WITHHOLDING, dt.date(2025, 3, 1), D("50.00")),  # backdated: replays
    ]
    expected_incremental = [True, True, False, True, False]
    for entry, incremental in zip(additions, expected_incremental, strict=True):
        assert engine.add(entry) is incremental
        entries.append(entry)
        on = entry.value_date + dt.timedelta(days=3)
        assert engine.state(on) == ledger.replay(terms=terms, lines=lines, entries=entries, as_of=on)
        assert engine.state_on(entry.value_date) == ledger.replay(
            terms=terms, lines=lines, entries=ledger.entries_until(entries, entry.value_date), as_of=entry.value_date
        )
