"""Overpayment credits (DOMAIN.md §3): money that ends up beyond everything a miner owes on a loan.

The credit itself is derived (``installments.ledger`` allocates the excess to the ``overpayment``
component under the entry that brought it, and ``Loan.overpayment_credit`` caches what is left); the
lender never keeps it silently. Staff either refund it (with the bank reference of the transfer) or, at
the miner's written request, apply it to another of the miner's loans. Each use is a transaction of its
own on the loan's append-only log, so a replay gives the same credit whatever order things arrived in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from asmcredit.money import ZERO
from installments.models import LoanTransaction
from installments.selectors import loan_ledger_state
from installments.services.common import actor_user, amount_input, not_future, require_staff, servicing_today
from installments.services.payments import payment_record
from installments.services.writeback import loan_recompute
from loans.models import Loan


def _available_credit(loan: Loan) -> Any:
    """The loan's credit as of today, replayed from its log (the cached column may be a day old); the
    write-back happens once, after the use is recorded."""
    return loan_ledger_state(loan=loan, as_of=servicing_today()).overpayment_credit


def _credit_use(
    *, loan: Loan, kind: str, amount: Any, on: dt.date, reference: str, actor: Any, **links: Any
) -> tuple[LoanTransaction, Loan]:
    """Record a use of the (locked) loan's credit and write the loan back from its log."""
    txn = LoanTransaction.objects.create(
        loan=loan,
        kind=kind,
        value_date=on,
        amount=amount,
        currency=loan.currency,
        reference=reference[:80],
        recorded_by=actor_user(actor),
        **links,
    )
    return txn, loan_recompute(loan=loan, as_of=servicing_today())


def _credit_amount(loan: Loan, amount: Any) -> Any:
    amount = amount_input("amount", amount)
    available = _available_credit(loan)
    if available <= ZERO:
        raise ValidationError({"amount": _("This loan has no overpayment credit.")})
    if amount > available:
        raise ValidationError(
            {"amount": _("The amount exceeds the loan's overpayment credit (%(credit)s).") % {"credit": available}}
        )
    return amount


def overpayment_refund(
    *, loan: Loan, amount: Any, refunded_on: dt.date, bank_reference: str, actor: Any
) -> LoanTransaction:
    """Refund (part of) a loan's overpayment credit to the miner, recorded with its bank reference."""
    require_staff(actor, _("Only loan officers refund an overpayment credit."))
    not_future("refunded_on", refunded_on)
    bank_reference = (bank_reference or "").strip()
    if not bank_reference:
        raise ValidationError({"bank_reference": _("Give the bank reference of the refund.")})
    with transaction.atomic():
        loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)
        amount = _credit_amount(loan, amount)
        txn, loan = _credit_use(
            loan=loan,
            kind=LoanTransaction.Kind.CREDIT_REFUND,
            amount=amount,
            on=refunded_on,
            reference=bank_reference,
            actor=actor,
        )
        audit_record(
            actor=actor,
            action="credit.refund",
            obj=txn,
            after={**snapshot(txn), "credit_left": loan.overpayment_credit},
        )
    return txn


def overpayment_apply(
    *, loan: Loan, target: Loan, amount: Any, applied_on: dt.date, request_reference: str, actor: Any
) -> LoanTransaction:
    """Apply (part of) a loan's overpayment credit to another active loan of the same miner, at the
    miner's written request (``request_reference`` names the document): a payment on ``target`` and
    a credit transfer on ``loan``, linked, in one transaction."""
    require_staff(actor, _("Only loan officers apply an overpayment credit."))
    not_future("applied_on", applied_on)
    request_reference = (request_reference or "").strip()
    if not request_reference:
        raise ValidationError({"request_reference": _("Give the reference of the miner's written request.")})
    if target.pk == loan.pk:
        raise ValidationError({"target": _("Choose another loan of the same miner.")})
    if target.miner_id != loan.miner_id:
        raise ValidationError({"target": _("The credit can only go to another loan of the same miner.")})
    if target.currency != loan.currency:
        raise ValidationError({"target": _("The other loan is in another currency.")})
    with transaction.atomic():
        # Lock order step 2: both loans, by id.
        locked = {
            row.pk: row for row in Loan.objects.select_for_update(no_key=True).filter(pk__in=[loan.pk, target.pk])
        }
        loan, target = locked[loan.pk], locked[target.pk]
        if target.status != Loan.Status.ACTIVE:
            raise ValidationError({"target": _("The other loan is not active.")})
        amount = _credit_amount(loan, amount)
        payment = payment_record(
            loan=target,
            amount=amount,
            paid_on=applied_on,
            actor=actor,
            reference=_("Credit from %(loan)s") % {"loan": loan.code},
        )
        txn, loan = _credit_use(
            loan=loan,
            kind=LoanTransaction.Kind.CREDIT_TRANSFER,
            amount=amount,
            on=applied_on,
            reference=request_reference,
            actor=actor,
            transfer_payment=payment,
        )
        audit_record(
            actor=actor,
            action="credit.apply",
            obj=txn,
            after={
                **snapshot(txn),
                "target_loan": target.code,
                "target_payment": payment.pk,
                "credit_left": loan.overpayment_credit,
            },
        )
    return txn
