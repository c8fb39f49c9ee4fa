"""Loan life beyond the happy path (DOMAIN.md §7): the two-person workflows around the servicing engine.

Payment reversal: whoever recorded or found the mistake asks (``reversal_request``) with a reason; a
credit approver or the lender admin who did not ask approves (``reversal_approve``: the engine reverses
the payment and the loan replays) or rejects it with a note; the one who asked may withdraw it while it
waits. Every step is audited; the database refuses an approver who is the requester.

Collections: officers log each contact with a borrower in arrears (call, visit, message, through the
buyer) and its outcome; a promise to pay (amount, day) goes with the outcome "promised to pay".

Castigo: a loan rated Pérdida, fully provisioned, with collection efforts on record, is prepared for
write-off by an officer and approved by someone else; it leaves the active book but stays owed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import money
from installments.models import LoanTransaction
from installments.services import reversal_refusal, transaction_reverse
from lifecycle.models import CollectionContact, PromiseToPay, RescheduleProposal, ReversalRequest, WriteOff
from loans.models import Loan

# Who may ask for a reversal: whoever records payments (officers) or remittances (treasury).
REVERSAL_REQUESTERS = (roles.LOAN_OFFICER, roles.TREASURY, roles.LENDER_ADMIN)
APPROVERS = REVERSAL_APPROVERS = WRITE_OFF_APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
_Request = TypeVar("_Request", ReversalRequest, WriteOff, RescheduleProposal)
REQUEST_FIELDS = ["status", "decided_by_id", "decided_at", "decision_note"]


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


def _pending(request: _Request) -> _Request:
    """The request locked, still waiting for a decision."""
    request = type(request).objects.select_for_update().get(pk=request.pk)
    if request.status != "pending":
        raise TransitionError(_("This request has already been decided."))
    return request


def _decider(request: ReversalRequest | WriteOff | RescheduleProposal, actor: Any) -> None:
    """The two-person rule: an approver, and not the person who asked."""
    if not roles.has_role(actor, *APPROVERS):
        raise PermissionDenied(_("Only a credit approver or the lender administrator decides this."))
    if getattr(actor, "pk", None) == request.requested_by_id:
        raise PermissionDenied(_("A second person must approve: you prepared this request."))


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
        actor=actor,
        action="reversal.approve",
        obj=request,
        before=before,
        after={**snapshot(request, REQUEST_FIELDS), "reversal_id": reversal.pk},
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


# --- Castigo (write-off) ----------------------------------------------------------------------------

WRITE_OFF_PREPARERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)


def write_off_refusals(loan: Loan) -> list[str]:
    """Why ``loan`` cannot be written off yet (DOMAIN.md §7), every reason at once, or an empty list:
    active; rated Pérdida by the latest nightly rating; fully provisioned (the provision covers the
    principal not covered by registered collateral); collection efforts on record."""
    from installments.models import LoanRating

    reasons: list[str] = []
    if loan.status != Loan.Status.ACTIVE:
        return [_("Only an active loan can be written off.")]
    rating = LoanRating.objects.filter(loan=loan).order_by("-as_of").first()
    if rating is None:
        reasons.append(_("The loan has not been rated yet."))
    else:
        if rating.aligned_category != "perdida":
            reasons.append(
                _("The latest rating (%(date)s) is %(category)s, not Pérdida.")
                % {"date": rating.as_of.strftime("%d/%m/%Y"), "category": rating.aligned_category}
            )
        exposed = money(loan.outstanding_principal * (1 - rating.covered_share))
        if rating.provision < exposed:
            reasons.append(
                _("The provision (%(provision)s) does not yet cover the exposed principal (%(exposed)s).")
                % {"provision": rating.provision, "exposed": exposed}
            )
    needed = settings.WRITE_OFF_MIN_CONTACTS
    contacts = CollectionContact.objects.filter(loan=loan).count()
    if contacts < needed:
        reasons.append(
            _("Collection efforts on record: %(count)s contacts; at least %(needed)s are needed.")
            % {"count": contacts, "needed": needed}
        )
    return reasons


@transaction.atomic
def write_off_prepare(*, loan: Loan, actor: Any, reason: str) -> WriteOff:
    """Prepare the write-off of an eligible loan; nothing leaves the book until someone else approves."""
    if not roles.has_role(actor, *WRITE_OFF_PREPARERS):
        raise PermissionDenied(_("Only loan officers and the lender administrator prepare a write-off."))
    reason = _required_text("reason", reason, _("Say why the loan is written off."))
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)
    refusals = write_off_refusals(loan)
    if refusals:
        raise TransitionError(" ".join(refusals))
    if WriteOff.objects.filter(loan=loan, status=WriteOff.Status.PENDING).exists():
        raise TransitionError(_("A write-off of this loan is already awaiting approval."))
    write_off = WriteOff.objects.create(loan=loan, reason=reason[:2000], requested_by=actor)
    audit_record(actor=actor, action="write_off.prepare", obj=write_off, after=snapshot(write_off))
    return write_off


@transaction.atomic
def write_off_approve(*, request: WriteOff, actor: Any, note: str = "") -> WriteOff:
    """Approve: the loan leaves the active book (status written off) with what it owed that day; the
    debt stays owed and what it receives from now on is a recovery."""
    from installments.models import LoanRating
    from installments.services import loan_recompute, payoff_quote

    request = _pending(request)
    _decider(request, actor)
    loan = Loan.objects.select_for_update(no_key=True).get(pk=request.loan_id)
    loan = loan_recompute(loan=loan)
    refusals = write_off_refusals(loan)
    if refusals:
        raise TransitionError(" ".join(refusals))
    today = timezone.localdate()
    rating = LoanRating.objects.filter(loan=loan).order_by("-as_of").first()
    assert rating is not None  # write_off_refusals says so otherwise
    before = {"request": snapshot(request, REQUEST_FIELDS), "loan": snapshot(loan, ["status", "outstanding_principal"])}
    owed = payoff_quote(loan=loan, on=today).total
    request.status = WriteOff.Status.APPROVED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = (note or "").strip()[:2000]
    request.written_off_on = today
    request.principal = loan.outstanding_principal
    request.interest_and_charges = max(owed - loan.outstanding_principal, Decimal("0.00"))
    request.provision = rating.provision
    request.rating_as_of = rating.as_of
    request.contacts = CollectionContact.objects.filter(loan=loan).count()
    request.save()
    loan.status = Loan.Status.WRITTEN_OFF
    loan.save(update_fields=["status", "updated"])
    audit_record(
        actor=actor,
        action="write_off.approve",
        obj=request,
        before=before,
        after={"request": snapshot(request), "loan": snapshot(loan, ["status", "outstanding_principal"])},
    )
    return request


@transaction.atomic
def write_off_reject(*, request: WriteOff, actor: Any, note: str) -> WriteOff:
    request = _pending(request)
    _decider(request, actor)
    note = _required_text("note", note, _("Say why the write-off is rejected."))
    before = snapshot(request, REQUEST_FIELDS)
    request.status = WriteOff.Status.REJECTED
    request.decided_by = actor
    request.decided_at = timezone.now()
    request.decision_note = note[:2000]
    request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(actor=actor, action="write_off.reject", obj=request, before=before, after=snapshot(request))
    return request
