"""Direct payments at a branch, adelantos and pagos anticipados (DOMAIN.md §3)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import ZERO
from installments import ledger
from installments.models import (
    LoanTransaction,
)
from installments.selectors import (
    loan_ledger_state,
    loan_state_on,
)
from installments.services.common import (
    COLLECTING_STATUSES,
    actor_user,
    amount_input,
    not_future,
    queue_miner_notices,
    require_staff,
    servicing_today,
)
from installments.services.settlements import (
    _allocation_breakdown,
)
from installments.services.writeback import (
    loan_recompute,
)
from loans.models import Loan
from miners.models import Miner

# --- Direct payments and prepayments ---------------------------------------------------------------


def _treatment_input(treatment: str | None) -> str:
    treatment = treatment or ledger.AUTO
    if treatment not in ledger.TREATMENTS:
        raise ValidationError({"treatment": _("Choose auto, pago_anticipado or adelanto.")})
    return treatment


def _max_payment(state: ledger.LedgerState, applied: str) -> Decimal:
    """A pago anticipado can close the loan (its payoff); an adelanto can fill every installment left."""
    if applied == ledger.PAGO_ANTICIPADO:
        return state.payoff_amount()
    return state.exigible() + sum(state.upcoming_totals(), ZERO)


def payment_record(
    *,
    loan: Loan,
    amount: Any,
    paid_on: dt.date,
    actor: Any,
    reference: str = "",
    prepayment_mode: str | None = None,
    treatment: str | None = None,
) -> LoanTransaction:
    """A payment the miner made directly (at a branch or by transfer), recorded by staff.

    Allocated like a withholding. ``treatment`` is what the borrower asked for (DOMAIN.md §3): ``auto``
    (the rule: more than two installments, counting the exigible one, is a pago anticipado), or the
    other treatment by the borrower's choice, ``pago_anticipado`` or ``adelanto``; an amount that
    reaches the payoff is always a cancelación total. The ledger applies it on the state of its own
    date (``installments.ledger``), so a payment dated in the past is treated as it would have been that
    day. A pago anticipado regenerates the cronograma by the client's choice of shorter term (default)
    or lower installment. More than the loan's payoff (or, for an adelanto, than all it still owes) is
    refused.
    """
    require_staff(actor, _("Only loan officers record payments."))
    amount = amount_input("amount", amount)
    not_future("paid_on", paid_on)
    treatment = _treatment_input(treatment)
    if prepayment_mode not in (None, "", *LoanTransaction.PrepaymentMode.values):
        raise ValidationError({"prepayment_mode": _("Choose a shorter term or a lower installment.")})
    with transaction.atomic():
        # Lock order (``installments.services``) step 2, the loan, FOR NO KEY UPDATE: a payment writes no
        # buyer-scoped row (so it takes no buyer lock), and queues behind a post or a void on this loan.
        loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)
        if loan.status not in COLLECTING_STATUSES:
            raise TransitionError(_("Payments can only be recorded on an active or written-off loan."))
        if paid_on < loan.disbursed_on:
            raise ValidationError({"paid_on": _("The payment cannot predate the disbursement.")})
        state = loan_state_on(loan=loan, on=paid_on)
        applied = state.treatment_for(amount, treatment)
        limit = _max_payment(state, applied)
        if amount > limit:
            raise ValidationError(
                {"amount": _("The amount exceeds what the loan owes on that date (%(limit)s).") % {"limit": limit}}
            )
        txn = LoanTransaction.objects.create(
            loan=loan,
            kind=LoanTransaction.Kind.PAYMENT,
            value_date=paid_on,
            amount=amount,
            currency=loan.currency,
            treatment=treatment,
            prepayment_mode=prepayment_mode or LoanTransaction.PrepaymentMode.REDUCE_TERM,
            reference=reference[:80],
            recorded_by=actor_user(actor),
        )
        version_before, status_before = loan.schedule_version, loan.status
        loan = loan_recompute(loan=loan, as_of=max(servicing_today(), paid_on))
        changed: dict[str, Any] = {}
        if loan.schedule_version != version_before:
            changed["schedule_version"] = loan.schedule_version
        if loan.status != status_before:
            changed["status"] = loan.status
        if Miner.objects.filter(pk=loan.miner_id, accepts_messages=True).exists():
            queue_miner_notices(payment_id=txn.pk, loan_changes=[(loan.pk, changed)] if changed else [])
        audit_record(
            actor=actor,
            action="payment.prepayment" if applied == ledger.PAGO_ANTICIPADO else "payment.record",
            obj=txn,
            after={
                **snapshot(txn),
                "applied_as": applied,
                "payoff": state.payoff_amount(),
                "schedule_version": [version_before, loan.schedule_version],
                "allocations": _allocation_breakdown(txn.pk),
            },
        )
    return txn


def payoff_quote(*, loan: Loan, on: dt.date) -> ledger.PayoffQuote:
    """The amount that closes ``loan`` on ``on`` with its parts (DOMAIN.md §3, cancelación total)."""
    if loan.disbursed_on is None or on < loan.disbursed_on:
        raise ValidationError({"on": _("The date cannot predate the disbursement.")})
    return loan_state_on(loan=loan, on=on).payoff()


def _preview_lines(state: ledger.LedgerState) -> list[dict[str, Any]]:
    return [
        {
            "number": line.number,
            "due_on": line.due_on,
            "principal": line.plan.principal,
            "interest": line.plan.interest,
            "insurance": line.plan.insurance,
            "fees": line.plan.fees,
            "total": line.plan.total,
            "balance": line.plan.closing_balance,
        }
        for line in state.current_lines
    ]


def prepayment_options(*, loan: Loan, amount: Any, paid_on: dt.date, treatment: str | None = None) -> dict[str, Any]:
    """What a payment of ``amount`` on ``paid_on`` would do, before staff record it.

    ``kind`` is "adelanto" (next installments paid in advance, interest unchanged) or "anticipado"
    (principal reduced), after the borrower's requested ``treatment``; for an anticipado both choices
    are previewed with their new cronograma: ``reduce_term`` (same installment, fewer of them) and
    ``reduce_installment`` (same dates, lower installment), with the interest each saves against the
    current cronograma. ``payoff`` is the amount that closes the loan that day.
    """
    amount = amount_input("amount", amount)
    treatment = _treatment_input(treatment)
    state = loan_state_on(loan=loan, on=paid_on)
    applied = state.treatment_for(amount, treatment)
    kind = "anticipado" if applied == ledger.PAGO_ANTICIPADO else "adelanto"
    quote = state.payoff()
    result: dict[str, Any] = {
        "kind": kind,
        "treatment": treatment,
        "by_rule": "anticipado" if state.treatment_for(amount) == ledger.PAGO_ANTICIPADO else "adelanto",
        "amount": amount,
        "paid_on": paid_on,
        "exigible": state.exigible(),
        "threshold": state.adelanto_threshold(),
        "next_installments": state.upcoming_totals()[:2],
        "payoff": quote.total,
        "payoff_quote": quote,
        "closes_loan": amount >= quote.total > 0,
        "maximum": _max_payment(state, applied),
    }
    if kind != "anticipado":
        return result
    interest_now = sum((line.plan.interest - line.paid_interest for line in state.current_lines), ZERO)
    for mode in LoanTransaction.PrepaymentMode.values:
        preview = loan_ledger_state(
            loan=loan,
            as_of=paid_on,
            until=paid_on,
            extra=[
                ledger.Entry(
                    id=2**62,
                    kind=ledger.PAYMENT,
                    value_date=paid_on,
                    amount=amount,
                    prepayment_mode=mode,
                    treatment=ledger.PAGO_ANTICIPADO,
                )
            ],
        )
        lines = _preview_lines(preview)
        interest_after = sum((line.plan.interest - line.paid_interest for line in preview.current_lines), ZERO) + sum(
            (a.amount for a in preview.allocations_for(2**62) if a.component == "interest"), ZERO
        )
        result[mode] = {
            "installment": preview.installment,
            "installments_left": len(lines),
            "last_due_on": lines[-1]["due_on"] if lines else None,
            "outstanding_principal": preview.outstanding_principal,
            "interest_saved": interest_now - interest_after,
            "lines": lines,
        }
    return result
