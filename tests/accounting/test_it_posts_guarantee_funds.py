"""Issue 14, item 1: a guarantee fund's payment and the recoveries handed back to it post to the journal.
The claim moves no money; the fund's payment is cash the lender owes back out of what the loan recovers
(the fund is subrogated), so the loan's principal stays where it was; handing the fund its share settles
that. Each posts once, on its own date, and the tie-out still holds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting.posting import journal_post
from accounting.selectors import loan_account_balances
from accounting.services import tie_out_run
from installments.services import payment_record
from lifecycle.guarantees import claim_approve, claim_file, claim_payment_record, recovery_remit
from lifecycle.models import GuaranteeClaim, GuaranteedProduct, GuaranteeFund
from tests.accounting.conftest import entries, entry_lines
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def treasurer(django_user_model):  # type: ignore[no-untyped-def]
    from tests.conftest import _user

    return _user(django_user_model, "tomas.treasury", "treasury")


def test_the_funds_payment_is_owed_back_from_recoveries_and_the_loan_stays_in_the_books(  # type: ignore[no-untyped-def]
    officer, approver, treasurer, teodoro, product
) -> None:
    GuaranteedProduct.objects.create(fund=GuaranteeFund.objects.get(code="crecer"), product=product)
    disbursed = TODAY - dt.timedelta(days=130)
    loan = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        term=6,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )  # 100 days late, 80% covered
    claim = claim_approve(request=claim_file(loan=loan, actor=officer), actor=approver)
    paid_on = TODAY - dt.timedelta(days=5)
    GuaranteeClaim.objects.filter(pk=claim.pk).update(filed_on=paid_on)
    claim.refresh_from_db()
    journal_post(as_of=TODAY)
    assert entries(event="guarantee_payment") == []  # approved, not paid: no money moved

    paid = claim_payment_record(
        claim=claim, actor=treasurer, paid_on=paid_on, amount=D("8000.00"), bank_reference="BN-7"
    )
    before = loan_account_balances(as_of=TODAY, currency="PEN")[loan.pk]
    journal_post(as_of=TODAY)
    (payment,) = entries(event="guarantee_payment")
    assert payment.value_date == paid_on and payment.loan_id == loan.pk and payment.memo == "BN-7"
    assert entry_lines(payment) == [("1113", D("8000.00"), D("0")), ("2517.03", D("0"), D("8000.00"))]
    after = loan_account_balances(as_of=TODAY, currency="PEN")[loan.pk]
    assert after["1415"] == before["1415"]  # the miner's debt is untouched

    payment_record(loan=loan, amount=D("1000.00"), paid_on=TODAY, actor=officer)
    recovery_remit(claim=paid, actor=treasurer, amount=D("800.00"), remitted_on=TODAY, reference="TR-1")
    journal_post(as_of=TODAY)
    journal_post(as_of=TODAY)  # posted once
    (handed,) = entries(event="guarantee_remittance")
    assert entry_lines(handed) == [("2517.03", D("800.00"), D("0")), ("1113", D("0"), D("800.00"))]
    assert loan_account_balances(as_of=TODAY, currency="PEN")[loan.pk]["2517.03"] == D("-7200.00")
    assert tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY).ok
