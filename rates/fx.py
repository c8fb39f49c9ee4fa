"""The exchange rate that states a foreign-currency balance in soles (DOMAIN.md §4, last paragraph).

Portfolio figures in soles — internal alignment, the nightly rating, PAR, provisions, the portfolio
report and the dashboard — convert every non-PEN balance at the rate *of the as-of date*: the latest
``ExchangeRate`` row of that currency dated on or before the date (the SBS accounting rate the lender
loads). Soles pass through at 1 and need no row.

- A currency with no rate on or before the date raises ``MissingExchangeRate``: a figure in soles is
  never computed by adding dollars at 1. Only a book that holds a non-PEN balance needs a rate.
- A rate dated more than ``stale_days()`` (``settings.FX_STALE_DAYS``, default 7) before the as-of
  date is *stale*: it is still used (it is the best the lender has), but every place that shows the
  figure reports it, and the rating run records it.

Batch SQL takes the rates once per run (``fx_rates``) and converts with ``soles_case_sql``, a
``CASE`` on the currency column whose constants are the rates themselves; the ORM gets the same as
an expression from ``soles_factor``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Case, DecimalField, F, Value, When

from rates.models import ExchangeRate

SOLES = "PEN"

# A rate older than this many days before the as-of date is reported as stale (DOMAIN.md §4).
# ``settings.FX_STALE_DAYS`` overrides it.
FX_STALE_DAYS = 7

_CURRENCY = re.compile(r"^[A-Z]{3}$")

RATE_FIELD: DecimalField = DecimalField(max_digits=10, decimal_places=4)


def stale_days() -> int:
    return int(getattr(settings, "FX_STALE_DAYS", FX_STALE_DAYS))


class MissingExchangeRate(LookupError):
    """No exchange rate on or before the date for a currency that has to be stated in soles."""

    def __init__(self, currencies: Iterable[str], on: dt.date) -> None:
        self.currencies = sorted(set(currencies))
        self.on = on
        names = ", ".join(self.currencies)
        super().__init__(
            f"No exchange rate for {names} on or before {on.isoformat()}: load the SBS rate "
            f"(admin, `manage.py load_fx_rates` or POST /api/v1/fx-rates/) before stating {names} in soles."
        )


@dataclass(frozen=True)
class FxRate:
    """Soles per unit of ``currency`` used for ``as_of``: the row dated ``rate_on`` (None for soles)."""

    currency: str
    as_of: dt.date
    soles_per_unit: Decimal
    rate_on: dt.date | None
    source: str = ""

    @property
    def age_days(self) -> int:
        return 0 if self.rate_on is None else (self.as_of - self.rate_on).days

    @property
    def stale(self) -> bool:
        return self.age_days > stale_days()

    def to_soles(self, amount: Decimal) -> Decimal:
        """``amount`` in soles, unrounded (round once where the figure is stored or shown)."""
        return Decimal(amount) * self.soles_per_unit

    def as_dict(self) -> dict[str, Any]:
        return {
            "currency": self.currency,
            "soles_per_unit": str(self.soles_per_unit),
            "rate_on": self.rate_on.isoformat() if self.rate_on else None,
            "source": self.source,
            "age_days": self.age_days,
            "stale": self.stale,
        }


def _soles(on: dt.date) -> FxRate:
    return FxRate(currency=SOLES, as_of=on, soles_per_unit=Decimal(1), rate_on=None)


def fx_rate_or_none(*, currency: str, on: dt.date) -> FxRate | None:
    """The rate for ``currency`` on ``on`` (the latest row on or before it); None when there is none."""
    if currency == SOLES:
        return _soles(on)
    row = (
        ExchangeRate.objects.filter(currency=currency, rate_on__lte=on)
        .order_by("-rate_on")
        .values("soles_per_unit", "rate_on", "source")
        .first()
    )
    if row is None:
        return None
    return FxRate(
        currency=currency, as_of=on, soles_per_unit=row["soles_per_unit"], rate_on=row["rate_on"], source=row["source"]
    )


def fx_rate(*, currency: str, on: dt.date) -> FxRate:
    """The rate for ``currency`` on ``on``; ``MissingExchangeRate`` when none was loaded by then."""
    rate = fx_rate_or_none(currency=currency, on=on)
    if rate is None:
        raise MissingExchangeRate([currency], on)
    return rate


def fx_rates(*, currencies: Iterable[str], on: dt.date) -> dict[str, FxRate]:
    """The rate of every non-PEN currency in ``currencies`` on ``on``, keyed by currency.

    Raises ``MissingExchangeRate`` naming every currency without a rate, so a batch fails before it
    writes anything rather than adding a foreign balance to soles at 1."""
    rates: dict[str, FxRate] = {}
    missing = []
    for currency in sorted(set(currencies) - {SOLES}):
        rate = fx_rate_or_none(currency=currency, on=on)
        if rate is None:
            missing.append(currency)
        else:
            rates[currency] = rate
    if missing:
        raise MissingExchangeRate(missing, on)
    return rates


def stale_rates(rates: Mapping[str, FxRate]) -> list[FxRate]:
    return [rate for rate in rates.values() if rate.stale]


def soles_case_sql(column: str, rates: Mapping[str, FxRate]) -> str:
    """SQL for "soles per unit of the currency in ``column``": 1 for PEN, the rate for each currency of
    ``rates``, NULL for any other (so an unconverted currency can never pass as soles).

    The constants are Decimals read from the table (digits and a point) and currency codes checked
    against ``[A-Z]{3}``, so the fragment is safe to embed; it takes no parameters, which keeps
    positional parameter lists of the calling query untouched."""
    whens = [f"WHEN '{SOLES}' THEN 1"]
    for currency, rate in sorted(rates.items()):
        if not _CURRENCY.match(currency):
            raise ValueError(f"Not a currency code: {currency!r}")
        value = Decimal(rate.soles_per_unit)
        if not value.is_finite() or value <= 0:
            raise ValueError(f"Not a rate: {value!r}")
        whens.append(f"WHEN '{currency}' THEN {format(value, 'f')}")
    return f"(CASE {column} {' '.join(whens)} ELSE NULL END)"


def soles_factor(field: str, rates: Mapping[str, FxRate]) -> Case:
    """The ORM form of ``soles_case_sql``: soles per unit of the currency in ``field``."""
    whens = [When(**{field: SOLES}, then=Value(Decimal(1), output_field=RATE_FIELD))]
    whens += [
        When(**{field: currency}, then=Value(rate.soles_per_unit, output_field=RATE_FIELD))
        for currency, rate in sorted(rates.items())
    ]
    return Case(*whens, default=Value(None, output_field=RATE_FIELD), output_field=RATE_FIELD)


def in_soles(amount_field: str, currency_field: str, rates: Mapping[str, FxRate]) -> Any:
    """``amount_field`` × the rate of the row's ``currency_field``, as an ORM expression."""
    return F(amount_field) * soles_factor(currency_field, rates)
