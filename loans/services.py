"""Loan origination: applications from draft to approval (maker–checker).

Disbursement (``loan_disburse``) is servicing's (``installments.services.disbursement``): it writes the
installments and the transaction log. Origination ends at an approved application.
"""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import pct_to_rate
from buyers.models import Buyer
from loans.models import Equipment, LoanApplication, LoanProduct
from loans.schedule import GraceKind, Schedule, ScheduleError, ScheduleTerms, build_schedule
from miners.models import Miner

APPLICATION_FIELDS = [
    "status",
    "amount",
    "term",
    "tea_pct",
    "disbursement_date",
    "first_due_on",
    "grace_periods",
    "equipment_id",
    "withholding_buyer_id",
    "submitted_at",
    "decided_by_id",
    "decided_at",
    "decision_comment",
    "approved_as_exception",
    "exception_justification",
]

# Approving against a failed eligibility rule needs at least this much written reason (DOMAIN.md §7).
EXCEPTION_JUSTIFICATION_MIN_CHARS = 20


def first_due_on_for_disbursement(
    *, planned_disbursement: dt.date, planned_first_due: dt.date, disbursed_on: dt.date
) -> dt.date:
    """The first due date of a loan disbursed on ``disbursed_on`` instead of the planned day.

    The agreed payment day (the planned first due date's day of the month, the month's last day when the
    month is shorter, as for every later due date) is kept, and the first period stays as close as it
    can to the approved one: the first due date is the payment day nearest to ``disbursed_on`` plus the
    planned first period, the earlier of two equally near, always after the disbursement. Disbursed on
    the planned day, or a few days off it, the approved first due date stands; disbursed weeks earlier
    or later (even after the planned first due date) the whole cronograma moves by whole months, so the
    miner's first installment stays close to the one approved (DOMAIN.md §3)."""
    if disbursed_on == planned_disbursement:
        return planned_first_due
    planned_days = max((planned_first_due - planned_disbursement).days, 1)
    target = disbursed_on + dt.timedelta(days=planned_days)
    candidates = []
    for months in (-1, 0, 1):
        year, month_index = divmod(target.year * 12 + target.month - 1 + months, 12)
        month = month_index + 1
        day = min(planned_first_due.day, calendar.monthrange(year, month)[1])
        candidate = dt.date(year, month, day)
        if candidate > disbursed_on:
            candidates.append(candidate)
    return min(candidates, key=lambda day: (abs((day - target).days), day))


def application_schedule_terms(application: LoanApplication, *, disbursed_on: dt.date | None = None) -> ScheduleTerms:
    """The cronograma terms an application would be disbursed with (product costs included): on its
    planned date, or on ``disbursed_on`` with the first due date moved by
    ``first_due_on_for_disbursement``."""
    product = application.product
    grace_kind = GraceKind(product.grace_kind) if application.grace_periods else GraceKind.NONE
    start = application.disbursement_date if disbursed_on is None else disbursed_on
    first_due_on = first_due_on_for_disbursement(
        planned_disbursement=application.disbursement_date,
        planned_first_due=application.first_due_on,
        disbursed_on=start,
    )
    return ScheduleTerms(
        principal=application.amount,
        tea=pct_to_rate(application.tea_pct),
        disbursed_on=start,
        first_due_on=first_due_on,
        installments=application.term,
        grace_periods=application.grace_periods,
        grace_kind=grace_kind,
        insurance_monthly_rate=pct_to_rate(product.insurance_monthly_rate_pct),
        fee_per_installment=product.fee_per_installment,
        # A refinancing moves no cash, so no upfront fee is charged on it.
        upfront_fees=Decimal(0) if application.is_refinancing else product.upfront_fee,
    )


def application_schedule(application: LoanApplication, *, disbursed_on: dt.date | None = None) -> Schedule:
    """The cronograma of ``application_schedule_terms``; terms that cannot make one are a ValidationError
    naming the field (``disbursed_on`` when it is the actual disbursement date that breaks it)."""
    try:
        schedule = build_schedule(application_schedule_terms(application, disbursed_on=disbursed_on))
    except ScheduleError as exc:
        field = "disbursed_on" if disbursed_on is not None and exc.field == "first_due_on" else exc.field
        raise ValidationError({field: exc.message}) from exc
    # DOMAIN.md §3's formula lets a very long first period at a high rate owe more interest than the
    # installment, so the balance would grow; no lender offers that, so the officer moves the date.
    if any(line.principal < 0 for line in schedule.lines):
        if disbursed_on is not None:
            raise ValidationError(
                {
                    "disbursed_on": _(
                        "Disbursed on this date the first period (%(days)s days) would owe more interest than "
                        "the installment at this rate and term: disburse closer to the planned date "
                        "(%(planned)s) or change the application."
                    )
                    % {
                        "days": schedule.lines[0].days,
                        "planned": application.disbursement_date.strftime("%d/%m/%Y"),
                    }
                }
            )
        raise ValidationError(
            {"first_due_on": _("The first period is too long for this rate and term: bring the first due date closer.")}
        )
    return schedule


