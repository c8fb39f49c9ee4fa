"""Loan life beyond the happy path (DOMAIN.md §7): the two-person workflows around the servicing engine.

Payment reversal: whoever recorded or found the mistake asks (``reversal_request``) with a reason; a
credit approver or the lender admin who did not ask approves (``reversal_approve``: the engine reverses
the payment and the loan replays) or rejects it with a note; the one who asked may withdraw it while it
waits. Every step is audited; the database refuses an approver who is the requester.

Collections: officers log each contact with a borrower in arrears (call, visit, message, through the
buyer) and its outcome; a promise to pay (amount, day) goes with the outcome "promised to pay".
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from installments.models import LoanTransaction
from installments.services import reversal_refusal, transaction_reverse
from lifecycle.models import CollectionContact, PromiseToPay, ReversalRequest
from loans.models import Loan

# Who may ask for a reversal: whoever records payments (officers) or remittances (treasury).
REVERSAL_REQUESTERS = (roles.LOAN_OFFICER, roles.TREASURY, roles.LENDER_ADMIN)
REVERSAL_APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
REQUEST_FIELDS = ["status", "decided_by_id", "decided_at", "decision_note", "reversal_id"]


def _required_text(field: str, value: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    return value


@transaction.atomic
def reversal_request(*, original: LoanTransaction, actor: Any, reason: str) -> ReversalRequest:
    """Ask for ``original`` (a counter payment, prepayment or withholding) to be reversed."""
    if not roles.has_role(actor, *REVERSAL_REQUESTERS):
        raise PermissionDenied(_("Only loan officers and treasury ask for a payment reversal."))
    reason = _required_text("reason", reason, _("Say why this payment must be reversed."))
    original = LoanTransaction.objects.select_for_update(no_key=True).get(pk=original.pk)
    refusal = reversal_refusal(original)
    if refusal:
        raise TransitionError(refusal)
    if ReversalRequest.objects.filter(original=original, status=ReversalRequest.Status.PENDING).exists():
        raise TransitionError(_("A reversal of this payment is already awaiting approval."))
    try:
        with transaction.atomic():
            request = ReversalRequest.objects.create(
                loan_id=original.loan_id, original=original, reason=reason[:2000], requested_by=actor
            )
    except IntegrityError as exc:  # a concurrent request for the same payment won
        raise TransitionError(_("A reversal of this payment is already awaiting approval.")) from exc
    audit_record(actor=actor, action="reversal.request", obj=request, after=snapshot(request))
    return request


def _pending(request: ReversalRequest) -> ReversalRequest:
    request = ReversalRequest.objects.select_for_update().get(pk=request.pk)
    if request.status != ReversalRequest.Status.PENDING:
        raise TransitionError(_("This reversal request has already been decided."))
    return request


def _decider(request: ReversalRequest, actor: Any) -> None:
    if not roles.has_role(actor, *REVERSAL_APPROVERS):
        raise PermissionDenied(_("Only a credit approver or the lender administrator decides a reversal."))
    if getattr(actor, "pk", None) == request.requested_by_id:
        raise PermissionDenied(_("A second person must approve: you asked for this reversal."))


@transaction.atomic
def reversal_approve(*, request: ReversalRequest, actor: Any, note: str = "") -> ReversalRequest:
    """Approve: the payment is reversed (dated today) and its loan replayed."""
    request = _pending(request)
    _decider(request, actor)
    before = snapshot(request, REQUEST_FIELDS)
    reversal = transaction_reverse(original=request.original, actor=actor, reason=request.reason)
    request.status = ReversalRequest.Status.APPROVED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = (note or "").strip()[:2000]
    request.reversal = reversal
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note", "reversal"])
    audit_record(
        actor=actor, action="reversal.approve", obj=request, before=before, after=snapshot(request, REQUEST_FIELDS)
    )
    return request


@transaction.atomic
def reversal_reject(*, request: ReversalRequest, actor: Any, note: str) -> ReversalRequest:
    """Reject with a note: nothing moves."""
    request = _pending(request)
    _decider(request, actor)
    note = _required_text("note", note, _("Say why the reversal is rejected."))
    before = snapshot(request, REQUEST_FIELDS)
    request.status = ReversalRequest.Status.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note[:2000]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor, action="reversal.reject", obj=request, before=before, after=snapshot(request, REQUEST_FIELDS)
    )
    return request


@transaction.atomic
def reversal_withdraw(*, request: ReversalRequest, actor: Any) -> ReversalRequest:
    """The person who asked takes the request back while it waits."""
    request = _pending(request)
    if getattr(actor, "pk", None) != request.requested_by_id:
        raise PermissionDenied(_("Only the person who asked may withdraw a reversal request."))
    before = snapshot(request, REQUEST_FIELDS)
    request.status = ReversalRequest.Status.WITHDRAWN
    request.decided_at = timezone.now()
    request.save(update_fields=["status", "decided_at"])
    audit_record(
        actor=actor, action="reversal.withdraw", obj=request, before=before, after=snapshot(request, REQUEST_FIELDS)
    )
    return request


# --- Collections ------------------------------------------------------------------------------------

COLLECTORS = (roles.LOAN_OFFICER, roles.TREASURY, roles.LENDER_ADMIN)
PROMISE_HORIZON_DAYS = 90


@transaction.atomic
def contact_record(
    *,
    loan: Loan,
    actor: Any,
    channel: str,
    outcome: str,
    contacted_on: dt.date,
    note: str = "",
    promise_amount: Decimal | None = None,
    promised_on: dt.date | None = None,
) -> CollectionContact:
    """Log a collection contact; an outcome "promised to pay" records the promise (amount and day) with it.

    Whether the promise is kept is read from the ledger later (``lifecycle.selectors``)."""
    if not roles.has_role(actor, *COLLECTORS):
        raise PermissionDenied(_("Only loan officers and treasury log collection contacts."))
    errors: dict[str, str] = {}
    if channel not in CollectionContact.Channel.values:
        errors["channel"] = _("Choose how the borrower was contacted.")
    if outcome not in CollectionContact.Outcome.values:
        errors["outcome"] = _("Choose what came of the contact.")
    today = timezone.localdate()
    if contacted_on > today:
        errors["contacted_on"] = _("A contact cannot be dated in the future.")
    elif contacted_on < loan.disbursed_on:
        errors["contacted_on"] = _("The contact cannot predate the disbursement.")
    promising = outcome == CollectionContact.Outcome.PROMISED
    if promising:
        if promise_amount is None or promise_amount <= 0:
            errors["promise_amount"] = _("Say how much the borrower promised to pay.")
        if promised_on is None:
            errors["promised_on"] = _("Say by which day the borrower promised to pay.")
        elif promised_on < contacted_on or promised_on > contacted_on + dt.timedelta(days=PROMISE_HORIZON_DAYS):
            errors["promised_on"] = _("The promised day is between the contact and %(days)s days after it.") % {
                "days": PROMISE_HORIZON_DAYS
            }
    elif promise_amount or promised_on:
        errors["outcome"] = _('A promise goes with the outcome "promised to pay".')
    if errors:
        raise ValidationError(errors)
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)
    if loan.status != Loan.Status.ACTIVE:
        raise TransitionError(_("Collections work on active loans only."))
    contact = CollectionContact.objects.create(
        loan=loan,
        channel=channel,
        outcome=outcome,
        contacted_on=contacted_on,
        note=(note or "").strip()[:2000],
        recorded_by=actor,
    )
    after: dict[str, Any] = snapshot(contact)
    if promising:
        assert promise_amount is not None and promised_on is not None
        promise = PromiseToPay.objects.create(
            loan=loan,
            contact=contact,
            made_on=contacted_on,
            promised_on=promised_on,
            amount=promise_amount,
            currency=loan.currency,
            recorded_by=actor,
        )
        after["promise"] = snapshot(promise)
    audit_record(actor=actor, action="collection.contact", obj=contact, after=after)
    return contact
