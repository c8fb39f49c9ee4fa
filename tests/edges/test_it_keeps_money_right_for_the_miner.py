"""Issue 11, items 2, 3, 5 and 9 through the services, the API and the pages: the payoff quote closes a
loan, the borrower's treatment is recorded, a backdated settlement never over-withholds, money beyond the
debt is an overpayment credit staff refund or apply, and a loan's category follows every event."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.models import AuditEvent
from installments.models import Allocation, LoanTransaction
from installments.selectors import loan_state_on
from installments.services import (
    overpayment_apply,
    overpayment_refund,
    payment_record,
    payoff_quote,
    settlement_post,
)
from loans.models import Loan
from reports.services.miner_statement import miner_statement
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal
TODAY = timezone.localdate()
# A loan that fell behind: disbursed 75 days ago, first installment due 45 days ago, the second 15 days
# ago (fixed day of the month, so a day or two either way).
DISBURSED = TODAY - dt.timedelta(days=75)
FIRST_DUE = DISBURSED + dt.timedelta(days=30)


@pytest.fixture
def late_loan(officer, orex, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    return disburse(
        miner=teodoro, product=product, officer=officer, buyer=orex, disbursed_on=DISBURSED, first_due_on=FIRST_DUE
    )


def post(buyer, miner, actor, lot_code, settled_on, **lot):  # type: ignore[no-untyped-def]
    return settlement_post(
        buyer=buyer,
        miner=miner,
        actor=actor,
        lot_code=lot_code,
        settled_on=settled_on,
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, **lot},
    )


def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


# --- Item 2: the payoff quote, from the API, closes the loan ---------------------------------------------


def test_item2_the_api_payoff_quote_closes_the_loan_at_zero(officer, late_loan) -> None:  # type: ignore[no-untyped-def]
    client = api(officer)
    quote = client.get(f"/api/v1/loans/{late_loan.pk}/payoff/", {"on": TODAY.isoformat()})
    assert quote.status_code == 200, quote.content
    body = quote.json()
    parts = D(body["exigible"]) + D(body["principal"]) + D(body["interest"]) + D(body["insurance"])
    assert D(body["amount"]) == parts - D(body["credit_back"])
    assert D(body["exigible_late_interest"]) > 0 and D(body["exigible_moratory"]) > 0

    paid = client.post(
        f"/api/v1/loans/{late_loan.pk}/payments/",
        {"amount": body["amount"], "paid_on": TODAY.isoformat(), "treatment": "adelanto"},
        format="json",
    )

    assert paid.status_code == 201, paid.content
    late_loan.refresh_from_db()
    assert late_loan.status == Loan.Status.PAID_OFF
    assert (late_loan.outstanding_principal, late_loan.overdue_amount, late_loan.overpayment_credit) == (0, 0, 0)
    loan = client.get(f"/api/v1/loans/{late_loan.pk}/").json()
    assert loan["status"] == "paid_off" and loan["category"] == "normal"


def test_item2_the_payoff_answers_errors_in_the_documented_shape(officer, late_loan) -> None:  # type: ignore[no-untyped-def]
    client = api(officer)
    before = client.get(f"/api/v1/loans/{late_loan.pk}/payoff/", {"on": (DISBURSED - dt.timedelta(days=1)).isoformat()})
    assert before.status_code == 400 and "on" in before.json()["error"]["fields"]
    bad = client.get(f"/api/v1/loans/{late_loan.pk}/payoff/", {"on": "31/02/2025"})
    assert bad.status_code == 400 and "on" in bad.json()["error"]["fields"]
    missing = client.get("/api/v1/loans/999999/payoff/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_item2_a_withholding_capped_at_the_payoff_leaves_no_residue(officer, orex, rosa, product) -> None:  # type: ignore[no-untyped-def]
    """Two installments, the first paid on time; a large settlement shortly before the last due date
    withholds the payoff (less than the installment: interest reduced to the day) and closes the loan."""
    disbursed = TODAY - dt.timedelta(days=50)
    loan = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        term=2,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    first = loan.schedule_lines.get(number=1)
    payment_record(loan=loan, amount=first.total, paid_on=first.due_on, actor=officer)
    payoff = payoff_quote(loan=loan, on=TODAY).total
    assert payoff < loan.schedule_lines.get(number=2).total

    outcome = post(orex, rosa, officer, "CLOSE-1", TODAY)

    assert outcome.withholding_amount == payoff
    loan.refresh_from_db()
    assert loan.status == Loan.Status.PAID_OFF and loan.outstanding_principal == 0 and loan.overdue_amount == 0


# --- Item 3: the treatment asked for is recorded and honoured --------------------------------------------


def test_item3_the_api_records_the_treatment_the_borrower_asked_for(officer, rosa, product) -> None:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=10)
    loan = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    one = str(loan.schedule_lines.get(number=1).total)
    client = api(officer)

    response = client.post(
        f"/api/v1/loans/{loan.pk}/payments/",
        {"amount": one, "paid_on": TODAY.isoformat(), "treatment": "pago_anticipado"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["treatment"] == "pago_anticipado"
    loan.refresh_from_db()
    assert loan.schedule_version == 2  # principal reduced, cronograma regenerated
    after = AuditEvent.objects.get(action="payment.prepayment").after or {}
    assert after["applied_as"] == "pago_anticipado" and after["treatment"] == "pago_anticipado"

    bad = client.post(
        f"/api/v1/loans/{loan.pk}/payments/",
        {"amount": one, "paid_on": TODAY.isoformat(), "treatment": "whatever"},
        format="json",
    )
    assert bad.status_code == 400 and "treatment" in bad.json()["error"]["fields"]
    assert LoanTransaction.objects.filter(loan=loan, kind="payment").count() == 1


def test_item3_a_withholding_follows_the_standing_instruction(officer, orex, rosa, product) -> None:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=10)
    loan = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    Loan.objects.filter(pk=loan.pk).update(withholding_treatment="pago_anticipado")

    post(orex, rosa, officer, "INSTR-1", TODAY)

    txn = LoanTransaction.objects.get(loan=loan, kind="withholding")
    assert txn.treatment == "pago_anticipado"
    loan.refresh_from_db()
    assert loan.schedule_version == 2


# --- Item 5: a backdated settlement never over-withholds; the excess is a credit ------------------------


def test_item5_a_backdated_settlement_withholds_nothing_from_a_loan_paid_off_since(
    officer, orex, teodoro, late_loan
) -> None:  # type: ignore[no-untyped-def]
    payoff = payoff_quote(loan=late_loan, on=TODAY - dt.timedelta(days=2)).total
    payment_record(loan=late_loan, amount=payoff, paid_on=TODAY - dt.timedelta(days=2), actor=officer)

    outcome = post(orex, teodoro, officer, "LATE-LOT", FIRST_DUE + dt.timedelta(days=3))

    assert outcome.withholding_amount == D(0) and outcome.withholdings == []
    late_loan.refresh_from_db()
    assert late_loan.status == Loan.Status.PAID_OFF and late_loan.overpayment_credit == 0


def test_item5_a_backdated_settlement_withholds_no_more_than_the_usual_rule_today(
    officer, orex, teodoro, late_loan
) -> None:  # type: ignore[no-untyped-def]
    # A branch payment three days ago cleared everything overdue then.
    three_days_ago = TODAY - dt.timedelta(days=3)
    exigible = loan_state_on(loan=late_loan, on=three_days_ago).exigible()
    payment_record(loan=late_loan, amount=exigible, paid_on=three_days_ago, actor=officer)
    due_today = loan_state_on(loan=late_loan, on=TODAY).amount_due()
    # On the settlement's own date two installments were due or overdue: far more than is owed now.
    settled_on = FIRST_DUE + dt.timedelta(days=3)
    assert loan_state_on(loan=late_loan, on=settled_on).amount_due() > due_today

    outcome = post(orex, teodoro, officer, "LATE-LOT", settled_on)

    assert outcome.withholding_amount == due_today
    late_loan.refresh_from_db()
    assert late_loan.overpayment_credit == 0


def test_item5_money_beyond_the_debt_becomes_a_credit_staff_refund(officer, orex, teodoro, late_loan) -> None:  # type: ignore[no-untyped-def]
    """A branch payment two days ago left S/ 50 of the payoff open; a settlement dated weeks earlier then
    withholds those S/ 50 (never more than is owed now). Replayed in date order the withholding lands
    first, so less late interest accrues: the branch payment now exceeds what was left. The excess is a
    credit, shown on the loan, and staff refund it with a bank reference."""
    two_days_ago = TODAY - dt.timedelta(days=2)
    payoff = payoff_quote(loan=late_loan, on=two_days_ago).total
    payment_record(loan=late_loan, amount=payoff - D("50.00"), paid_on=two_days_ago, actor=officer)

    outcome = post(orex, teodoro, officer, "EARLY-LOT", FIRST_DUE + dt.timedelta(days=3))

    late_loan.refresh_from_db()
    assert late_loan.status == Loan.Status.PAID_OFF
    credit = late_loan.overpayment_credit
    assert credit > 0
    assert outcome.withholding_amount <= D("50.00") + late_loan.moratory_accrued + D("60.00")
    # The credit is its own entry: an overpayment allocation on no installment.
    recorded = Allocation.objects.filter(transaction__loan=late_loan, component="overpayment")
    assert sum((a.amount for a in recorded), D(0)) == credit
    assert all(a.schedule_line_id is None for a in recorded)
    # The miner's statement shows it, and where it came from.
    [statement] = miner_statement(miner=teodoro, date_from=DISBURSED, date_to=TODAY).loans
    assert statement.overpayment_credit == credit
    assert sum((entry.credit for entry in statement.entries), D(0)) == credit
    # So does the API.
    client = api(officer)
    assert D(client.get(f"/api/v1/loans/{late_loan.pk}/").json()["overpayment_credit"]) == credit

    with pytest.raises(ValidationError):
        overpayment_refund(
            loan=late_loan, amount=credit + D("0.01"), refunded_on=TODAY, bank_reference="X", actor=officer
        )
    response = client.post(
        f"/api/v1/loans/{late_loan.pk}/credit/refund/",
        {"amount": str(credit), "refunded_on": TODAY.isoformat(), "bank_reference": "BCP 000123"},
        format="json",
    )

    assert response.status_code == 201, response.content
    assert D(response.json()["overpayment_credit"]) == 0
    late_loan.refresh_from_db()
    assert late_loan.overpayment_credit == 0
    refund = LoanTransaction.objects.get(loan=late_loan, kind="credit_refund")
    assert (refund.amount, refund.reference) == (credit, "BCP 000123")
    assert AuditEvent.objects.filter(action="credit.refund", object_id=str(refund.pk)).exists()
    again = client.post(
        f"/api/v1/loans/{late_loan.pk}/credit/refund/",
        {"amount": "0.01", "refunded_on": TODAY.isoformat(), "bank_reference": "BCP 000124"},
        format="json",
    )
    assert again.status_code == 400 and "amount" in again.json()["error"]["fields"]


def test_item5_a_credit_applies_to_another_loan_of_the_same_miner(officer, orex, teodoro, product, late_loan) -> None:  # type: ignore[no-untyped-def]
    two_days_ago = TODAY - dt.timedelta(days=2)
    payoff = payoff_quote(loan=late_loan, on=two_days_ago).total
    payment_record(loan=late_loan, amount=payoff - D("50.00"), paid_on=two_days_ago, actor=officer)
    post(orex, teodoro, officer, "EARLY-LOT", FIRST_DUE + dt.timedelta(days=3))
    late_loan.refresh_from_db()
    credit = late_loan.overpayment_credit
    other = disburse(
        miner=teodoro, product=product, officer=officer, disbursed_on=TODAY, first_due_on=TODAY + dt.timedelta(days=30)
    )

    with pytest.raises(ValidationError) as refused:
        overpayment_apply(
            loan=late_loan, target=other, amount=credit, applied_on=TODAY, request_reference="", actor=officer
        )
    assert "request_reference" in refused.value.message_dict
    moved = overpayment_apply(
        loan=late_loan, target=other, amount=credit, applied_on=TODAY, request_reference="Carta 2026-11", actor=officer
    )

    late_loan.refresh_from_db()
    other.refresh_from_db()
    assert late_loan.overpayment_credit == 0
    assert moved.transfer_payment.loan == other and moved.transfer_payment.amount == credit
    assert other.outstanding_principal < other.principal or other.schedule_lines.filter(paid_interest__gt=0).exists()
    assert AuditEvent.objects.filter(action="credit.apply", object_id=str(moved.pk)).exists()


def test_item5_the_credit_shows_on_the_loan_page_with_its_actions(client, officer, orex, teodoro, late_loan) -> None:  # type: ignore[no-untyped-def]
    two_days_ago = TODAY - dt.timedelta(days=2)
    payoff = payoff_quote(loan=late_loan, on=two_days_ago).total
    payment_record(loan=late_loan, amount=payoff - D("50.00"), paid_on=two_days_ago, actor=officer)
    post(orex, teodoro, officer, "EARLY-LOT", FIRST_DUE + dt.timedelta(days=3))
    client.force_login(officer)

    page = client.get(reverse("loans:detail", args=[late_loan.pk])).content.decode()
    assert 'id="credit"' in page and reverse("installments:credit", args=[late_loan.pk]) in page

    form = client.post(
        reverse("installments:credit", args=[late_loan.pk]),
        {"action": "refund", "amount": "999999.00", "refunded_on": TODAY.strftime("%d/%m/%Y"), "bank_reference": "R"},
    )
    assert form.status_code == 400
    assert not LoanTransaction.objects.filter(loan=late_loan, kind="credit_refund").exists()


# --- Item 9: the current category follows every event ----------------------------------------------------


def test_item9_a_payment_that_clears_the_arrears_updates_days_past_due_and_category_at_once(officer, late_loan) -> None:  # type: ignore[no-untyped-def]
    from installments.services import moratory_accrue

    moratory_accrue(as_of=TODAY)
    late_loan.refresh_from_db()
    assert late_loan.days_past_due >= 43 and late_loan.category == "deficiente"

    payment_record(loan=late_loan, amount=late_loan.overdue_amount, paid_on=TODAY, actor=officer)

    late_loan.refresh_from_db()
    assert (late_loan.days_past_due, late_loan.category) == (0, "normal")
    assert late_loan.rated_category == ""  # the nightly rating is the dated record; it has not run
