"""Small helpers every servicing write shares: the servicing day, actors and amount checks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.money import money
from asmcredit.outbox import outbox_enqueue


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


def queue_reconciliation(*, buyer_id: int | None = None) -> None:
    """Reconcile the buyer's remittances once the caller's transaction commits (through the outbox:
    a broker outage delays the reconciliation, never the remittance)."""
    outbox_enqueue("installments.tasks.reconcile_remittances", as_of=servicing_today().isoformat(), buyer_id=buyer_id)
