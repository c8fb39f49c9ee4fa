"""Issue 14, item 3 (DOMAIN.md §8): after 30 days past due a micro loan's principal moves from 1401 to
1405, its accrued and unpaid interest leaves income for the suspense memo accounts, and what it pays
from then on is income when collected; paid back to 30 days or less, it returns to vigente."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounting.posting import journal_post
from accounting.selectors import loan_account_balances
from installments.models import Allocation, LoanTransaction
from installments.services import payment_record
from tests.accounting.conftest import entries, entry_lines
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
FIRST_DUE = dt.date(2025, 2, 17)


@pytest.fixture
def loan(officer, teodoro, product):  # type: ignore[no-untyped-def]
    return disburse(miner=teodoro, product=product, officer=officer)


def _interest(loan, number: int) -> Decimal:  # type: ignore[no-untyped-def]
    return loan.schedule_lines.get(is_current=True, number=number).interest


def test_at_thirty_days_past_due_the_loan_is_still_vigente(loan):  # type: ignore[no-untyped-def]
    journal_post(as_of=FIRST_DUE + dt.timedelta(days=30))

    balances = loan_account_balances(as_of=FIRST_DUE + dt.timedelta(days=30), currency="PEN")[loan.pk]
    assert balances["1411"] == D("10000.00") and "1415" not in balances
    # 03-19: installments 1 and 2 earned in full, installment 3 for 2 of its 31 days.
    third = (_interest(loan, 3) * 2 / 31).quantize(D("0.01"))
    assert balances["1418"] == _interest(loan, 1) + _interest(loan, 2) + third
    assert not entries(event="classification")


def test_on_day_thirty_one_principal_moves_to_vencido_and_interest_to_suspense(loan):  # type: ignore[no-untyped-def]
    day_30, day_31 = FIRST_DUE + dt.timedelta(days=30), FIRST_DUE + dt.timedelta(days=31)
    journal_post(as_of=day_30)
    accrued = loan_account_balances(as_of=day_30, currency="PEN")[loan.pk]["1418"]
    journal_post(as_of=day_31)

    (move,) = entries(event="classification")
    assert move.value_date == day_31
    assert entry_lines(move) == [("1415", D("10000.00"), D("0")), ("1411", D("0"), D("10000.00"))]
    (suspension,) = entries(event="suspension")
    third = (_interest(loan, 3) * 3 / 31).quantize(D("0.01"))
    in_suspense = _interest(loan, 1) + _interest(loan, 2) + third
    assert entry_lines(suspension) == [
        ("8114", in_suspense, D("0")),
        ("5114.01", accrued, D("0")),
        ("1418", D("0"), accrued),
        ("8314", D("0"), in_suspense),
    ]
    balances = loan_account_balances(as_of=day_31, currency="PEN")[loan.pk]
    assert balances == {"1415": D("10000.00"), "1113": D("-10000.00"), "8114": in_suspense, "8314": -in_suspense}


def test_interest_a_vencido_loan_pays_is_income_when_collected_and_a_cured_loan_is_vigente_again(  # type: ignore[no-untyped-def]
    loan, officer
):
    day_31 = FIRST_DUE + dt.timedelta(days=31)
    journal_post(as_of=day_31)
    paid_on = dt.date(2025, 3, 25)
    payment_record(loan=loan, amount=D("3800.00"), paid_on=paid_on, actor=officer)
    journal_post(as_of=paid_on)

    (payment,) = entries(event="payment")
    txn = LoanTransaction.objects.get(kind="payment")
    interest_paid = {line.number: D("0") for line in loan.schedule_lines.filter(is_current=True)}
    for allocation in Allocation.objects.filter(transaction=txn, component="interest").select_related("schedule_line"):
        interest_paid[allocation.schedule_line.number] += allocation.amount
    assert interest_paid[1] == _interest(loan, 1) and interest_paid[2] == _interest(loan, 2)
    assert ("1418", D("0"), sum(interest_paid.values(), D("0"))) in entry_lines(payment)
    # Installments 1 and 2 paid: the oldest unpaid is due 04-17, the loan is current and back in 1401.
    back = entries(event="classification")[-1]
    assert back.value_date == paid_on
    assert entry_lines(back) == [("1411", D("10000.00"), D("0")), ("1415", D("0"), D("10000.00"))]
    balances = loan_account_balances(as_of=paid_on, currency="PEN")[loan.pk]
    assert "1415" not in balances and "8114" not in balances
    loan.refresh_from_db()
    assert balances["1411"] == loan.outstanding_principal
    # Installment 3 earned for 8 of its 31 days, less what the payment paid of it, is accrued again.
    earned = (_interest(loan, 3) * 8 / 31).quantize(D("0.01"))
    assert balances.get("1418", D("0")) == max(earned - interest_paid[3], D("0"))
    # Everything collected of the suspended interest is income, recognised the day it was collected.
    income = -sum((line[1] - line[2] for e in entries() for line in entry_lines(e) if line[0] == "5114.01"), D("0"))
    assert income == sum(interest_paid.values(), D("0")) + balances.get("1418", D("0"))
