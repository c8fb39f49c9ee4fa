"""Small helpers every servicing write shares: the servicing day, actors and amount checks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.money import money
from asmcredit.outbox import outbox_enqueue
from loans.models import Loan

# Loans the servicing engine still collects: active ones, and written-off ones (castigados, DOMAIN.md §7):
# their balance left the active book but is still owed, and what they receive is a recovery.
COLLECTING_STATUSES = (Loan.Status.ACTIVE, Loan.Status.WRITTEN_OFF)


def servicing_today() -> dt.date:
    """Today in Lima (TIME_ZONE): the servicing day."""
    return timezone.localdate()


def actor_user(actor: Any) -> Any:
    return actor if isinstance(actor, AbstractBaseUser) else None


def require_staff(actor: Any, message: str) -> None:
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(message)


def decimal_input(name: str, value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({name: _("Enter a number.")}) from exc


def amount_input(name: str, value: Any) -> Decimal:
    amount = decimal_input(name, value)
    if amount <= 0:
        raise ValidationError({name: _("The amount must be positive.")})
    if money(amount) != amount:
        raise ValidationError({name: _("The amount must be in whole céntimos.")})
    return amount


def not_future(name: str, day: dt.date) -> None:
    if day > servicing_today():
        raise ValidationError({name: _("This date is in the future.")})


def queue_reconciliation(*, buyer_id: int | None = None, as_of: dt.date | None = None) -> None:
    """Reconcile the buyer's remittances as of ``as_of`` once the caller's transaction commits (through
    the outbox: a broker outage delays the reconciliation, never the remittance).

    ``as_of`` is the date of the event that calls for it (a remittance's ``paid_on``), or the servicing
    day for an event of today (a void): the job runs as of the date it is given, never the clock's."""
    day = as_of or servicing_today()
    outbox_enqueue("installments.tasks.reconcile_remittances", as_of=day.isoformat(), buyer_id=buyer_id)


def queue_miner_notices(
    *,
    withholding_ids: Sequence[int] = (),
    payment_id: int | None = None,
    loan_changes: Iterable[tuple[int, Mapping[str, Any]]] = (),
) -> None:
    """Tell the miner what happened (DOMAIN.md §10) once the caller's transaction commits: a receipt
    per withholding or counter payment, the new cronograma when a pago anticipado regenerated it, the
    paid-off certificate when the loan closed. ``loan_changes`` are ``(loan id, audit "after")`` of the
    loans this write changed. Queued by task name through the outbox, so servicing never imports the
    messaging layer and a message can never fail the write."""
    if withholding_ids:
        outbox_enqueue("notices.tasks.on_withholdings", list(withholding_ids))
    if payment_id is not None:
        outbox_enqueue("notices.tasks.on_payment", payment_id)
    for loan_id, after in loan_changes:
        if "schedule_version" in after:
            outbox_enqueue("notices.tasks.on_schedule", loan_id, int(after["schedule_version"]))
        if after.get("status") == "paid_off":
            outbox_enqueue("notices.tasks.on_paid_off", loan_id)
