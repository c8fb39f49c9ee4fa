"""Imputación de pagos: how a payment is split over what a loan owes (DOMAIN.md §3).

Oldest installment first; within an installment, moratory interest, compensatory interest, insurance,
fees, then principal. The same rule serves withholdings and direct payments, so a loan's state can be
recomputed from its payment history in any order of arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from asmcredit.money import PRECISION, ZERO, money, power

DAYS_IN_YEAR = Decimal(360)

COMPONENTS: tuple[str, ...] = ("moratory", "interest", "insurance", "fees", "principal")


@dataclass(frozen=True)
class InstallmentDue:
    """What is still outstanding on one installment, by component."""

    number: int
    due_on: date
    moratory: Decimal
    interest: Decimal
    insurance: Decimal
    fees: Decimal
    principal: Decimal

    @property
    def total(self) -> Decimal:
        return sum((getattr(self, component) for component in COMPONENTS), ZERO)


@dataclass(frozen=True)
class ComponentAllocation:
    """``amount`` of a payment applied to ``component`` of installment ``number``."""

    number: int
    component: str
    amount: Decimal


def allocate(amount: Decimal, dues: Sequence[InstallmentDue]) -> tuple[list[ComponentAllocation], Decimal]:
    """Split ``amount`` over ``dues``; returns the allocations (none of zero) and the leftover.

    Installments are taken by ``(due_on, number)`` whatever order they come in. The leftover is what
    exceeds everything listed; the caller decides whether it is a prepayment or a refund.
    """
    return allocate_in_order(amount, sorted(dues, key=lambda d: (d.due_on, d.number)))


def allocate_in_order(amount: Decimal, dues: Iterable[InstallmentDue]) -> tuple[list[ComponentAllocation], Decimal]:
    """``allocate`` over ``dues`` already in ``(due_on, number)`` order, read only as far as ``amount``
    goes: a replay can pass the installments lazily and stop building them once the money is spent."""
    if amount < 0:
        raise ValueError("A payment amount must not be negative.")
    remaining = Decimal(amount)
    allocations: list[ComponentAllocation] = []
    for due in dues:
        for component in COMPONENTS:
            if remaining <= 0:
                return allocations, remaining
            owed = getattr(due, component)
            if owed < 0:
                raise ValueError(f"Installment {due.number} owes a negative {component}.")
            applied = min(owed, remaining)
            if applied > 0:
                allocations.append(ComponentAllocation(due.number, component, applied))
                remaining -= applied
    return allocations, remaining


def totals_by_component(allocations: Iterable[ComponentAllocation]) -> dict[str, Decimal]:
    """Allocated amount per component, every component present (zero when nothing went to it)."""
    totals = dict.fromkeys(COMPONENTS, ZERO)
    for allocation in allocations:
        totals[allocation.component] += allocation.amount
    return totals


def moratory_interest(overdue_principal: Decimal, moratory_tea: Decimal, days: int) -> Decimal:
    """Interés moratorio on overdue principal for ``days`` days late (DOMAIN.md §3, Ley 31143).

    ``money(overdue principal × ((1 + moratory TEA)^(days/360) − 1))``. It accrues on principal only and
    is never capitalized: the caller computes it afresh from the overdue principal, never on a balance
    that already includes moratory interest.
    """
    if overdue_principal < 0 or moratory_tea < 0:
        raise ValueError("Overdue principal and the moratory rate must not be negative.")
    if days <= 0:
        return ZERO
    with localcontext() as ctx:
        ctx.prec = PRECISION
        factor = power(1 + Decimal(moratory_tea), Decimal(days) / DAYS_IN_YEAR) - 1
        return money(Decimal(overdue_principal) * factor)
