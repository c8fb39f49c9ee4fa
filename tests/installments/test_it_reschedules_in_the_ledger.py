"""The reprogramación in the pure ledger (DOMAIN.md §7), by properties: whatever the option and the day,
the principal still owed is exactly what the new version repays, the holiday's interest sits in its own
column (never in principal), what was exigible stays exigible, and the payoff on any later day closes the
loan at zero."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from installments import ledger
from loans.schedule import RescheduleOptions, ScheduleTerms, build_schedule

D = Decimal
DISBURSED = dt.date(2025, 1, 15)
SCHEDULE = build_schedule(
    ScheduleTerms(
        principal=D("10000"), tea=D("0.40"), disbursed_on=DISBURSED, first_due_on=dt.date(2025, 2, 17), installments=6
    )
)
TERMS = ledger.LedgerTerms(
    disbursed_on=DISBURSED, tea=D("0.40"), moratory_tea=D("0.15"), installment=SCHEDULE.installment
)


def _replay(entries: list[ledger.Entry], as_of: dt.date) -> ledger.LedgerState:
    return ledger.replay(terms=TERMS, lines=SCHEDULE.lines, entries=entries, as_of=as_of)


options = st.builds(
    RescheduleOptions,
    extra_installments=st.integers(0, 6),
    holiday_periods=st.integers(0, 3),
    due_day=st.one_of(st.none(), st.integers(1, 31)),
).filter(lambda option: option.changes_anything)


@settings(max_examples=60, deadline=None)
@given(option=options, day=st.integers(1, 100), paid=st.sampled_from(["0", "500.00", "1840.40"]))
def test_the_new_version_repays_exactly_the_principal_owed(option: RescheduleOptions, day: int, paid: str) -> None:
    on = DISBURSED + dt.timedelta(days=day)
    entries = [ledger.Entry(1, ledger.DISBURSEMENT, DISBURSED, D("10000"))]
    if D(paid):
        entries.append(ledger.Entry(2, ledger.PAYMENT, DISBURSED + dt.timedelta(days=day // 2), D(paid)))
    before = _replay(entries, on)
    entries.append(ledger.Entry(3, ledger.RESCHEDULE, on, D(0), reschedule=option))
    after = _replay(entries, on)

    assert after.current_version == before.current_version + 1
    assert after.outstanding_principal == before.outstanding_principal
    assert (
        sum((line.plan.principal for line in after.current_lines), D(0))
        - sum((line.paid_principal for line in after.current_lines), D(0))
        == before.outstanding_principal
    )
    for line in after.current_lines:
        plan = line.plan
        assert plan.deferred_interest >= 0
        assert plan.total == plan.principal + plan.interest + plan.deferred_interest + plan.insurance + plan.fees
    # What was exigible stays exigible: the days past due carry on.
    assert after.days_past_due == before.days_past_due
    if option.holiday_periods:
        assert sum((line.plan.deferred_interest for line in after.current_lines), D(0)) > 0
    else:
        assert all(line.plan.deferred_interest == 0 for line in after.current_lines)

    # The payoff on a later day closes the loan at exactly zero, deferred interest included.
    later = on + dt.timedelta(days=45)
    quote = _replay(entries, later).payoff()
    closed = _replay([*entries, ledger.Entry(4, ledger.PAYMENT, later, quote.total)], later)
    assert closed.paid_off and closed.outstanding_principal == 0 and closed.overpayment_credit == 0


def test_a_payment_after_the_reprogramacion_pays_deferred_interest_right_after_interest() -> None:
    on = dt.date(2025, 3, 1)
    entries = [
        ledger.Entry(1, ledger.DISBURSEMENT, DISBURSED, D("10000")),
        ledger.Entry(2, ledger.PAYMENT, dt.date(2025, 2, 17), SCHEDULE.lines[0].total),
        ledger.Entry(3, ledger.RESCHEDULE, on, D(0), reschedule=RescheduleOptions(holiday_periods=2)),
    ]
    state = _replay(entries, on)
    first = min((line for line in state.current_lines if line.remaining > 0), key=lambda line: line.due_on)
    entries.append(ledger.Entry(4, ledger.PAYMENT, first.due_on, first.plan.total))
    paid = _replay(entries, first.due_on)
    components = [a.component for a in paid.allocations_for(4)]
    assert components == ["interest", "deferred_interest", "principal"]
    assert {a.amount for a in paid.allocations_for(4) if a.component == "deferred_interest"} == {
        first.plan.deferred_interest
    }
