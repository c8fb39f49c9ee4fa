"""Desembolso: an approved application becomes a loan, its cronograma (version 1) and its first entry.

It lives with servicing because it writes the installments and the log and replays the loan; origination
(``loans.services``) takes the application up to its approval.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from installments.models import LoanTransaction, ScheduleLine
from installments.services.writeback import loan_recompute
from loans.models import Loan, LoanApplication
from loans.schedule import Schedule
from loans.services import APPLICATION_FIELDS, application_locked, application_schedule
from rates.caps import rate_caps_check

LOAN_CODE_PREFIX = "AC"

# Sent inside the disbursement's transaction once the loan, its cronograma and its first entry exist,
# with ``loan`` and ``actor``: loan life (``lifecycle``, a layer above) enrols the loan in the guarantee
# fund its product belongs to, so a disbursement and its enrolment commit or fail together.
loan_disbursed = Signal()


def loan_code_for(*, year: int, pk: int) -> str:
    """``AC-2025-000123``: the year of disbursement and the loan's own id, so two disbursements at the
    same moment can never draw the same number (no counter to race on)."""
    return f"{LOAN_CODE_PREFIX}-{year}-{pk:06d}"


def _planned_schedule(application: LoanApplication) -> Schedule | None:
    """The cronograma as approved (planned date), for the audit row; None if the planned terms no longer
    make one (they did when the application was saved)."""
    try:
        return application_schedule(application)
    except ValidationError:
        return None


def cronograma_v1_create(*, loan: Loan, lines: Any) -> None:
    """The loan's first cronograma (version 1, current) from the schedule module's lines: a disbursement's,
    and an opening loan's when a lender's book is migrated (``lifecycle.book_import``)."""
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
        for line in lines
    )


@transaction.atomic
def loan_disburse(
    *, application: LoanApplication, actor: Any, disbursed_on: dt.date | None = None, reference: str = ""
) -> Any:
    """Desembolso: an approved application becomes a loan with its cronograma (version 1) and its
    DISBURSEMENT transaction, in one transaction with one audit row.

    The cronograma is built from the actual disbursement date (interest runs from the day the money
    leaves). On another day than planned it is regenerated with the rules of origination: the same
    amount, TEA, term, grace and costs, the agreed payment day kept and the first due date moved by
    ``loans.services.first_due_on_for_disbursement`` so the first period stays close to the approved
    one; the TCEA is recomputed and the audit row keeps planned and actual dates and installments. The
    date must be on or after the approval, not in the future, and the rates within the BCRP caps in
    force on it. Product terms (moratory rate, insurance, fees, withholding share, guarantee coverage)
    are copied onto the loan so a later product change never alters a running loan. An equipment loan
    is paid to the equipment supplier, never to the miner. A refinancing (``application.is_refinancing``)
    moves no cash: ``installments.services.refinancing`` sets its principal to the payoff of the loans it
    refinances on ``disbursed_on`` and closes them with it.
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
    refinancing = None
    if application.is_refinancing:
        # No cash moves: the new loan's principal is what the refinanced loans owe that day.
        from installments.services.refinancing import refinance_prepare_disbursement

        refinancing = refinance_prepare_disbursement(application=application, disbursed_on=disbursed_on)
    product = application.product
    # The rates the loan will carry against the BCRP caps in force on the day the money leaves.
    rate_caps_check(
        currency=product.currency,
        on=disbursed_on,
        tea_pct=application.tea_pct,
        moratory_tea_pct=product.moratory_tea_pct,
    )
    schedule = application_schedule(application, disbursed_on=disbursed_on)
    terms = schedule.terms
    planned = _planned_schedule(application) if disbursed_on != application.disbursement_date else schedule

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
        upfront_fees=terms.upfront_fees,
        fee_per_installment=product.fee_per_installment,
        max_withholding_share_pct=product.max_withholding_share_pct,
        guarantee_coverage_pct=product.guarantee_fund_coverage_pct,
        term=application.term,
        grace_kind=terms.grace_kind.value,
        grace_periods=application.grace_periods,
        installment_amount=schedule.installment,
        disbursed_on=disbursed_on,
        first_due_on=terms.first_due_on,
        payee=Loan.Payee.SUPPLIER if supplier is not None else Loan.Payee.MINER,
        payee_supplier=supplier,
        disbursement_reference=reference,
        disbursed_by=actor,
        outstanding_principal=application.amount,
        next_due_on=terms.first_due_on,
        state_as_of=disbursed_on,
    )
    loan.code = loan_code_for(year=disbursed_on.year, pk=loan.pk)
    loan.save(update_fields=["code", "updated"])
    cronograma_v1_create(loan=loan, lines=schedule.lines)
    payee = supplier.name if supplier is not None else application.miner.full_name
    note = f"Paid to {payee}; upfront fees {terms.upfront_fees}"
    if refinancing is not None:
        note = "Refinancing (no cash): " + ", ".join(row.code for row in refinancing["loans"])
    LoanTransaction.objects.create(
        loan=loan,
        kind=LoanTransaction.Kind.DISBURSEMENT,
        value_date=disbursed_on,
        amount=application.amount,
        currency=loan.currency,
        reference=reference,
        note=note[:255],
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
            "first_due_on": terms.first_due_on,
            "last_due_on": schedule.lines[-1].due_on,
            # Planned (approved) against actual: what moved when the money left on another day.
            "planned_disbursement_date": application.disbursement_date,
            "planned_first_due_on": application.first_due_on,
            "planned_installment": planned.installment if planned is not None else None,
            "planned_tcea_pct": planned.tcea if planned is not None else None,
            "regenerated": disbursed_on != application.disbursement_date,
        },
    )
    loan_disbursed.send(sender=Loan, loan=loan, actor=actor)
    if refinancing is not None:
        from installments.services.refinancing import refinance_close

        refinance_close(application=application, loan=loan, actor=actor, prepared=refinancing)
    return loan_recompute(loan=loan, as_of=disbursed_on)
