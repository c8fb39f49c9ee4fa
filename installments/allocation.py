"""Imputación de pagos: how a payment is split over what a loan owes (DOMAIN.md §3).

Oldest installment first; within an installment, moratory interest, compensatory interest (first the
interest accrued on its overdue principal after the due date, then the cronograma's interest, then
the interest a reprogramación deferred), insurance, fees, then principal. The same rule serves
withholdings and direct payments, so a loan's state can be recomputed from its payment history in any
order of arrival.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext
from functools import lru_cache

from asmcredit.money import PRECISION, ZERO, money, power, round_half_up

DAYS_IN_YEAR = Decimal(360)

COMPONENTS: tuple[str, ...] = (
    "moratory",
    "late_interest",
    "interest",
    # Interest of a reprogramación's payment holiday, spread over the new installments (DOMAIN.md §7).
    "deferred_interest",
    "insurance",
    "fees",
    "principal",
)

# Late charges (compensatory and moratory interest on overdue principal) are summed at this precision
# and rounded to the céntimo only where stored or paid (DOMAIN.md §3).
ACCRUAL_PLACES = 10


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
    # Compensatory interest accrued on the installment's overdue principal since its due date (Ley 31143).
    late_interest: Decimal = ZERO
    deferred_interest: Decimal = ZERO

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


@lru_cache(maxsize=256)
def daily_rate(tea: Decimal) -> Decimal:
    """The equivalent daily rate ``i₁ = (1 + TEA)^(1/360) − 1`` of an effective annual rate."""
    if tea < 0:
        raise ValueError("A rate must not be negative.")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return power(1 + Decimal(tea), 1 / DAYS_IN_YEAR) - 1


def late_accrual(overdue_principal: Decimal, tea: Decimal, days: int) -> Decimal:
    """Interest on overdue principal for ``days`` days at ``tea``, linear by day (DOMAIN.md §3):
    ``p × i₁ × d``, unrounded (kept to ``ACCRUAL_PLACES``) so that sums over any split of the days give
    the same figure; the caller rounds once where the amount is stored or paid."""
    if overdue_principal < 0:
        raise ValueError("Overdue principal must not be negative.")
    if days <= 0 or overdue_principal == 0:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return round_half_up(Decimal(overdue_principal) * daily_rate(tea) * days, ACCRUAL_PLACES)


def moratory_interest(overdue_principal: Decimal, moratory_tea: Decimal, days: int) -> Decimal:
    """Interés moratorio on overdue principal for ``days`` days late (DOMAIN.md §3, Ley 31143), rounded:
    ``money(p × i₁ × d)`` at the moratory TEA's daily rate. It accrues on principal only and is never
    capitalized; the same formula at the loan's TEA gives the compensatory interest that keeps running
    on overdue principal (``late_accrual``)."""
    if overdue_principal < 0 or moratory_tea < 0:
        raise ValueError("Overdue principal and the moratory rate must not be negative.")
    return money(late_accrual(overdue_principal, moratory_tea, days))
