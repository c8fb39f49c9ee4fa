"""Issue 13 acceptance: the rating of a refinanced debtor over two quarters. Rosa, rated Normal, is
refinanced: CPP from that day (in the nightly rating, the alignment and the loan's current category); paying
every installment on its due date she improves to Normal after two quarters, not before; a late payment
restarts the window."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from installments.models import LoanRating, ScheduleLine
from installments.services import loan_disburse, loan_recompute, payment_record, portfolio_rate, refinance_propose
from loans.models import Loan, LoanApplication
from loans.schedule import due_dates
from loans.services import application_approve
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
REFINANCED = TODAY - dt.timedelta(days=300)


@pytest.fixture
def refinanced(officer, approver, rosa, product) -> Loan:  # type: ignore[no-untyped-def]
    """Rosa's loan, up to date (Normal), refinanced 300 days ago into 12 monthly installments."""
    old = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        disbursed_on=REFINANCED - dt.timedelta(days=10),
        first_due_on=REFINANCED + dt.timedelta(days=20),
    )
    application = refinance_propose(
        loan=old,
        prepared_by=officer,
        term=12,
        first_due_on=REFINANCED + dt.timedelta(days=30),
        refinanced_on=REFINANCED,
    )
    application_approve(application=application, approver=approver, comment="Rosa lost her plant for months.")
    # Approved on the day of the refinancing (the test goes back in time).
    LoanApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.make_aware(dt.datetime.combine(REFINANCED, dt.time(9)))
    )
    return loan_disburse(application=application, actor=officer, disbursed_on=REFINANCED)


def _pay_on_time(loan: Loan, officer, until: dt.date, late: dict[int, int] | None = None) -> None:  # type: ignore[no-untyped-def]
    """Pay each installment due up to ``until`` on its due date (``late``: number → days late), a little
    more than its total so late charges are covered too."""
    late = late or {}
    for line in ScheduleLine.objects.filter(loan=loan, is_current=True, due_on__lte=until).order_by("number"):
        paid_on = line.due_on + dt.timedelta(days=late.get(line.number, 0))
        payment_record(loan=loan, amount=line.total + D("5.00"), paid_on=paid_on, actor=officer, treatment="adelanto")


def _rated(loan: Loan, on: dt.date) -> LoanRating:
    portfolio_rate(as_of=on)
    return LoanRating.objects.get(loan=loan, as_of=on)


def test_punctual_payment_improves_the_debtor_after_two_quarters_not_before(officer, refinanced) -> None:  # type: ignore[no-untyped-def]
    assert refinanced.refinance_category == "cpp"
    assert refinanced.category == "cpp"  # Normal by days past due, CPP by the refinancing
    window_end = due_dates(REFINANCED, 7)[-1]
    _pay_on_time(refinanced, officer, until=TODAY)
    first = _rated(refinanced, REFINANCED + dt.timedelta(days=5))
    assert (first.days_past_due, first.category, first.aligned_category) == (0, "cpp", "cpp")
    assert first.provision_rate == D("5.0000")
    before = _rated(refinanced, window_end - dt.timedelta(days=1))
    assert (before.days_past_due, before.category) == (0, "cpp")
    after = _rated(refinanced, window_end)
    assert (after.days_past_due, after.category, after.aligned_category) == (0, "normal", "normal")
    refinanced = loan_recompute(loan=refinanced)
    assert refinanced.category == "normal"
    assert refinanced.refinance_floor == "normal"
    assert refinanced.refinance_punctual_since == window_end


def test_a_late_payment_restarts_the_window(officer, refinanced) -> None:  # type: ignore[no-untyped-def]
    third = ScheduleLine.objects.get(loan=refinanced, is_current=True, number=3)
    paid_late = third.due_on + dt.timedelta(days=4)
    _pay_on_time(refinanced, officer, until=TODAY, late={3: 4})
    window_end = due_dates(REFINANCED, 7)[-1]
    assert _rated(refinanced, window_end).category == "cpp"
    restarted_end = due_dates(paid_late, 7)[-1]
    assert _rated(refinanced, restarted_end - dt.timedelta(days=1)).category == "cpp"
    assert _rated(refinanced, restarted_end).category == "normal"
    refinanced.refresh_from_db()
    # The job keeps the loan's floor as of the latest day it rated (state as of an earlier day).
    assert refinanced.refinance_floor == "normal"


def test_the_nightly_accrual_keeps_the_floor_on_the_current_category(officer, refinanced) -> None:  # type: ignore[no-untyped-def]
    from installments.services import nightly_servicing

    nightly_servicing(as_of=REFINANCED + dt.timedelta(days=10))
    refinanced.refresh_from_db()
    assert (refinanced.days_past_due, refinanced.category) == (0, "cpp")
