"""Issue 13, item 4: a counter payment or a withholding recorded by mistake is reversed with a reason and a
second person's approval; the loan replays as if it had never been, the statement shows both entries."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from installments.models import LoanTransaction, Remittance, Withholding
from installments.services import (
    loan_recompute,
    overpayment_refund,
    payment_record,
    payoff_quote,
    remittance_record,
    settlement_post,
)
from lifecycle.models import ReversalRequest
from lifecycle.services import reversal_approve, reversal_reject, reversal_request, reversal_withdraw
from loans.models import Loan
from notices.statement import statement_page
from reports.loan_history import loan_history
from reports.services.miner_statement import miner_statement
from tests.installments.conftest import DOMAIN_LOT, disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
DISBURSED = TODAY - dt.timedelta(days=75)
FIRST_DUE = DISBURSED + dt.timedelta(days=30)
LOAN_STATE = ["status", "outstanding_principal", "overdue_amount", "days_past_due", "overpayment_credit", "category"]


def _state(loan: Loan) -> dict:
    """The loan's derived state as of today."""
    loan_recompute(loan=loan)
    loan.refresh_from_db()
    return {name: getattr(loan, name) for name in LOAN_STATE}


@pytest.fixture
def loan(officer, orex, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    return disburse(
        miner=teodoro, product=product, officer=officer, buyer=orex, disbursed_on=DISBURSED, first_due_on=FIRST_DUE
    )


def test_an_approved_reversal_replays_the_loan_as_if_the_payment_never_was(officer, approver, loan) -> None:  # type: ignore[no-untyped-def]
    before = _state(loan)
    payment = payment_record(loan=loan, amount=D("900.00"), paid_on=TODAY - dt.timedelta(days=3), actor=officer)
    assert _state(loan) != before

    asked = reversal_request(original=payment, actor=officer, reason="Typed against the wrong loan")
    assert asked.status == ReversalRequest.Status.PENDING
    assert _state(loan) != before  # nothing moves until a second person approves

    approved = reversal_approve(request=asked, actor=approver, note="Checked the bank slip")
    assert approved.status == ReversalRequest.Status.APPROVED
    reversal = approved.reversal
    assert reversal.kind == LoanTransaction.Kind.REVERSAL and reversal.reverses_id == payment.pk
    assert reversal.value_date == TODAY and reversal.amount == D("900.00")
    assert _state(loan) == before
    actions = list(AuditEvent.objects.filter(action__startswith="reversal.").values_list("action", flat=True))
    assert sorted(actions) == ["reversal.approve", "reversal.request"]
    assert AuditEvent.objects.filter(action="transaction.reverse", object_id=str(reversal.pk)).exists()

    # The statement shows both: the payment and its reversal.
    [statement] = miner_statement(miner=loan.miner, date_from=DISBURSED, date_to=TODAY).loans
    kinds = [entry.kind for entry in statement.entries]
    assert LoanTransaction.Kind.PAYMENT in kinds and LoanTransaction.Kind.REVERSAL in kinds
    # So does the miner's own statement page: the payment, marked reversed, not counted.
    [section] = statement_page(miner=loan.miner, on=TODAY).loans
    [shown] = section.payments
    assert (shown.amount, shown.reversed_on) == (D("900.00"), TODAY)
    # And the loan's history: asked by one, approved by another, the reversal itself with its amount.
    history = {item.action: item for item in loan_history(loan=loan).items}
    assert {"reversal.request", "reversal.approve", "transaction.reverse"} <= set(history)
    assert history["reversal.request"].note == "Typed against the wrong loan"
    assert history["transaction.reverse"].amount == D("900.00")


def test_the_person_who_asked_never_approves(officer, admin_user, loan) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("500.00"), paid_on=TODAY, actor=officer)
    asked = reversal_request(original=payment, actor=admin_user, reason="Duplicate")
    with pytest.raises(PermissionDenied, match="second person"):
        reversal_approve(request=asked, actor=admin_user)
    with pytest.raises(PermissionDenied):
        reversal_approve(request=asked, actor=officer)  # an officer is no approver
    # The database keeps the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        ReversalRequest.objects.filter(pk=asked.pk).update(decided_by=admin_user)
    assert ReversalRequest.objects.get(pk=asked.pk).status == ReversalRequest.Status.PENDING
    assert not LoanTransaction.objects.filter(kind=LoanTransaction.Kind.REVERSAL).exists()


def test_refusals_say_why_and_change_nothing(officer, approver, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("500.00"), paid_on=TODAY, actor=officer)
    with pytest.raises(ValidationError, match="why"):
        reversal_request(original=payment, actor=officer, reason="  ")
    with pytest.raises(PermissionDenied):
        reversal_request(original=payment, actor=analyst, reason="no")
    disbursement = LoanTransaction.objects.get(loan=loan, kind=LoanTransaction.Kind.DISBURSEMENT)
    with pytest.raises(TransitionError, match="counter payment or a withholding"):
        reversal_request(original=disbursement, actor=officer, reason="no")
    asked = reversal_request(original=payment, actor=officer, reason="Duplicate")
    with pytest.raises(TransitionError, match="already awaiting"):
        reversal_request(original=payment, actor=officer, reason="Again")
    with pytest.raises(ValidationError, match="rejected"):
        reversal_reject(request=asked, actor=approver, note="")
    rejected = reversal_reject(request=asked, actor=approver, note="The slip is genuine")
    assert rejected.status == ReversalRequest.Status.REJECTED and rejected.reversal is None
    with pytest.raises(TransitionError, match="already been decided"):
        reversal_approve(request=asked, actor=approver)
    # Asked again and approved: then it cannot be reversed twice.
    reversal_approve(request=reversal_request(original=payment, actor=officer, reason="It was"), actor=approver)
    with pytest.raises(TransitionError, match="already been reversed"):
        reversal_request(original=payment, actor=officer, reason="Once more")
    assert ReversalRequest.objects.count() == 2