@transaction.atomic
def application_create(
    *,
    miner: Miner,
    product: LoanProduct,
    amount: Decimal,
    term: int,
    disbursement_date: dt.date,
    first_due_on: dt.date,
    prepared_by: Any,
    tea_pct: Decimal | None = None,
    grace_periods: int = 0,
    equipment: Equipment | None = None,
    withholding_buyer: Buyer | None = None,
    purpose_note: str = "",
) -> LoanApplication:
    """A draft application. Product limits are checked field by field; nothing is saved on error."""
    if not roles.has_role(prepared_by, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers prepare applications."))
    if not product.is_active:
        raise ValidationError({"product": _("This product is no longer offered.")})
    application = LoanApplication(
        miner=miner,
        product=product,
        amount=amount,
        term=term,
        tea_pct=product.tea_pct if tea_pct is None else tea_pct,
        disbursement_date=disbursement_date,
        first_due_on=first_due_on,
        grace_periods=grace_periods,
        equipment=equipment,
        withholding_buyer=withholding_buyer,
        purpose_note=purpose_note,
        prepared_by=prepared_by,
    )
    application.full_clean()
    application_schedule(application)  # the terms must make a valid cronograma
    application.save()
    application.editors.add(prepared_by)
    audit_record(actor=prepared_by, action="application.create", obj=application, after=snapshot(application))
    return application


_EDITABLE = {
    "amount",
    "term",
    "tea_pct",
    "disbursement_date",
    "first_due_on",
    "grace_periods",
    "equipment",
    "withholding_buyer",
    "purpose_note",
}


@transaction.atomic
def application_update(
    *, application: LoanApplication, actor: Any, reopen: bool = False, **changes: Any
) -> LoanApplication:
    """Change a draft's terms. A submitted application is frozen for the committee: only its preparer
    may change it, saying so with ``reopen``, and the change takes it back to draft (DOMAIN.md §7).
    Whoever changes an application is recorded as one of its editors and can never approve it."""
    application = LoanApplication.objects.select_for_update().get(pk=application.pk)
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers change applications."))
    if application.status == LoanApplication.Status.SUBMITTED:
        _refuse_unless_preparer(application, actor)
        if not reopen:
            raise TransitionError(
                _("A submitted application is frozen for the committee: withdraw it to draft to change it.")
            )
    elif application.status != LoanApplication.Status.DRAFT:
        raise TransitionError(_("Only a draft or submitted application can be edited."))
    unknown = set(changes) - _EDITABLE
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in unknown})
    before = snapshot(application)
    changed = {name for name, value in changes.items() if getattr(application, name) != value}
    for name, value in changes.items():
        setattr(application, name, value)
    application.full_clean()
    application_schedule(application)
    if not changed:
        return application  # nothing changed: no editor, no audit row, the status stays
    if application.status == LoanApplication.Status.SUBMITTED:
        _back_to_draft(application)
    application.save()
    application.editors.add(actor)
    audit_record(actor=actor, action="application.update", obj=application, before=before, after=snapshot(application))
    return application


def application_locked(application: LoanApplication) -> LoanApplication:
    return LoanApplication.objects.select_for_update().select_related("product", "miner").get(pk=application.pk)


def _refuse_unless_preparer(application: LoanApplication, actor: Any) -> None:
    if actor.pk != application.prepared_by_id:
        raise PermissionDenied(
            _(
                "After submission only the officer who prepared an application can change it; "
                "an approver who disagrees rejects it with a reason."
            )
        )


@transaction.atomic
def application_withdraw(*, application: LoanApplication, actor: Any) -> LoanApplication:
    """Take a submitted application back to draft so its preparer can change it; the committee will
    see it again, with a new panel, when it is resubmitted."""
    application = application_locked(application)
    if application.status != LoanApplication.Status.SUBMITTED:
        raise TransitionError(
            _("Only a submitted application can be withdrawn (it is %(status)s).")
            % {"status": application.get_status_display()}
        )
    _refuse_unless_preparer(application, actor)
    before = snapshot(application, APPLICATION_FIELDS)
    _back_to_draft(application)
    application.save(update_fields=["status", "submitted_at", "underwriting", "updated"])
    audit_record(
        actor=actor,
        action="application.withdraw",
        obj=application,
        before=before,
        after=snapshot(application, APPLICATION_FIELDS),
    )
    return application


def _back_to_draft(application: LoanApplication) -> None:
    # The frozen panel described the terms the committee was shown; resubmission freezes a new one.
    application.status = LoanApplication.Status.DRAFT
    application.submitted_at = None
    application.underwriting = {}


