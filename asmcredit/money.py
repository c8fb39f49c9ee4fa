"""The one place amounts and rates are rounded.

Every stored amount is a ``Decimal`` rounded half-up to the céntimo (DOMAIN.md §3). Pure modules
and services call these helpers instead of ``quantize`` so the rounding mode is never forgotten.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, localcontext

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal("100")

# Enough digits for (1 + TEA) ** (days / 360) and TCEA root finding without drift.
PRECISION = 40


def money(value: Decimal | int | str) -> Decimal:
    """Round an amount half-up to the céntimo."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def round_half_up(value: Decimal | int | str, places: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def round_down(value: Decimal | int | str, places: int) -> Decimal:
    return Decimal(value).quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN)


def pct_to_rate(pct: Decimal) -> Decimal:
    """40.00 (percent, as stored and shown) → 0.40 (fraction, as the formulas use)."""
    return Decimal(pct) / HUNDRED


def power(base: Decimal, exponent: Decimal) -> Decimal:
    """``base ** exponent`` for a positive base and a fractional exponent, in high precision."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return (Decimal(exponent) * Decimal(base).ln()).exp()
