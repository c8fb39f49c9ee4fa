"""Amounts as Peruvians write them, whatever the active language: ``S/ 1,234.50``.

``{{ amount|soles }}`` → ``S/ 1,234.50``; ``{{ amount|money:"USD" }}`` → ``US$ 1,234.50``;
``{{ amount|amount }}`` → ``1,234.50`` (no symbol, for table columns under a currency header);
``{{ ratio|percent }}`` → ``12.35%`` for a fraction (0.1235); ``{{ pct|pct }}`` → ``40.00%`` for a percent.
Always "," for thousands and "." for decimals, rounded half-up to 2 places, never through floats.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template

from asmcredit.fields import CURRENCY_SYMBOL

register = template.Library()


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None


def format_amount(value: Any, places: int = 2) -> str:
    number = _decimal(value)
    if number is None:
        return "—"
    quantized = number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if quantized == 0:
        quantized = abs(quantized)  # no "-0.00"
    return f"{quantized:,.{places}f}"


def format_money(value: Any, currency: str = "PEN") -> str:
    text = format_amount(value)
    if text == "—":
        return text
    symbol = CURRENCY_SYMBOL.get(str(currency).upper(), str(currency))
    if text.startswith("-"):
        return f"-{symbol} {text[1:]}"
    return f"{symbol} {text}"


@register.filter
def soles(value: Any) -> str:
    return format_money(value, "PEN")


@register.filter
def money(value: Any, currency: str = "PEN") -> str:
    return format_money(value, currency or "PEN")


@register.filter
def amount(value: Any, places: int = 2) -> str:
    return format_amount(value, int(places))


@register.filter
def percent(value: Any, places: int = 2) -> str:
    """A fraction as a percentage: 0.1235 → 12.35%."""
    number = _decimal(value)
    if number is None:
        return "—"
    return f"{format_amount(number * 100, int(places))}%"


@register.filter
def pct(value: Any, places: int = 2) -> str:
    """A percentage as stored (40.0000) → 40.00%."""
    number = _decimal(value)
    if number is None:
        return "—"
    return f"{format_amount(number, int(places))}%"
