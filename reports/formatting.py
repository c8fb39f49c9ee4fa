"""How amounts, rates and dates read on the reports: ``S/ 1,234.50`` in both languages.

Peru writes "," for thousands and "." for decimals, and the lender's documents keep that convention in
the English edition too, so a figure copied from either edition is the same string.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import formats

from asmcredit.fields import CURRENCY_SYMBOL
from asmcredit.money import round_half_up


def number(value: Decimal | int | str | None, places: int = 2) -> str:
    """``1234.5`` → ``1,234.50``; rounded half-up, never through float."""
    if value is None:
        return "—"
    rounded = round_half_up(Decimal(value), places)
    sign = "-" if rounded < 0 else ""
    return f"{sign}{abs(rounded):,.{places}f}"


def amount(value: Decimal | int | str | None, currency: str = "PEN") -> str:
    """``S/ 1,234.50`` (``US$ 1,234.50`` for dollars); a negative amount reads ``-S/ 1,234.50``."""
    if value is None:
        return "—"
    symbol = CURRENCY_SYMBOL.get(currency, currency)
    text = number(value, 2)
    if text.startswith("-"):
        return f"-{symbol} {text[1:]}"
    return f"{symbol} {text}"


def soles(value: Decimal | int | str | None) -> str:
    return amount(value, "PEN")


def percent(value: Decimal | int | str | None, places: int = 2) -> str:
    """A rate already in percent (``tea_pct`` 40.0000) → ``40.00%``."""
    if value is None:
        return "—"
    return f"{number(value, places)}%"


def ratio(value: Decimal | int | str | None, places: int = 2) -> str:
    """A fraction (a PAR of 0.1234) → ``12.34%``."""
    if value is None:
        return "—"
    return percent(Decimal(value) * 100, places)


def day(value: dt.date | None) -> str:
    """dd/mm/yyyy, as Peruvian documents date things."""
    return value.strftime("%d/%m/%Y") if value else "—"


def month(value: dt.date) -> str:
    """``ene 2025`` / ``Jan 2025`` in the active language."""
    return formats.date_format(value, "M Y").capitalize()


def mask_document(value: str) -> str:
    """A document number with all but its last 3 characters hidden (``*****567``), for NGO staff."""
    if not value:
        return ""
    return "*" * max(len(value) - 3, 0) + value[-3:]
