"""The replay engine (installments.ledger) without a database: arrival order never matters."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from installments import ledger
from loans.schedule import ScheduleTerms, build_schedule

D = Decimal
START = dt.date(2025, 1, 15)


def plan(
    principal: Decimal = Decimal("10000.00"), term: int = 6
) -> tuple[ledger.LedgerTerms, list[ledger.PlannedLine]]:  # noqa: B008
    schedule = build_schedule(
        ScheduleTerms(
            principal=principal, tea=D("0.40"), disbursed_on=START, first_due_on=dt.date(2025, 2, 17), installments=term
        )
    )
    lines = [
        ledger.PlannedLine(**{name: getattr(line, name) for name in ledger.PlannedLine.__dataclass_fields__})
        for line in schedule.lines
    ]
    terms = ledger.LedgerTerms(
        disbursed_on=START, tea=D("0.40"), moratory_tea=D("0.15"), installment=schedule.installment
    )
    return terms, lines


def final_state(state: ledger.LedgerState) -> tuple:  # type: ignore[type-arg]
    return (
        tuple(
            (
                line.version,
                line.number,
                line.is_current,
                line.plan,
                line.paid_principal,
                line.paid_interest,
                line.paid_moratory,
                line.moratory_accrued,
                line.paid_on,
                line.status,
            )
            for line in state.lines
        ),
        state.outstanding_principal,
        state.overdue_amount,
        state.days_past_due,
        state.next_due_on,
        state.unapplied,
        tuple((v.version, v.effective_on, v.installment, v.mode) for v in state.versions),
    )


# An entry before ids are given: (kind, day offset from disbursement, amount, prepayment mode, voided?)
entry_specs = st.lists(
    st.tuples(
        st.sampled_from([ledger.PAYMENT, ledger.WITHHOLDING, ledger.WITHHOLDING, ledger.PREPAYMENT]),
        st.integers(min_value=1, max_value=200),
        st.decimals(min_value=D("1.00"), max_value=D("6000.00"), places=2),
        st.sampled_from([ledger.REDUCE_TERM, ledger.REDUCE_INSTALLMENT]),
        st.booleans(),
    ),
    min_size=1,
    max_size=8,
)


def entries_in_arrival_order(specs, order):  # type: ignore[no-untyped-def]
    """Give ids in arrival order ``order``; a voided entry's reversal arrives right after it."""
    entries = []
    next_id = 1
    for index in order:
        kind, offset, amount, mode, voided = specs[index]
        original = ledger.Entry(
            id=next_id,
            kind=kind,
            value_date=START + dt.timedelta(days=offset),
            amount=amount,
            prepayment_mode=mode if kind == ledger.PREPAYMENT else "",
        )
        entries.append(original)
        next_id += 1
        if voided:
            entries.append(
                ledger.Entry(
                    id=next_id,
                    kind=ledger.REVERSAL,
                    value_date=dt.date(2025, 9, 1),
                    amount=amount,
                    reverses=original.id,
                )
            )
            next_id += 1
    return entries


@settings(max_examples=60, deadline=None)
@given(specs=entry_specs, data=st.data())
def test_it_gives_the_same_final_state_for_any_arrival_order(specs, data):  # type: ignore[no-untyped-def]
    terms, lines = plan()
    as_of = dt.date(2025, 8, 1)
    in_order = list(range(len(specs)))
    shuffled = data.draw(st.permutations(in_order))

    first = ledger.replay(terms=terms, lines=lines, entries=entries_in_arrival_order(specs, in_order), as_of=as_of)
    second = ledger.replay(terms=terms, lines=lines, entries=entries_in_arrival_order(specs, shuffled), as_of=as_of)

    assert final_state(first) == final_state(second)
    # Money is conserved: everything that came in is allocated, what exceeds the debt as an overpayment.
    kept = [s for s in specs if not s[4]]
    assert sum((a.amount for a in first.allocations), D(0)) == sum((s[2] for s in kept), D(0))
    assert first.unapplied == sum((a.amount for a in first.allocations if a.component == ledger.OVERPAYMENT), D(0))


