"""Refinanciación (DOMAIN.md §7): new terms because the borrower cannot pay, optionally consolidating
several active loans of the same miner into one.

A refinancing is a loan application (``LoanApplication.is_refinancing``, the loans it refinances in
``refinanced_loans``) that goes through origination's maker–checker unchanged: ``refinance_propose``
prepares and submits it, a credit approver who did not prepare it approves it with
``loans.services.application_approve``. Its "disbursement" (``loan_disburse`` hands a refinancing to
``refinance_disburse``) moves no cash:

- each refinanced loan is closed by a REFINANCE entry for its payoff on the refinancing day
  (``payoff_quote``: overdue installments with their late charges, principal not yet due, interest and
  insurance to the day), replayed as a pago anticipado that leaves it at exactly zero, its status
  ``refinanced``;
- the new loan's principal is the sum of those payoffs — what the miner owes that day, late charges
  and interest included (the refinanced balance is what is owed) — with the approved term, TEA and
  first due date; it is marked refinanciado with the debtor's category at the refinancing
  (``risk.refinance_category``: CPP at best), which floors its category until two quarters of punctual
  payment improve it one step at a time (``risk.refinance_floor``).

The amount proposed is the payoff on the proposed day; carried out on another day, or after the loans
received money, the principal is the payoff of the day it is carried out (the audit row keeps both).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import ZERO
from installments import risk
from installments.models import LoanTransaction
from installments.services.common import servicing_today
from installments.services.payments import payoff_quote
from installments.services.writeback import loan_recompute
from loans.models import Loan, LoanApplication
from loans.sbs import Category
from loans.services import application_schedule, application_submit

# Applications still on their way: a loan in one of them cannot be proposed again.
OPEN_APPLICATION_STATUSES = (
    LoanApplication.Status.DRAFT,
    LoanApplication.Status.SUBMITTED,
    LoanApplication.Status.APPROVED,
)


def refinance_refusal(loan: Loan) -> str:
    """Why ``loan`` cannot be refinanced now (empty when it can)."""
    if loan.status == Loan.Status.WRITTEN_OFF:
        return _("Loan %(code)s is written off: a written-off loan is recovered, not refinanced.") % {"code": loan.code}
    if loan.status == Loan.Status.REFINANCED:
        return _("Loan %(code)s has already been refinanced.") % {"code": loan.code}
    if loan.status != Loan.Status.ACTIVE:
        return _("Loan %(code)s is not active (it is %(status)s).") % {
            "code": loan.code,
            "status": loan.get_status_display(),
        }
    pending = LoanApplication.objects.filter(
        is_refinancing=True, refinanced_loans=loan, status__in=OPEN_APPLICATION_STATUSES
    ).first()
    if pending is not None:
        return _("Loan %(code)s is already in refinancing proposal #%(id)s.") % {"code": loan.code, "id": pending.pk}
    return ""


def refinance_loans(*, loan: Loan, also_loans: Sequence[Loan] = ()) -> list[Loan]:
    """``loan`` and the loans to consolidate with it, checked: all of the same miner and currency and
    refinanceable (``refinance_refusal``); a ValidationError names the field otherwise."""
    refusal = refinance_refusal(loan)
    if refusal:
        raise ValidationError({"loan": refusal})
    errors: list[str] = []
    chosen = {loan.pk: loan}
    for other in also_loans:
        if other.pk in chosen:
            continue
        if other.miner_id != loan.miner_id:
            errors.append(
                _("Loan %(code)s belongs to another miner: only loans of the same miner are consolidated.")
                % {"code": other.code}
            )
        elif other.currency != loan.currency:
            errors.append(
                _("Loan %(code)s is in %(currency)s: only loans in the same currency are consolidated.")
                % {"code": other.code, "currency": other.currency}
            )
        else:
            refusal = refinance_refusal(other)
            if refusal:
                errors.append(refusal)
        chosen[other.pk] = other
    if errors:
        raise ValidationError({"also_loans": errors})
    return [chosen[pk] for pk in sorted(chosen)]


def refinance_amount(*, loans: Sequence[Loan], on: dt.date) -> tuple[Decimal, dict[int, Decimal]]:
    """What the miner owes on ``on`` on ``loans`` (each loan's payoff that day) and the sum."""
    for loan in loans:
        if on < loan.disbursed_on:
            raise ValidationError(
                {
                    "refinanced_on": _("The refinancing cannot predate the disbursement of %(code)s.")
                    % {"code": loan.code}
                }
            )
    payoffs = {loan.pk: payoff_quote(loan=loan, on=on).total for loan in loans}
    return sum(payoffs.values(), ZERO), payoffs


@transaction.atomic
def refinance_propose(
    *,
    loan: Loan,
    prepared_by: Any,
    term: int,
    first_due_on: dt.date,
    tea_pct: Decimal | None = None,
    also_loans: Sequence[Loan] = (),
    refinanced_on: dt.date | None = None,
    grace_periods: int = 0,
    purpose_note: str = "",
) -> LoanApplication:
    """Prepare and submit the refinancing of ``loan`` (and ``also_loans`` of the same miner, consolidated):
    an application for their payoff on ``refinanced_on`` (default today) with the new term, TEA (default
    the loan's) and first due date, waiting for a credit approver who is not ``prepared_by``."""
    if not roles.has_role(prepared_by, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers prepare a refinancing."))
    on = refinanced_on or servicing_today()
    if on > servicing_today():
        raise ValidationError({"refinanced_on": _("A refinancing cannot be dated in the future.")})
    locked = list(Loan.objects.select_for_update(no_key=True).filter(pk__in=[loan.pk, *(o.pk for o in also_loans)]))
    by_id = {row.pk: row for row in locked}
    loans = refinance_loans(loan=by_id[loan.pk], also_loans=[by_id[o.pk] for o in also_loans])
    amount, payoffs = refinance_amount(loans=loans, on=on)
    if amount <= 0:
        raise ValidationError({"loan": _("Nothing is owed on these loans: there is nothing to refinance.")})
    main = by_id[loan.pk]
    application = LoanApplication(
        miner=main.miner,
        product=main.product,
        amount=amount,
        term=term,
        tea_pct=main.tea_pct if tea_pct is None else tea_pct,
        disbursement_date=on,
        first_due_on=first_due_on,
        grace_periods=grace_periods,
        withholding_buyer=main.withholding_buyer,
        purpose_note=purpose_note or _("Refinancing of %(codes)s") % {"codes": ", ".join(row.code for row in loans)},
        prepared_by=prepared_by,
        is_refinancing=True,
    )
    application.full_clean()
    application_schedule(application)  # the terms must make a valid cronograma
    application.save()
    application.editors.add(prepared_by)
    application.refinanced_loans.set(loans)
    audit_record(
        actor=prepared_by,
        action="refinance.propose",
        obj=application,
        after={
            **snapshot(application),
            "refinanced_loans": [row.code for row in loans],
            "payoffs": {row.code: payoffs[row.pk] for row in loans},
        },
    )
    return application_submit(application=application, actor=prepared_by)


def refinance_preview(
    *,
    loan: Loan,
    term: int,
    first_due_on: dt.date,
    tea_pct: Decimal | None = None,
    also_loans: Sequence[Loan] = (),
    refinanced_on: dt.date | None = None,
    grace_periods: int = 0,
) -> tuple[LoanApplication, Any]:
    """The unsaved application and the cronograma ``refinance_propose`` would submit (for the page's
    preview); the same ValidationErrors."""
    on = refinanced_on or servicing_today()
    loans = refinance_loans(loan=loan, also_loans=also_loans)
    amount, _payoffs = refinance_amount(loans=loans, on=on)
    if amount <= 0:
        raise ValidationError({"loan": _("Nothing is owed on these loans: there is nothing to refinance.")})
    application = LoanApplication(
        miner=loan.miner,
        product=loan.product,
        amount=amount,
        term=term,
        tea_pct=loan.tea_pct if tea_pct is None else tea_pct,
        disbursement_date=on,
        first_due_on=first_due_on,
        grace_periods=grace_periods,
        withholding_buyer=loan.withholding_buyer,
        prepared_by=loan.disbursed_by,
        is_refinancing=True,
    )
    application.full_clean(exclude=["prepared_by"])
    return application, application_schedule(application)


def refinance_prepare_disbursement(*, application: LoanApplication, disbursed_on: dt.date) -> dict[str, Any]:
    """Within ``loan_disburse``, before the new loan is made: lock and check the refinanced loans, and set
    the application's amount to their payoff on ``disbursed_on``. Returns what ``refinance_close`` needs."""
    ids = sorted(application.refinanced_loans.values_list("pk", flat=True))
    if not ids:
        raise TransitionError(_("This refinancing names no loan to refinance."))
    # Lock order step 2: the loans by id (the new loan, created after, is locked only by itself).
    loans = list(Loan.objects.select_for_update(no_key=True).filter(pk__in=ids).order_by("pk"))
    # Their state on the day (days past due, category): the debtor's category at the refinancing.
    loans = [loan_recompute(loan=loan, as_of=disbursed_on) for loan in loans]
    errors = []
    for loan in loans:
        if loan.miner_id != application.miner_id:
            errors.append(_("Loan %(code)s belongs to another miner.") % {"code": loan.code})
        elif loan.status != Loan.Status.ACTIVE:
            errors.append(
                _("Loan %(code)s is no longer active (it is %(status)s).")
                % {"code": loan.code, "status": loan.get_status_display()}
            )
    if errors:
        raise TransitionError(" ".join(errors))
    amount, payoffs = refinance_amount(loans=loans, on=disbursed_on)
    if amount <= 0:
        raise TransitionError(_("Nothing is owed on these loans any more: cancel the refinancing."))
    proposed = application.amount
    if amount != proposed:
        application.amount = amount
        application.save(update_fields=["amount", "updated"])
    return {"loans": loans, "payoffs": payoffs, "proposed_amount": proposed}


def refinance_close(*, application: LoanApplication, loan: Any, actor: Any, prepared: dict[str, Any]) -> Loan:
    """Within ``loan_disburse``, once the new ``loan`` exists: close each refinanced loan with its REFINANCE
    entry, mark the new loan refinanciado with its category floor, and write the audit row."""
    on = loan.disbursed_on
    old: list[Loan] = prepared["loans"]
    payoffs: dict[int, Decimal] = prepared["payoffs"]
    categories: list[Category] = []
    for row in old:
        categories.append(Category(row.category))
        if row.rated_category:
            categories.append(Category(row.rated_category))
        if row.is_refinanced and row.refinance_floor:
            categories.append(Category(row.refinance_floor))
    category = risk.refinance_category(categories)
    for row in old:
        entry = LoanTransaction.objects.create(
            loan=row,
            kind=LoanTransaction.Kind.REFINANCE,
            value_date=on,
            amount=payoffs[row.pk],
            currency=row.currency,
            treatment=LoanTransaction.Treatment.PAGO_ANTICIPADO,
            reference=loan.code,
            note=(_("Refinanced by %(code)s") % {"code": loan.code})[:255],
            recorded_by=actor,
        )
        before = snapshot(row, ["status", "outstanding_principal", "category"])
        row.status = Loan.Status.REFINANCED
        row.save(update_fields=["status", "updated"])
        audit_record(
            actor=actor,
            action="refinance.close",
            obj=entry,
            before={"loan": before},
            after={
                "loan": row.code,
                "amount": entry.amount,
                "currency": entry.currency,
                "value_date": on,
                "reference": loan.code,
                "status": row.status,
            },
        )
        row = loan_recompute(loan=row, as_of=on)
        if row.outstanding_principal != 0:  # the payoff of its day closes a loan; anything else is a bug
            raise TransitionError(_("Loan %(code)s did not close at zero.") % {"code": row.code})
    loan.is_refinanced = True
    loan.refinanced_on = on
    loan.refinance_category = category.value
    loan.refinance_floor = category.value
    loan.refinance_punctual_since = on
    loan.save(
        update_fields=[
            "is_refinanced",
            "refinanced_on",
            "refinance_category",
            "refinance_floor",
            "refinance_punctual_since",
            "updated",
        ]
    )
    audit_record(
        actor=actor,
        action="loan.refinance",
        obj=loan,
        after={
            "code": loan.code,
            "refinanced_on": on,
            "refinanced_loans": [row.code for row in old],
            "payoffs": {row.code: payoffs[row.pk] for row in old},
            "principal": loan.principal,
            "currency": loan.currency,
            "proposed_principal": prepared["proposed_amount"],
            "category": category.value,
            "categories_before": sorted({c.value for c in categories}),
        },
    )
    return loan
