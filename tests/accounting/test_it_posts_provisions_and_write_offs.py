"""Issue 14, item 1: provisions follow the nightly rating; a castigo takes the loan out of the book into
the written-off memo accounts, and what it receives afterwards is recovery income."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.posting import journal_post
from accounting.selectors import loan_account_balances
from accounting.services import tie_out_run
from installments.models import LoanRating
from installments.services import payment_record, portfolio_rate
from lifecycle.services import contact_record, write_off_approve, write_off_prepare
from tests.accounting.conftest import entries, entry_lines
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def lost_loan(officer, teodoro, product):  # type: ignore[no-untyped-def]
    """Disbursed 200 days ago, first installment due 170 days ago, never paid: Pérdida."""
    disbursed = TODAY - dt.timedelta(days=200)
    loan = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    portfolio_rate(as_of=TODAY)
    return loan


def test_the_provision_follows_the_latest_rating(lost_loan):  # type: ignore[no-untyped-def]
    journal_post(as_of=TODAY)

    rating = LoanRating.objects.get(loan=lost_loan, as_of=TODAY)
    assert rating.provision == D("10000.00")  # Pérdida, no guarantee: 100%
    (provision,) = entries(event="provision")
    assert entry_lines(provision) == [("4312", D("10000.00"), D("0")), ("1419", D("0"), D("10000.00"))]


def test_a_write_off_leaves_the_book_for_the_memo_accounts_and_a_recovery_is_income(  # type: ignore[no-untyped-def]
    lost_loan, officer, approver
):
    journal_post(as_of=TODAY)
    suspended = loan_account_balances(as_of=TODAY, currency="PEN")[lost_loan.pk]["8114"]
    for days in range(3):
        contact_record(
            loan=lost_loan,
            actor=officer,
            channel="visit",
            outcome="refused",
            contacted_on=TODAY - dt.timedelta(days=days),
        )
    write_off = write_off_approve(
        request=write_off_prepare(loan=lost_loan, actor=officer, reason="No payment in 170 days"), actor=approver
    )
    owed = write_off.principal + write_off.interest_and_charges
    journal_post(as_of=TODAY)

    (castigo,) = entries(event="write_off")
    assert castigo.value_date == TODAY
    # Fully provisioned: the provision absorbs the principal (the expense lines of the rule net to nothing).
    assert entry_lines(castigo) == [
        ("8113", owed, D("0")),
        ("1419", D("10000.00"), D("0")),
        ("8314", suspended, D("0")),
        ("1415", D("0"), D("10000.00")),
        ("8114", D("0"), suspended),
        ("8313", D("0"), owed),
    ]
    balances = loan_account_balances(as_of=TODAY, currency="PEN")[lost_loan.pk]
    assert {code for code in balances if not code.startswith(("1113", "4312", "5114"))} == {"8113", "8313"}

    payment_record(loan=lost_loan, amount=D("500.00"), paid_on=TODAY, actor=officer)
    journal_post(as_of=TODAY)
    (recovery,) = entries(event="recovery")
    # Income when collected, and out of the written-off memo accounts (8113 / 8313) by as much.
    assert entry_lines(recovery) == [
        ("1113", D("500.00"), D("0")),
        ("8313", D("500.00"), D("0")),
        ("5614", D("0"), D("500.00")),
        ("8113", D("0"), D("500.00")),
    ]
    memo = loan_account_balances(as_of=TODAY, currency="PEN")[lost_loan.pk]
    assert memo["8113"] == owed - D("500.00") and memo["8313"] == -(owed - D("500.00"))
    # The rest of what was written off: the memo accounts empty.
    payment_record(loan=lost_loan, amount=owed - D("500.00"), paid_on=TODAY, actor=officer)
    journal_post(as_of=TODAY)
    last = entries(event="recovery")[-1]
    assert ("8113", D("0"), owed - D("500.00")) in entry_lines(last)
    memo = loan_account_balances(as_of=TODAY, currency="PEN")[lost_loan.pk]
    assert memo.get("8113", D("0")) == 0 and memo.get("8313", D("0")) == 0
    assert tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY).ok
