"""Reversal of one payment or withholding recorded by mistake (DOMAIN.md §7): never deleted, cancelled
by a REVERSAL transaction that points at it, and the loan replayed as if it had never been.

The two-person rule (who asks, who approves, why) is the caller's: ``lifecycle.services`` keeps the
request and calls this once it is approved. A settlement the buyer can still void is voided instead
(``settlement_void``); this reverses one withholding of a settlement that stays valid — the buyer
confirms it withheld for the wrong loan.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import ZERO
from buyers.models import Buyer
from installments.models import LoanTransaction, Withholding
from installments.services.common import actor_user, queue_reconciliation, servicing_today
from installments.services.settlements import withholdings_reverse
from installments.services.writeback import loan_recompute
from loans.models import Loan

REVERSIBLE_KINDS = (
    LoanTransaction.Kind.PAYMENT,
    LoanTransaction.Kind.PREPAYMENT,
    LoanTransaction.Kind.WITHHOLDING,
)


def reversal_refusal(original: LoanTransaction) -> str | None:
    """Why ``original`` cannot be reversed, or None. Checked when the reversal is asked for and again
    when it is carried out (something may have changed in between)."""
    if original.kind not in REVERSIBLE_KINDS:
        return _("Only a counter payment or a withholding can be reversed.")
    if LoanTransaction.objects.filter(reverses=original).exists():
        return _("This payment has already been reversed.")
    if original.loan.status == Loan.Status.REFINANCED:
        # Its payoff on the refinancing day became the new loan's principal: undoing a payment now
        # would leave a balance on a closed loan.
        return _("The loan was refinanced: its payments can no longer be reversed.")
    if LoanTransaction.objects.filter(transfer_payment=original).exists():
        return _("This payment applied a credit from another loan; refund or re-apply that credit instead.")
    if original.kind == LoanTransaction.Kind.WITHHOLDING:
        status = Withholding.objects.filter(transaction=original).values_list("status", flat=True).first()
        if status == Withholding.Status.REVERSED:
            return _("This withholding has already been reversed.")
    return None


@transaction.atomic
def transaction_reverse(*, original: LoanTransaction, actor: Any, reason: str) -> LoanTransaction:
    """Reverse ``original`` (a counter payment, prepayment or withholding), dated today, and replay its
    loan. A withholding's remitted money goes back to its remittance as unmatched credit.

    Refused when the loan's overpayment credit that the payment made has already been refunded or
    applied to another loan (the reversal would leave the miner owing the lender a refund the ledger
    cannot show): undo that first."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("A reversal needs a reason.")})
    refusal = reversal_refusal(original)
    if refusal:
        raise TransitionError(refusal)
    withholding = None
    if original.kind == LoanTransaction.Kind.WITHHOLDING:
        withholding = Withholding.objects.select_related("settlement").get(transaction=original)
        # Lock order step 1, the buyer; then the loan, the withholding and (in withholdings_reverse) the
        # remittances — the order every servicing write keeps.
        Buyer.objects.select_for_update(no_key=True).get(pk=withholding.buyer_id)
    loan = Loan.objects.select_for_update(no_key=True).get(pk=original.loan_id)
    before = snapshot(loan, ["status", "outstanding_principal", "overdue_amount", "overpayment_credit"])
    released: dict[int, Any] = {}
    if withholding is not None:
        withholding = Withholding.objects.select_for_update(no_key=True).get(pk=withholding.pk)
        released = dict(
            withholdings_reverse(
                withholdings=[withholding],
                reason=reason,
                actor=actor,
                settlement=withholding.settlement,
                resolution="Withholding reversed.",
            )
        )
        reversal = LoanTransaction.objects.get(reverses=original)
    else:
        reversal = LoanTransaction.objects.create(
            loan=loan,
            kind=LoanTransaction.Kind.REVERSAL,
            value_date=servicing_today(),
            amount=original.amount,
            currency=original.currency,
            reverses=original,
            reference=original.reference,
            note=reason[:255],
            recorded_by=actor_user(actor),
        )
    # A loan the reversed payment had paid off owes again: the replay reopens it (writeback).
    loan = loan_recompute(loan=loan)
    if loan.overpayment_credit < ZERO:
        raise TransitionError(
            _(
                "The credit this payment left in the miner's favour has already been refunded or applied to "
                "another loan; reverse that first."
            )
        )
    audit_record(
        actor=actor,
        action="transaction.reverse",
        obj=reversal,
        before={"loan": before},
        after={
            **snapshot(reversal),
            "reverses": original.pk,
            "reverses_kind": original.kind,
            "loan": snapshot(loan, ["status", "outstanding_principal", "overdue_amount", "overpayment_credit"]),
            "released_to_remittances": {str(k): v for k, v in released.items()},
        },
    )
    if released and withholding is not None:
        queue_reconciliation(buyer_id=withholding.buyer_id)
    return reversal
