"""Writing the exchange-rate table: the one write path for the admin, the CSV load and the API.

A rate is keyed by (currency, date): loading the same day again replaces that day's rate (an upsert),
so a corrected file can be loaded twice; a row that already holds the same values changes nothing and
writes no audit row. Every created or changed rate is audited with its before and after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from asmcredit.audit import audit_record, snapshot
from rates.models import ExchangeRate

CREATED = "created"
UPDATED = "updated"
UNCHANGED = "unchanged"


@dataclass(frozen=True)
class RateInput:
    currency: str
    rate_on: dt.date
    soles_per_unit: Decimal
    source: str = ""
    line: int | None = None  # where the row came from (a CSV line), for error messages


@dataclass(frozen=True)
class RateOutcome:
    rate: ExchangeRate
    result: str  # created | updated | unchanged


class RateLoadError(ValidationError):
    """A load refused as a whole; ``errors_by_row`` maps a row number to its messages."""

    def __init__(self, errors_by_row: dict[int, list[str]]) -> None:
        self.errors_by_row = errors_by_row
        super().__init__(
            [f"row {row}: {message}" for row, messages in sorted(errors_by_row.items()) for message in messages]
        )


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [f"{field}: {message}" for field, messages in error.message_dict.items() for message in messages]
    return list(error.messages)


def _upsert(*, value: RateInput, actor: Any) -> RateOutcome:
    existing = ExchangeRate.objects.select_for_update().filter(currency=value.currency, rate_on=value.rate_on).first()
    rate = existing or ExchangeRate(currency=value.currency, rate_on=value.rate_on)
    before = snapshot(rate) if existing else None
    same = existing is not None and (existing.soles_per_unit, existing.source) == (
        Decimal(value.soles_per_unit),
        value.source,
    )
    rate.soles_per_unit = value.soles_per_unit
    rate.source = value.source
    # Constraints are checked by the database (one rate per day; positive; never for soles).
    rate.full_clean(validate_unique=False, validate_constraints=False)
    if rate.currency == "PEN":
        raise ValidationError({"currency": ["Soles need no exchange rate (always 1)."]})
    if rate.soles_per_unit <= 0:
        raise ValidationError({"soles_per_unit": ["The rate must be greater than zero."]})
    if same and existing is not None:
        return RateOutcome(rate=existing, result=UNCHANGED)
    rate.save()
    audit_record(
        actor=actor,
        action="fx_rate.update" if existing else "fx_rate.create",
        obj=rate,
        before=before,
        after=snapshot(rate),
    )
    return RateOutcome(rate=rate, result=UPDATED if existing else CREATED)


def exchange_rate_set(
    *, currency: str, rate_on: dt.date, soles_per_unit: Decimal, actor: Any, source: str = ""
) -> RateOutcome:
    """Create or replace the rate of ``currency`` for ``rate_on`` (soles per unit), audited."""
    with transaction.atomic():
        return _upsert(
            value=RateInput(currency=currency, rate_on=rate_on, soles_per_unit=soles_per_unit, source=source),
            actor=actor,
        )


def exchange_rates_load(*, rows: Sequence[RateInput], actor: Any, first_row: int = 1) -> list[RateOutcome]:
    """Upsert every row, all or nothing: any bad row refuses the whole load (``RateLoadError`` with
    every bad row's messages, numbered from ``first_row``). A day repeated within the load is an
    error, since the file would not say which rate it means."""
    errors: dict[int, list[str]] = {}
    seen: dict[tuple[str, dt.date], int] = {}
    numbered = [(row.line or number, row) for number, row in enumerate(rows, start=first_row)]
    for number, row in numbered:
        key = (row.currency, row.rate_on)
        if key in seen:
            errors.setdefault(number, []).append(
                f"{row.currency} {row.rate_on.isoformat()} already appears on row {seen[key]}."
            )
        seen.setdefault(key, number)
    if errors:
        raise RateLoadError(errors)
    outcomes: list[RateOutcome] = []
    with transaction.atomic():
        for number, row in numbered:
            try:
                with transaction.atomic():
                    outcomes.append(_upsert(value=row, actor=actor))
            except ValidationError as exc:
                errors.setdefault(number, []).extend(_messages(exc))
        if errors:
            transaction.set_rollback(True)
    if errors:
        raise RateLoadError(errors)
    return outcomes