@transaction.atomic
def application_submit(
    *, application: LoanApplication, actor: Any, underwriting: dict[str, Any] | None = None
) -> LoanApplication:
    """Send a draft to the credit committee, freezing the underwriting panel as it stood."""
    application = application_locked(application)
    if application.status != LoanApplication.Status.DRAFT:
        raise TransitionError(
            _("Only a draft application can be submitted (it is %(status)s).")
            % {"status": application.get_status_display()}
        )
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers submit applications."))
    application.full_clean()
    before = snapshot(application, APPLICATION_FIELDS)
    if underwriting is None:
        from loans.underwriting import underwriting_panel

        underwriting = underwriting_panel(application=application).as_dict()
    application.underwriting = underwriting
    application.status = LoanApplication.Status.SUBMITTED
    application.submitted_at = timezone.now()
    application.save(update_fields=["underwriting", "status", "submitted_at", "updated"])
    audit_record(
        actor=actor,
        action="application.submit",
        obj=application,
        before=before,
        after=snapshot(application, APPLICATION_FIELDS),
    )
    return application


def _decide(application: LoanApplication, *, approver: Any, approve: bool, comment: str) -> LoanApplication:
    application = application_locked(application)
    if application.status != LoanApplication.Status.SUBMITTED:
        raise TransitionError(
            _("Only a submitted application can be decided (it is %(status)s).")
            % {"status": application.get_status_display()}
        )
    if not roles.has_role(approver, roles.CREDIT_APPROVER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only credit approvers decide applications."))
    if approver.pk == application.prepared_by_id:
        raise PermissionDenied(_("The person who prepared an application cannot decide it (maker–checker)."))
    if approve and application.editors.filter(pk=approver.pk).exists():
        raise PermissionDenied(
            _("You changed this application's terms, so you cannot approve it (maker–checker): another approver must.")
        )
    if not approve and not comment.strip():
        raise ValidationError({"reason": _("A rejection needs a reason.")})
    failed: list[str] = []
    if approve:
        # The offer's rate against the BCRP cap in force on the day it is approved (DOMAIN.md §3): a cap
        # that took effect since submission refuses it outright, never as a justified exception.
        breaches = application.rate_cap_breaches()
        if breaches:
            raise ValidationError(breaches)
        from loans.underwriting import failed_eligibility

        failed = failed_eligibility(application.underwriting)
        if failed and len(comment.strip()) < EXCEPTION_JUSTIFICATION_MIN_CHARS:
            raise ValidationError(
                {
                    "comment": _(
                        "This application fails an eligibility rule (%(rules)s). Approving it is an exception: "
                        "write a justification of at least %(n)s characters."
                    )
                    % {"rules": "; ".join(failed), "n": EXCEPTION_JUSTIFICATION_MIN_CHARS}
                }
            )
    before = snapshot(application, APPLICATION_FIELDS)
    application.status = LoanApplication.Status.APPROVED if approve else LoanApplication.Status.REJECTED
    application.decided_by = approver
    application.decided_at = timezone.now()
    application.decision_comment = comment.strip()
    application.approved_as_exception = bool(failed)
    application.exception_justification = comment.strip() if failed else ""
    application.save(
        update_fields=[
            "status",
            "decided_by",
            "decided_at",
            "decision_comment",
            "approved_as_exception",
            "exception_justification",
            "updated",
        ]
    )
    after = snapshot(application, APPLICATION_FIELDS)
    if failed:
        after["failed_rules"] = failed
    audit_record(
        actor=approver,
        action="application.approve" if approve else "application.reject",
        obj=application,
        before=before,
        after=after,
    )
    return application


@transaction.atomic
def application_approve(*, application: LoanApplication, approver: Any, comment: str = "") -> LoanApplication:
    return _decide(application, approver=approver, approve=True, comment=comment)


@transaction.atomic
def application_reject(*, application: LoanApplication, approver: Any, reason: str) -> LoanApplication:
    return _decide(application, approver=approver, approve=False, comment=reason)


@transaction.atomic
def application_cancel(*, application: LoanApplication, actor: Any, reason: str = "") -> LoanApplication:
    application = application_locked(application)
    if application.status not in {
        LoanApplication.Status.DRAFT,
        LoanApplication.Status.SUBMITTED,
        LoanApplication.Status.APPROVED,
    }:
        raise TransitionError(_("This application can no longer be cancelled."))
    before = snapshot(application, APPLICATION_FIELDS)
    application.status = LoanApplication.Status.CANCELLED
    application.decision_comment = reason
    application.save(update_fields=["status", "decision_comment", "updated"])
    audit_record(
        actor=actor,
        action="application.cancel",
        obj=application,
        before=before,
        after=snapshot(application, APPLICATION_FIELDS),
    )
    return application


# --- Disbursement (servicing) ----------------------------------------------------------------------
