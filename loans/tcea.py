"""TCEA (tasa de costo efectiva anual), the total annual cost of a loan (DOMAIN.md §3).

The TCEA is the rate ``r`` that solves ``net amount received = Σ_k T_k · (1 + r)^(−DA_k/360)``, where
``T_k`` is the whole installment k (principal, interest, insurance and fees) and ``DA_k`` the days from
disbursement to its due date. It is solved in ``Decimal`` only (Newton's method kept inside a bracket,
falling back to bisection), so the figure on a cronograma is reproducible to the last digit.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, localcontext

from asmcredit.money import HUNDRED, PRECISION, power, round_half_up

DAYS_IN_YEAR = Decimal(360)
# Far tighter than the 2 decimals of a percentage shown to the client, so rounding never flips.
TOLERANCE = Decimal("1e-20")
MAX_ITERATIONS = 400
LOWEST_RATE = Decimal("-0.99")
HIGHEST_RATE = Decimal(10) ** 6


class TceaError(ValueError):
    """The flows have no rate: no positive payment after disbursement, or a rate outside any sense."""


def solve_rate(net_received: Decimal, flows: Sequence[tuple[int, Decimal]]) -> Decimal:
    """The effective annual rate, as an unrounded fraction, that discounts ``flows`` to ``net_received``.

    ``flows`` are ``(days from disbursement, amount)`` pairs, amounts ≥ 0. Discounted value falls as the
    rate rises, so the root is unique and a bracket ``[lo, hi]`` with value above and below the net
    amount always holds it; Newton steps that leave the bracket are replaced by bisection.
    """
    net = Decimal(net_received)
    if net <= 0:
        raise TceaError("The net amount received must be positive.")
    if any(days < 0 or amount < 0 for days, amount in flows):
        raise TceaError("Flows must have non-negative days and amounts.")
    if not any(days > 0 and amount > 0 for days, amount in flows):
        raise TceaError("At least one positive payment after disbursement is needed.")
    if sum((Decimal(amount) for _, amount in flows), Decimal(0)) == net:
        # Newton would land within 1e-39 of zero; a client repaying exactly what it got pays exactly 0%.
        return Decimal(0)

    with localcontext() as ctx:
        ctx.prec = PRECISION
        times = [(Decimal(days) / DAYS_IN_YEAR, Decimal(amount)) for days, amount in flows]

        def excess(rate: Decimal) -> tuple[Decimal, Decimal]:
            """Discounted flows minus the net amount, and its derivative in ``rate``."""
            base = 1 + rate
            value = -net
            slope = Decimal(0)
            for t, amount in times:
                discounted = amount * power(base, -t)
                value += discounted
                slope -= t * discounted / base
            return value, slope

        lo, hi = LOWEST_RATE, Decimal(1)
        if excess(lo)[0] <= 0:
            raise TceaError("The flows imply a rate below −99%.")
        while excess(hi)[0] > 0:
            hi *= 2
            if hi > HIGHEST_RATE:
                raise TceaError("The flows imply an implausibly high rate.")

        rate = min(max(Decimal("0.1"), lo), hi)
        for _ in range(MAX_ITERATIONS):
            value, slope = excess(rate)
            if value == 0:
                return rate
            if value > 0:
                lo = rate
            else:
                hi = rate
            candidate = rate - value / slope if slope != 0 else lo
            if not lo < candidate < hi:
                candidate = (lo + hi) / 2
            if abs(candidate - rate) < TOLERANCE or hi - lo < TOLERANCE:
                return candidate
            rate = candidate
        return rate


def tcea(net_received: Decimal, flows: Sequence[tuple[int, Decimal]]) -> Decimal:
    """TCEA as a percentage rounded half-up to 2 decimals (``Decimal("48.12")``) — see :func:`solve_rate`."""
    return round_half_up(solve_rate(net_received, flows) * HUNDRED, 2)


def present_value(rate: Decimal, flows: Sequence[tuple[int, Decimal]]) -> Decimal:
    """``Σ amount · (1 + rate)^(−days/360)``, unrounded; ``rate`` is a fraction."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        base = 1 + Decimal(rate)
        return sum(
            (Decimal(amount) * power(base, -Decimal(days) / DAYS_IN_YEAR) for days, amount in flows),
            Decimal(0),
        )
