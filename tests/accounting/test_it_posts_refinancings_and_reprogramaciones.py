"""Issue 14 meets issue 13: a refinancing moves no cash — the old loans are paid off through a clearing
account that the new loan's principal credits, and the new loan's principal sits in 1404 refinanciados —
and a reprogramación moves no money, its deferred interest being income when collected."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from accounting.models import JournalLine
from accounting.posting import journal_post
from accounting.services import tie_out_run
from installments.models import Allocation
from installments.services import loan_disburse, payment_record, payoff_quote, portfolio_rate, refinance_propose
from lifecycle.reschedules import reschedule_approve, reschedule_request
from loans.models import Loan
from loans.services import application_approve
from reports.regulatory import journal
from reports.regulatory.rcd import rcd_generate
from tests.accounting.conftest import entries, entry_lines
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


def _balance(code: str, **filters) -> Decimal:  # type: ignore[no-untyped-def]
    totals = JournalLine.objects.filter(account__code=code, **filters).aggregate(d=Sum("debit"), c=Sum("credit"))
    return (totals["d"] or D(0)) - (totals["c"] or D(0))


def test_a_refinancing_pays_the_old_loans_through_clearing_and_books_the_new_one_in_1404(  # type: ignore[no-untyped-def]
    officer, approver, teodoro, product
) -> None:
    disbursed = TODAY - dt.timedelta(days=100)
    late = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(30),
    )
    journal_post(as_of=TODAY - dt.timedelta(days=1))
    owed = payoff_quote(loan=late, on=TODAY).total
    application = refinance_propose(
        loan=late, prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30), refinanced_on=TODAY
    )
    application_approve(application=application, approver=approver, comment="Lost the rainy season.")
    new = loan_disburse(application=application, actor=officer)
    assert new.is_refinanced and new.principal == owed
    journal_post(as_of=TODAY)

    # The new loan: debit 1411 (then moved to 1414 by the true-up), credit the clearing account; no cash.
    [opening] = entries(event="refinancing", loan=new)
    assert entry_lines(opening) == [("1411", owed, D(0)), ("2918.01", D(0), owed)]
    # The old loan: paid off by the clearing account, component by component, like a payment.
    [closing] = entries(event="refinance", loan=late)
    assert closing.lines.get(account__code="2918.01").debit == owed
    assert _balance("2918.01") == 0
    assert _balance("1103", loan=new) == 0
    # Principal: the old loan holds none anywhere; the new one all of it, in 1404 refinanciados.
    for code in ("1411", "1414", "1415"):
        assert _balance(code, loan=late) == 0
    assert (_balance("1411", loan=new), _balance("1414", loan=new)) == (0, owed)
    # A payment on the refinanced loan still leaves its principal whole in 1404 after the true-up.
    payment_record(loan=new, amount=D("500.00"), paid_on=TODAY, actor=officer)
    journal_post(as_of=TODAY)
    new.refresh_from_db()
    assert _balance("1414", loan=new) == new.outstanding_principal
    assert tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY).ok

    # The SBS debtor file of the day ties to the journal: the refinanced loan in 1404, by its SBS code.
    portfolio_rate(as_of=TODAY)
    generated = rcd_generate(
        cutoff=TODAY,
        account_balances=journal.account_balances,
        loan_account_balances=journal.loan_account_balances,
    )
    assert journal.account_balances(as_of=TODAY, currency="PEN")["1404"] == new.outstanding_principal
    assert generated.content


def test_a_reprogramacion_posts_nothing_and_its_deferred_interest_is_income_when_paid(  # type: ignore[no-untyped-def]
    officer, approver, rosa, product
) -> None:
    disbursed = TODAY - dt.timedelta(days=20)
    loan: Loan = disburse(
        miner=rosa, product=product, officer=officer, disbursed_on=disbursed, first_due_on=disbursed + dt.timedelta(30)
    )
    journal_post(as_of=TODAY)
    before = JournalLine.objects.count()
    proposal, _preview = reschedule_request(
        actor=officer,
        loan=loan,
        options=[{"holiday_periods": 2}, {"extra_installments": 3}],
        chosen=0,
        reason="Rainy season: the mine is flooded",
    )
    reschedule_approve(proposal=proposal, actor=approver)
    journal_post(as_of=TODAY)
    # The reschedule entry moves no money; only the accrual true-up can follow the new cronograma.
    assert not entries(event="reprogramming")
    assert set(JournalLine.objects.values_list("entry__event", flat=True)) <= {
        "disbursement",
        "accrual",
        "provision",
        "classification",
        "suspension",
    }
    assert JournalLine.objects.count() >= before
    # Paying it all off pays the deferred interest: credited to interest income, the entry balanced.
    loan.refresh_from_db()
    payoff = payoff_quote(loan=loan, on=TODAY).total
    payment = payment_record(loan=loan, amount=payoff, paid_on=TODAY, actor=officer)
    deferred = Allocation.objects.filter(transaction=payment, component="deferred_interest").aggregate(t=Sum("amount"))[
        "t"
    ]
    journal_post(as_of=TODAY)
    [entry] = entries(event="prepayment", loan=loan) or entries(event="payment", loan=loan)
    lines = entry.lines.all()
    assert sum(line.debit for line in lines) == sum(line.credit for line in lines) == payoff
    if deferred:
        assert lines.get(account__code="5114.01").credit >= deferred
    assert tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY).ok
