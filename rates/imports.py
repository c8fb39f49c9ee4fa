"""Reading exchange rates from CSV: ``currency,date,soles_per_unit[,source]`` with a header row.

Every row is checked before anything is written; the rows then go to ``exchange_rates_load``
(all or nothing). Row numbers are the file's line numbers, the header being line 1."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal, InvalidOperation

from rates.models import ExchangeRate
from rates.services import RateInput, RateLoadError

REQUIRED_COLUMNS = ("currency", "date", "soles_per_unit")
OPTIONAL_COLUMNS = ("source",)
# The column's own bounds (max_digits=10, decimal_places=4).
MAX_RATE = Decimal("999999.9999")


def _currencies() -> set[str]:
    return {str(value) for value, _ in ExchangeRate._meta.get_field("currency").choices or []} - {"PEN"}


def parse_rates_csv(text: str) -> list[RateInput]:
    """The rows of ``text``, or ``RateLoadError`` naming every bad row (line 1 for a bad header)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    unknown = [name for name in header if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if missing or unknown:
        problems = []
        if missing:
            problems.append(f"missing column(s): {', '.join(missing)}")
        if unknown:
            problems.append(f"unknown column(s): {', '.join(unknown)}")
        raise RateLoadError({1: [f"{'; '.join(problems)} (expected currency,date,soles_per_unit[,source])."]})
    reader.fieldnames = header
    currencies = _currencies()
    rows: list[RateInput] = []
    errors: dict[int, list[str]] = {}
    for line, raw in enumerate(reader, start=2):
        if None in raw:
            errors.setdefault(line, []).append("more values than columns.")
            continue
        values = {key: (value or "").strip() for key, value in raw.items()}
        if not any(values.values()):
            continue
        problems = []
        currency = values["currency"].upper()
        if currency == "PEN":
            problems.append("currency: soles need no exchange rate (always 1).")
        elif currency not in currencies:
            problems.append(f"currency: {values['currency']!r} is not one of {', '.join(sorted(currencies))}.")
        try:
            rate_on = dt.date.fromisoformat(values["date"])
        except ValueError:
            problems.append(f"date: {values['date']!r} is not a date as YYYY-MM-DD.")
        try:
            rate = Decimal(values["soles_per_unit"])
            if not rate.is_finite() or rate <= 0 or rate > MAX_RATE or rate != rate.quantize(Decimal("0.0001")):
                raise InvalidOperation
        except InvalidOperation:
            problems.append(
                f"soles_per_unit: {values['soles_per_unit']!r} is not a positive number with at most 4 decimals."
            )
        source = values.get("source", "")
        if len(source) > 80:
            problems.append("source: at most 80 characters.")
        if problems:
            errors[line] = problems
            continue
        rows.append(RateInput(currency=currency, rate_on=rate_on, soles_per_unit=rate, source=source, line=line))
    if errors:
        raise RateLoadError(errors)
    return rows