@settings(max_examples=40, deadline=None)
@given(specs=entry_specs)
def test_it_keeps_every_installment_within_its_figures(specs):  # type: ignore[no-untyped-def]
    terms, lines = plan()
    state = ledger.replay(
        terms=terms, lines=lines, entries=entries_in_arrival_order(specs, range(len(specs))), as_of=dt.date(2025, 8, 1)
    )
    for line in state.lines:
        assert D(0) <= line.paid_principal <= line.plan.principal
        assert D(0) <= line.paid_interest <= line.plan.interest
        assert D(0) <= line.paid_moratory <= line.moratory_accrued
    # Principal is never lost: what is outstanding plus what was paid is what was lent.
    paid = sum((a.amount for a in state.allocations if a.component == "principal"), D(0))
    assert state.outstanding_principal + paid == D("10000.00")


def test_it_cancels_a_reversed_payment_as_if_it_never_came() -> None:
    terms, lines = plan()
    pay = ledger.Entry(1, ledger.PAYMENT, dt.date(2025, 2, 17), D("1840.40"))
    undo = ledger.Entry(2, ledger.REVERSAL, dt.date(2025, 3, 1), D("1840.40"), reverses=1)

    state = ledger.replay(terms=terms, lines=lines, entries=[pay, undo], as_of=dt.date(2025, 3, 1))

    assert state.allocations == ()
    assert state.days_past_due == 12
    assert state.outstanding_principal == D("10000.00")


def test_it_accrues_moratory_interest_on_overdue_principal_only() -> None:
    terms, lines = plan()

    state = ledger.replay(terms=terms, lines=lines, entries=[], as_of=dt.date(2025, 3, 30))

    first, second = state.current_lines[:2]
    # Linear by day (DOMAIN.md §3): p × i₁ × d with i₁ = 1.15^(1/360) − 1 for moratory, 1.40^(1/360) − 1
    # for the compensatory interest that keeps running: 1,527.16 for 41 days, 1,615.74 for 13 days.
    # Interest itself bears none.
    assert (first.moratory_accrued, second.moratory_accrued) == (D("24.31"), D("8.16"))
    assert (first.late_interest_accrued, second.late_interest_accrued) == (D("58.55"), D("19.64"))
    assert state.days_past_due == 41
    assert state.overdue_amount == D("1840.40") * 2 + D("24.31") + D("8.16") + D("58.55") + D("19.64")


def test_it_regenerates_the_schedule_after_a_pago_anticipado_with_a_shorter_term() -> None:
    terms, lines = plan()
    entries = [
        ledger.Entry(1, ledger.PAYMENT, dt.date(2025, 2, 17), D("1840.40")),
        ledger.Entry(2, ledger.PREPAYMENT, dt.date(2025, 3, 1), D("5000.00"), prepayment_mode=ledger.REDUCE_TERM),
    ]

    state = ledger.replay(terms=terms, lines=lines, entries=entries, as_of=dt.date(2025, 3, 1))

    assert state.current_version == 2
    assert state.installment == D("1840.40")  # same cuota, fewer of them
    current = state.current_lines
    assert [line.number for line in current] == [2, 3]
    assert current[0].plan.days == 16  # the new first period runs from the prepayment date
    # 12 days of interest on 8,472.84 were due on 03-01; the rest of the 5,000 went to principal.
    prepaid = state.allocations_for(2)
    accrued = sum((a.amount for a in prepaid if a.component == "interest"), D(0))
    assert accrued == D("95.56")  # 8,472.84 × (1.4^(12/360) − 1)
    assert state.outstanding_principal == D("8472.84") - (D("5000.00") - accrued)
    assert all(not line.is_current for line in state.lines if line.version == 1)