def test_the_requester_may_withdraw_while_it_waits(officer, approver, loan) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("500.00"), paid_on=TODAY, actor=officer)
    asked = reversal_request(original=payment, actor=officer, reason="Duplicate")
    with pytest.raises(PermissionDenied):
        reversal_withdraw(request=asked, actor=approver)
    withdrawn = reversal_withdraw(request=asked, actor=officer)
    assert withdrawn.status == ReversalRequest.Status.WITHDRAWN and withdrawn.decided_by is None


def test_reversing_the_payment_that_closed_a_loan_reopens_it(officer, approver, loan) -> None:  # type: ignore[no-untyped-def]
    payoff = payoff_quote(loan=loan, on=TODAY).total
    payment = payment_record(loan=loan, amount=payoff, paid_on=TODAY, actor=officer)
    assert _state(loan)["status"] == Loan.Status.PAID_OFF
    reversal_approve(request=reversal_request(original=payment, actor=officer, reason="Cheque bounced"), actor=approver)
    state = _state(loan)
    assert state["status"] == Loan.Status.ACTIVE and state["outstanding_principal"] > 0


def test_a_credit_already_refunded_blocks_the_reversal(officer, approver, orex, loan) -> None:  # type: ignore[no-untyped-def]
    """A branch payment two days ago left S/ 50 open; a settlement dated weeks earlier withholds them, and
    replayed in date order the payment now exceeds the debt: a credit, refunded to the miner. Reversing
    the withholding would take back money the miner already has: refused until the refund is undone."""
    two_days_ago = TODAY - dt.timedelta(days=2)
    payoff = payoff_quote(loan=loan, on=two_days_ago).total
    payment_record(loan=loan, amount=payoff - D("50.00"), paid_on=two_days_ago, actor=officer)
    outcome = settlement_post(
        buyer=orex,
        miner=loan.miner,
        actor=officer,
        lot_code="EARLY-LOT",
        settled_on=FIRST_DUE + dt.timedelta(days=3),
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    loan.refresh_from_db()
    credit = loan.overpayment_credit
    assert credit > 0
    overpayment_refund(loan=loan, amount=credit, refunded_on=TODAY, bank_reference="OP-1", actor=officer)
    asked = reversal_request(original=outcome.withholdings[0].transaction, actor=officer, reason="Wrong miner")
    before = _state(loan)
    with pytest.raises(TransitionError, match="reverse that first"):
        reversal_approve(request=asked, actor=approver)
    assert _state(loan) == before
    assert ReversalRequest.objects.get(pk=asked.pk).status == ReversalRequest.Status.PENDING
    assert not LoanTransaction.objects.filter(kind=LoanTransaction.Kind.REVERSAL).exists()


def test_a_wrong_withholding_is_reversed_and_its_remitted_money_released(  # type: ignore[no-untyped-def]
    officer, approver, treasurer, orex, loan
) -> None:
    outcome = settlement_post(
        buyer=orex,
        miner=loan.miner,
        actor=officer,
        lot_code="L-WRONG",
        settled_on=TODAY - dt.timedelta(days=2),
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    withholding = outcome.withholdings[0]
    remitted = remittance_record(
        buyer=orex,
        reference="BCP-77",
        amount=withholding.amount,
        currency="PEN",
        paid_on=TODAY - dt.timedelta(days=1),
        actor=officer,
    )
    withholding.refresh_from_db()
    assert withholding.status == Withholding.Status.REMITTED

    asked = reversal_request(original=withholding.transaction, actor=treasurer, reason="Buyer withheld for the brother")
    reversal_approve(request=asked, actor=approver)
    withholding.refresh_from_db()
    assert withholding.status == Withholding.Status.REVERSED and withholding.remitted_amount == 0
    remittance = Remittance.objects.get(pk=remitted.remittance.pk)
    assert remittance.unmatched_amount == withholding.amount
    # The settlement itself stands (the buyer did not void it).
    assert outcome.settlement.status != "void"
    assert _state(loan)["outstanding_principal"] == loan.principal


def _api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_api_asks_and_a_second_person_decides(officer, approver, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("700.00"), paid_on=TODAY, actor=officer)
    url = f"/api/v1/loans/{loan.pk}/payments/{payment.pk}/reverse/"

    assert _api(analyst).post(url, {"reason": "x"}, format="json").status_code == 403
    missing = _api(officer).post(url, {}, format="json")
    assert missing.status_code == 400 and "reason" in str(missing.json())
    assert _api(officer).post(f"/api/v1/loans/{loan.pk}/payments/999999/reverse/", {"reason": "x"}).status_code == 404
    elsewhere = f"/api/v1/loans/{loan.pk + 1}/payments/{payment.pk}/reverse/"
    assert _api(officer).post(elsewhere, {"reason": "x"}).status_code == 404

    asked = _api(officer).post(url, {"reason": "Duplicate of op. 5521"}, format="json")
    assert asked.status_code == 201, asked.content
    body = asked.json()
    assert body["status"] == "pending" and body["original"] == payment.pk and body["requested_by"] == officer.username

    decide = f"/api/v1/reversals/{body['id']}/approve/"
    assert _api(officer).post(decide, {}, format="json").status_code == 403
    listed = _api(approver).get("/api/v1/reversals/?status=pending").json()
    assert [row["id"] for row in listed["results"]] == [body["id"]]
    approved = _api(approver).post(decide, {"note": "ok"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved" and approved.json()["reversal"]
    again = _api(approver).post(decide, {}, format="json")
    assert again.status_code == 409 and "already been decided" in str(again.json())
