"""Reprogramación (DOMAIN.md §7): one loan, or every eligible loan of a buyer or a region, rescheduled for
an event (rainy season, a plant shut down, a disaster) with one approval by a second person.

The rules as implemented:
- **Eligible**: an active loan at most ``RESCHEDULE_MAX_DPD`` days past due (30) whose category — the
  current one and the latest rating's, whichever is worse — is one of ``RESCHEDULE_CATEGORIES`` (Normal,
  CPP), with installments still to come and no other reprogramación awaiting approval. Every other loan
  of a bulk request is listed with the reason it is left out.
- **Options**: the borrower is offered more than one option (Res. SBS 1870-2020) and answered within
  ``RESCHEDULE_ANSWER_DAYS`` days (7); each option combines extra installments, a payment holiday of n
  periods and a new due day (``loans.schedule.RescheduleOptions``). The proposal keeps every option
  offered and the one chosen.
- **Effect** on approval: a ``reschedule`` entry (amount 0, dated the effective date, the chosen option in
  its parameters) in each loan's log; the ledger replays it (``installments.ledger``) into a new
  cronograma version: what is exigible stays exigible, the rest is rebuilt, the holiday's interest is
  spread over the new installments in its own column and never added to principal. The loan stays
  active and its category follows its days past due as before (a reprogramación is not a refinanciación).
  The miner gets the new cronograma through the outbox.
- **Two people**: an officer asks, a credit approver or the lender admin who did not ask approves or
  rejects (the database refuses a decider who is the requester). Each step is audited on the proposal and
  on every loan it covers, so it shows in the loan's history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_event, audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from asmcredit.outbox import outbox_enqueue
from buyers.models import Buyer
from installments import ledger
from installments.models import LoanTransaction
from installments.services.common import servicing_today
from installments.services.writeback import PROVISIONAL_ID, book_derive, books_write, loan_books
from lifecycle.models import RescheduleItem, RescheduleProposal
from lifecycle.services import APPROVERS, REQUEST_FIELDS, _decider, _pending, _required_text
from loans.models import Loan
from loans.sbs import Category
from loans.schedule import RescheduleOptions
from miners.identity import DEPARTMENTS

RESCHEDULE_REQUESTERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
RESCHEDULE_APPROVERS = APPROVERS
# The most of each option an officer may offer (a reprogramación for an event, not a new loan).
MAX_EXTRA_INSTALLMENTS = 24
MAX_HOLIDAY_PERIODS = 6
# Loans applied per write-back (each batch: two reads, one write per table).
APPLY_BATCH = 250


def max_dpd() -> int:
    return int(getattr(settings, "RESCHEDULE_MAX_DPD", 30))


def eligible_categories() -> tuple[str, ...]:
    return tuple(getattr(settings, "RESCHEDULE_CATEGORIES", (Category.NORMAL.value, Category.CPP.value)))


def answer_days() -> int:
    return int(getattr(settings, "RESCHEDULE_ANSWER_DAYS", 7))


# --- Eligibility ----------------------------------------------------------------------------------


def _worse_category(loan: Loan) -> str:
    categories = [code for code in (loan.category, loan.rated_category) if code]
    return max(categories, key=lambda code: Category(code).severity, default=Category.NORMAL.value)


def reschedule_refusal(loan: Loan, *, pending_loan_ids: Iterable[int] = ()) -> str | None:
    """Why ``loan`` cannot be rescheduled (a sentence for the officer), or None when it can."""
    if loan.status != Loan.Status.ACTIVE:
        return _("The loan is not active (%(status)s): only active loans are rescheduled.") % {
            "status": loan.get_status_display()
        }
    if loan.days_past_due > max_dpd():
        return _("%(dpd)s days past due: only loans at most %(max)s days past due can be rescheduled.") % {
            "dpd": loan.days_past_due,
            "max": max_dpd(),
        }
    category = _worse_category(loan)
    if category not in eligible_categories():
        return _("Rated %(category)s: only loans rated Normal or CPP can be rescheduled.") % {
            "category": category_label(category)
        }
    if loan.next_due_on is None:
        return _("No installment is left to reschedule.")
    if loan.pk in set(pending_loan_ids):
        return _("A reprogramación of this loan is already awaiting approval.")
    return None


def category_label(code: str) -> str:
    labels = {"normal": "Normal", "cpp": "CPP", "deficiente": _("Deficient"), "dudoso": _("Doubtful")}
    return str(labels.get(code, _("Loss") if code == "perdida" else code))


def _pending_loan_ids(loan_ids: Sequence[int], exclude_proposal: int | None = None) -> set[int]:
    items = RescheduleItem.objects.filter(loan_id__in=loan_ids, status=RescheduleItem.Status.PENDING)
    if exclude_proposal is not None:
        items = items.exclude(proposal_id=exclude_proposal)
    return set(items.values_list("loan_id", flat=True))


# --- Which loans -----------------------------------------------------------------------------------


def reschedule_candidates(*, buyer: Buyer | None = None, region: str | None = None) -> QuerySet[Loan]:
    """The loans a bulk reprogramación looks at: those collected through ``buyer`` (named as the loan's
    withholding buyer, or of a miner who supplies it), or of miners of ``region`` (department code);
    active or written off (those are listed as not eligible)."""
    loans = Loan.objects.filter(status__in=[Loan.Status.ACTIVE, Loan.Status.WRITTEN_OFF])
    if buyer is not None:
        supplies = Q(miner__relationships__buyer=buyer, miner__relationships__status="active")
        loans = loans.filter(Q(withholding_buyer=buyer) | supplies)
    if region:
        loans = loans.filter(miner__ubigeo__startswith=region)
    return loans.select_related("miner").distinct().order_by("id")


# --- Preview ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReschedulePreviewRow:
    loan: Loan
    installment_before: Decimal
    installment_after: Decimal
    deferred_interest: Decimal
    last_due_before: dt.date | None
    last_due_after: dt.date | None
    first_due_after: dt.date | None
    lines: tuple[ledger.LineResult, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "loan": self.loan.code,
            "loan_id": self.loan.pk,
            "miner": str(self.loan.miner),
            "currency": self.loan.currency,
            "installment_before": self.installment_before,
            "installment_after": self.installment_after,
            "deferred_interest": self.deferred_interest,
            "first_due_after": self.first_due_after,
            "last_due_before": self.last_due_before,
            "last_due_after": self.last_due_after,
        }


@dataclass(frozen=True)
class ReschedulePreview:
    options: RescheduleOptions
    effective_on: dt.date
    eligible: tuple[ReschedulePreviewRow, ...]
    ineligible: tuple[tuple[Loan, str], ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "option": self.options.as_dict(),
            "effective_on": self.effective_on,
            "eligible": [row.as_dict() for row in self.eligible],
            "ineligible": [
                {"loan": loan.code, "loan_id": loan.pk, "miner": str(loan.miner), "reason": reason}
                for loan, reason in self.ineligible
            ],
        }


def _installment_of(lines: Sequence[ledger.LineResult]) -> Decimal:
    """The installment the borrower will pay next: the first line still to come, in full."""
    upcoming = [line for line in lines if line.remaining > 0]
    return upcoming[0].plan.total if upcoming else Decimal(0)


def reschedule_preview(
    *,
    loans: Sequence[Loan],
    options: RescheduleOptions,
    effective_on: dt.date,
    exclude_proposal: int | None = None,
) -> ReschedulePreview:
    """What the reprogramación would do to each of ``loans``, changing nothing: the eligible ones with
    their installment, deferred interest and last due date before and after; the others with the reason.

    Two reads for all the loans (their cronogramas and logs), then one replay each."""
    pending = _pending_loan_ids([loan.pk for loan in loans], exclude_proposal)
    eligible_loans: list[Loan] = []
    ineligible: list[tuple[Loan, str]] = []
    for loan in loans:
        refusal = reschedule_refusal(loan, pending_loan_ids=pending)
        if refusal:
            ineligible.append((loan, refusal))
        else:
            eligible_loans.append(loan)
    rows: list[ReschedulePreviewRow] = []
    books = loan_books(eligible_loans) if eligible_loans else {}
    for loan in eligible_loans:
        book = books[loan.pk]
        before = book.replay.state(effective_on)
        entry = ledger.Entry(
            id=PROVISIONAL_ID, kind=ledger.RESCHEDULE, value_date=effective_on, amount=Decimal(0), reschedule=options
        )
        after = ledger.replay(
            terms=book.terms, lines=book.replay.lines, entries=[*book.replay.entries, entry], as_of=effective_on
        )
        if after.current_version == before.current_version:
            ineligible.append((loan, _("No installment is left to reschedule.")))
            continue
        new_lines = tuple(line for line in after.current_lines if line.due_on > effective_on)
        rows.append(
            ReschedulePreviewRow(
                loan=loan,
                installment_before=_installment_of(
                    [line for line in before.current_lines if line.due_on > effective_on]
                ),
                installment_after=_installment_of(new_lines),
                deferred_interest=sum((line.plan.deferred_interest for line in after.current_lines), Decimal(0)),
                last_due_before=max((line.due_on for line in before.current_lines), default=None),
                last_due_after=max((line.due_on for line in after.current_lines), default=None),
                first_due_after=min((line.due_on for line in new_lines if line.remaining > 0), default=None),
                lines=after.current_lines,
            )
        )
    return ReschedulePreview(
        options=options, effective_on=effective_on, eligible=tuple(rows), ineligible=tuple(ineligible)
    )


# --- Input -----------------------------------------------------------------------------------------


def reschedule_options_input(options: Any, chosen: Any) -> tuple[list[RescheduleOptions], int]:
    """The options offered (more than one, each changing something, none repeated) and the index of
    the one chosen; a ValidationError naming the field otherwise."""
    if not isinstance(options, list | tuple) or len(options) < 2:
        raise ValidationError({"options": _("Offer the borrower more than one option (Res. SBS 1870-2020).")})
    parsed: list[RescheduleOptions] = []
    for index, raw in enumerate(options):
        try:
            option = raw if isinstance(raw, RescheduleOptions) else RescheduleOptions.from_dict(dict(raw))
        except (TypeError, ValueError) as exc:
            raise ValidationError({"options": _("Option %(n)s is not valid.") % {"n": index + 1}}) from exc
        if not 0 <= option.extra_installments <= MAX_EXTRA_INSTALLMENTS:
            raise ValidationError(
                {"options": _("Extra installments are between 0 and %(max)s.") % {"max": MAX_EXTRA_INSTALLMENTS}}
            )
        if not 0 <= option.holiday_periods <= MAX_HOLIDAY_PERIODS:
            raise ValidationError(
                {"options": _("A payment holiday is between 0 and %(max)s periods.") % {"max": MAX_HOLIDAY_PERIODS}}
            )
        if option.due_day is not None and not 1 <= option.due_day <= 31:
            raise ValidationError({"options": _("The new due day is between 1 and 31.")})
        if not option.changes_anything:
            raise ValidationError(
                {
                    "options": _(
                        "Option %(n)s changes nothing: give extra installments, a payment holiday or a new due day."
                    )
                    % {"n": index + 1}
                }
            )
        parsed.append(option)
    if len(set(parsed)) != len(parsed):
        raise ValidationError({"options": _("The options offered must differ from each other.")})
    try:
        chosen_index = int(chosen)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"chosen": _("Say which option the borrower chose.")}) from exc
    if not 0 <= chosen_index < len(parsed):
        raise ValidationError({"chosen": _("Say which option the borrower chose.")})
    return parsed, chosen_index


def _effective_on_input(effective_on: dt.date | None, loans: Sequence[Loan]) -> dt.date:
    today = servicing_today()
    day = effective_on or today
    if day > today:
        raise ValidationError({"effective_on": _("A reprogramación takes effect today or on a past day, not later.")})
    if day < today - dt.timedelta(days=answer_days()):
        raise ValidationError(
            {"effective_on": _("A reprogramación takes effect at most %(days)s days back.") % {"days": answer_days()}}
        )
    return day


def _scope_loans(*, loan: Loan | None, buyer: Buyer | None, region: str | None) -> tuple[str, list[Loan]]:
    given = [value for value in (loan, buyer, region) if value]
    if len(given) != 1:
        raise ValidationError({"scope": _("Choose one loan, one buyer or one region.")})
    if loan is not None:
        return RescheduleProposal.Scope.LOAN, [Loan.objects.select_related("miner").get(pk=loan.pk)]
    if buyer is not None:
        return RescheduleProposal.Scope.BUYER, list(reschedule_candidates(buyer=buyer))
    if region not in DEPARTMENTS:
        raise ValidationError({"region": _("Choose a region (department).")})
    return RescheduleProposal.Scope.REGION, list(reschedule_candidates(region=region))


# --- Request, approve, reject ------------------------------------------------------------------------


def reschedule_bulk_preview(
    *,
    options: RescheduleOptions,
    effective_on: dt.date | None = None,
    loan: Loan | None = None,
    buyer: Buyer | None = None,
    region: str | None = None,
) -> ReschedulePreview:
    """``reschedule_preview`` over the loans a request would cover; changes nothing."""
    _scope, loans = _scope_loans(loan=loan, buyer=buyer, region=region)
    return reschedule_preview(loans=loans, options=options, effective_on=_effective_on_input(effective_on, loans))


def _loan_audits(
    *, actor: Any, action: str, proposal: RescheduleProposal, loan_ids: Iterable[int], **extra: Any
) -> None:
    """One audit row per loan (so the step shows in each loan's history), inserted together."""
    after = {"proposal_id": proposal.pk, **snapshot(proposal, ["status", *OPTION_FIELDS]), **extra}
    AuditEvent.objects.bulk_create(
        [
            audit_event(actor=actor, action=action, object_type=Loan._meta.label, object_id=loan_id, after=after)
            for loan_id in loan_ids
        ],
        batch_size=1000,
    )


OPTION_FIELDS = ["extra_installments", "holiday_periods", "due_day", "effective_on"]


@transaction.atomic
def reschedule_request(
    *,
    actor: Any,
    options: Any,
    chosen: Any,
    reason: str,
    effective_on: dt.date | None = None,
    loan: Loan | None = None,
    buyer: Buyer | None = None,
    region: str | None = None,
) -> tuple[RescheduleProposal, ReschedulePreview]:
    """Ask for a reprogramación of ``loan``, or of every eligible loan of ``buyer`` or ``region``: the
    options offered, the one chosen, the event. Nothing changes on the loans until a second person
    approves. Refused when no loan is eligible (a single loan: with the reason)."""
    if not roles.has_role(actor, *RESCHEDULE_REQUESTERS):
        raise PermissionDenied(_("Only loan officers ask for a reprogramación."))
    offered, chosen_index = reschedule_options_input(options, chosen)
    reason = _required_text("reason", reason, _("Name the event behind the reprogramación (e.g. rainy season)."))
    scope, loans = _scope_loans(loan=loan, buyer=buyer, region=region)
    day = _effective_on_input(effective_on, loans)
    option = offered[chosen_index]
    preview = reschedule_preview(loans=loans, options=option, effective_on=day)
    if not preview.eligible:
        if scope == RescheduleProposal.Scope.LOAN and preview.ineligible:
            raise TransitionError(preview.ineligible[0][1])
        raise TransitionError(_("No loan is eligible for this reprogramación."))
    proposal = RescheduleProposal.objects.create(
        scope=scope,
        buyer=buyer,
        region=region or "",
        reason=reason[:2000],
        options=[item.as_dict() for item in offered],
        chosen=chosen_index,
        extra_installments=option.extra_installments,
        holiday_periods=option.holiday_periods,
        due_day=option.due_day,
        effective_on=day,
        answer_by=timezone.localdate() + dt.timedelta(days=answer_days()),
        requested_by=actor,
    )
    try:
        with transaction.atomic():
            RescheduleItem.objects.bulk_create(
                [
                    RescheduleItem(
                        proposal=proposal,
                        loan=row.loan,
                        installment_before=row.installment_before,
                        installment_after=row.installment_after,
                        deferred_interest=row.deferred_interest,
                        last_due_before=row.last_due_before,
                        last_due_after=row.last_due_after,
                    )
                    for row in preview.eligible
                ]
            )
    except IntegrityError as exc:  # a concurrent request for one of the loans won
        raise TransitionError(_("A reprogramación of this loan is already awaiting approval.")) from exc
    audit_record(
        actor=actor,
        action="reschedule.request",
        obj=proposal,
        after={**snapshot(proposal), "loans": len(preview.eligible), "ineligible": len(preview.ineligible)},
    )
    _loan_audits(
        actor=actor, action="reschedule.request", proposal=proposal, loan_ids=[row.loan.pk for row in preview.eligible]
    )
    return proposal, preview


@dataclass(frozen=True)
class RescheduleOutcome:
    proposal: RescheduleProposal
    applied: int
    skipped: tuple[tuple[str, str], ...]  # (loan code, reason)


@transaction.atomic
def reschedule_approve(*, proposal: RescheduleProposal, actor: Any, note: str = "") -> RescheduleOutcome:
    """Approve once for all the proposal's loans: each still eligible gets its ``reschedule`` entry and
    its new cronograma version; one that fell behind since the request is skipped with the reason."""
    proposal = _pending(proposal)
    _decider(proposal, actor)
    before = snapshot(proposal, REQUEST_FIELDS)
    option = RescheduleOptions(
        extra_installments=proposal.extra_installments,
        holiday_periods=proposal.holiday_periods,
        due_day=proposal.due_day,
    )
    items = {item.loan_id: item for item in proposal.items.filter(status=RescheduleItem.Status.PENDING)}
    as_of = max(servicing_today(), proposal.effective_on)
    applied: list[RescheduleItem] = []
    skipped: list[RescheduleItem] = []
    codes: dict[int, str] = {}
    loan_ids = sorted(items)
    for start in range(0, len(loan_ids), APPLY_BATCH):
        # Lock order step 2 (installments.services): loans by id.
        loans = list(
            Loan.objects.select_for_update(no_key=True)
            .filter(pk__in=loan_ids[start : start + APPLY_BATCH])
            .order_by("id")
        )
        ready: list[Loan] = []
        for loan in loans:
            codes[loan.pk] = loan.code
            refusal = reschedule_refusal(loan)
            item = items[loan.pk]
            if refusal:
                item.status = RescheduleItem.Status.SKIPPED
                item.skip_reason = refusal[:255]
                skipped.append(item)
            else:
                ready.append(loan)
        entries = LoanTransaction.objects.bulk_create(
            [
                LoanTransaction(
                    loan=loan,
                    kind=LoanTransaction.Kind.RESCHEDULE,
                    value_date=proposal.effective_on,
                    amount=Decimal(0),
                    currency=loan.currency,
                    parameters=option.as_dict(),
                    reference=f"REPROG-{proposal.pk}",
                    note=proposal.reason[:255],
                    recorded_by=actor,
                )
                for loan in ready
            ]
        )
        books = loan_books(ready)
        for loan, entry in zip(ready, entries, strict=True):
            book = books[loan.pk]
            book_derive(book, book.replay.state(as_of), as_of)
            item = items[loan.pk]
            item.transaction = entry
            item.status = RescheduleItem.Status.APPLIED
            item.schedule_version = loan.schedule_version
            applied.append(item)
        books_write(list(books.values()))
    RescheduleItem.objects.bulk_update(
        [*applied, *skipped], ["status", "skip_reason", "transaction", "schedule_version"], batch_size=1000
    )
    proposal.status = RescheduleProposal.Status.APPROVED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_note = (note or "").strip()[:2000]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor,
        action="reschedule.approve",
        obj=proposal,
        before=before,
        after={**snapshot(proposal, REQUEST_FIELDS), "applied": len(applied), "skipped": len(skipped)},
    )
    _loan_audits(actor=actor, action="reschedule.approve", proposal=proposal, loan_ids=[i.loan_id for i in applied])
    _loan_audits(actor=actor, action="reschedule.skip", proposal=proposal, loan_ids=[i.loan_id for i in skipped])
    if applied:
        # The new cronograma to each miner (DOMAIN.md §10), one outbox message for the whole batch.
        outbox_enqueue("notices.tasks.on_reschedules", [[item.loan_id, item.schedule_version] for item in applied])
    return RescheduleOutcome(
        proposal=proposal,
        applied=len(applied),
        skipped=tuple((codes[item.loan_id], item.skip_reason) for item in skipped),
    )


@transaction.atomic
def reschedule_reject(*, proposal: RescheduleProposal, actor: Any, note: str) -> RescheduleProposal:
    """Reject with a note: nothing moves on any loan."""
    proposal = _pending(proposal)
    _decider(proposal, actor)
    note = _required_text("note", note, _("Say why the reprogramación is rejected."))
    before = snapshot(proposal, REQUEST_FIELDS)
    proposal.status = RescheduleProposal.Status.REJECTED
    proposal.decided_by = actor
    proposal.decided_at = timezone.now()
    proposal.decision_note = note[:2000]
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    loan_ids = list(proposal.items.filter(status=RescheduleItem.Status.PENDING).values_list("loan_id", flat=True))
    proposal.items.filter(status=RescheduleItem.Status.PENDING).update(status=RescheduleItem.Status.REJECTED)
    audit_record(
        actor=actor,
        action="reschedule.reject",
        obj=proposal,
        before=before,
        after=snapshot(proposal, REQUEST_FIELDS),
    )
    _loan_audits(actor=actor, action="reschedule.reject", proposal=proposal, loan_ids=loan_ids, note=note[:500])
    return proposal
