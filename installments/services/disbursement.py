"""Desembolso: an approved application becomes a loan, its cronograma (version 1) and its first entry.

It lives with servicing because it writes the installments and the log and replays the loan; origination
(``loans.services``) takes the application up to its approval.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from installments.models import LoanTransaction, ScheduleLine
from installments.services.writeback import loan_recompute
from loans.models import Loan, LoanApplication
from loans.schedule import ScheduleError, build_schedule
from loans.services import APPLICATION_FIELDS, application_locked, application_schedule_terms

LOAN_CODE_PREFIX = "AC"


def loan_code_for(*, year: int, pk: int) -> str:
    """``AC-2025-000123``: the year of disbursement and the loan's own id, so two disbursements at the
    same moment can never draw the same number (no counter to race on)."""
    return f"{LOAN_CODE_PREFIX}-{year}-{pk:06d}"


@transaction.atomic
def loan_disburse(
    *, application: LoanApplication, actor: Any, disbursed_on: dt.date | None = None, reference: str = ""
) -> Any:
    """Desembolso: an approved application becomes a loan with its cronograma (version 1) and its
    DISBURSEMENT transaction, in one transaction with one audit row.

    The cronograma is rebuilt from the actual disbursement date (interest runs from the day the money
    leaves), keeping the approved first due date. Product terms (moratory rate, insurance, fees,
    withholding share, guarantee coverage) are copied onto the loan so a later product change never
    alters a running loan. An equipment loan is paid to the equipment supplier, never to the miner.
    """
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers disburse loans."))
    application = application_locked(application)
    if application.status != LoanApplication.Status.APPROVED:
        raise TransitionError(
            _("Only an approved application can be disbursed (it is %(status)s).")
            % {"status": application.get_status_display()}
        )
    # Segregation of duties: the approver's signature and the money leaving need two people.
    if application.decided_by_id == actor.pk and not settings.ALLOW_APPROVER_TO_DISBURSE:
        raise PermissionDenied(_("You approved this application, so another officer must disburse it."))
    disbursed_on = disbursed_on or timezone.localdate()
    if disbursed_on > timezone.localdate():
        raise ValidationError({"disbursed_on": _("A disbursement cannot be dated in the future.")})
    if application.decided_at is not None and disbursed_on < timezone.localdate(application.decided_at):
        raise ValidationError(
            {
                "disbursed_on": _("A disbursement cannot be dated before the approval (%(day)s).")
                % {"day": timezone.localdate(application.decided_at).strftime("%d/%m/%Y")}
            }
        )
    if application.first_due_on <= disbursed_on:
        raise ValidationError({"disbursed_on": _("The disbursement must come before the first due date.")})
    product = application.product
    terms = dataclasses.replace(application_schedule_terms(application), disbursed_on=disbursed_on)
    try:
        schedule = build_schedule(terms)
    except ScheduleError as exc:
        raise ValidationError({exc.field: exc.message}) from exc

    equipment = application.equipment
    supplier = equipment.supplier if equipment is not None else None
    loan = Loan.objects.create(
        code=f"pending-{application.pk}",
        application=application,
        miner=application.miner,
        product=product,
        withholding_buyer=application.withholding_buyer,
        equipment=equipment,
        currency=product.currency,
        principal=application.amount,
        tea_pct=application.tea_pct,
        moratory_tea_pct=product.moratory_tea_pct,
        tcea_pct=schedule.tcea,
        insurance_monthly_rate_pct=product.insurance_monthly_rate_pct,
        upfront_fees=product.upfront_fee,
        fee_per_installment=product.fee_per_installment,
        max_withholding_share_pct=product.max_withholding_share_pct,
        guarantee_coverage_pct=product.guarantee_fund_coverage_pct,
        term=application.term,
        grace_kind=terms.grace_kind.value,
        grace_periods=application.grace_periods,
        installment_amount=schedule.installment,
        disbursed_on=disbursed_on,
        first_due_on=application.first_due_on,
        payee=Loan.Payee.SUPPLIER if supplier is not None else Loan.Payee.MINER,
        payee_supplier=supplier,
        disbursement_reference=reference,
        disbursed_by=actor,
        outstanding_principal=application.amount,
        next_due_on=application.first_due_on,
        state_as_of=disbursed_on,
    )
    loan.code = loan_code_for(year=disbursed_on.year, pk=loan.pk)
    loan.save(update_fields=["code", "updated"])
    ScheduleLine.objects.bulk_create(
        ScheduleLine(
            loan=loan,
            version=1,
            is_current=True,
            number=line.number,
            due_on=line.due_on,
            days=line.days,
            opening_balance=line.opening_balance,
            principal=line.principal,
            interest=line.interest,
            insurance=line.insurance,
            fees=line.fees,
            total=line.total,
            closing_balance=line.closing_balance,
            capitalized=line.capitalized,
        )
        for line in schedule.lines
    )
    payee = supplier.name if supplier is not None else application.miner.full_name
    LoanTransaction.objects.create(
        loan=loan,
        kind=LoanTransaction.Kind.DISBURSEMENT,
        value_date=disbursed_on,
        amount=application.amount,
        currency=loan.currency,
        reference=reference,
        note=(f"Paid to {payee}; upfront fees {product.upfront_fee}")[:255],
        recorded_by=actor,
    )
    before = snapshot(application, APPLICATION_FIELDS)
    application.status = LoanApplication.Status.DISBURSED
    application.save(update_fields=["status", "updated"])
    audit_record(
        actor=actor,
        action="loan.disburse",
        obj=loan,
        before={"application": before},
        after={
            "code": loan.code,
            "principal": loan.principal,
            "currency": loan.currency,
            "disbursed_on": disbursed_on,
            "payee": loan.payee,
            "payee_supplier": supplier.pk if supplier is not None else None,
            "installment": schedule.installment,
            "tcea_pct": schedule.tcea,
            "lines": len(schedule.lines),
        },
    )
    return loan_recompute(loan=loan, as_of=disbursed_on)
