"""BCRP interest-rate caps (DOMAIN.md §3 "Rate caps", Ley 31143): which cap is in force for a currency on
a day, and the check that refuses a product, an offer or a disbursement above it.

The cap in force on a day is the row of that currency with the latest ``effective_from`` on or before
the day; a new row takes over from its date and the older rows stay as the record of what applied
before. A rate equal to the cap is within it; only a rate above it is refused, and the message names
the cap (currency, the date it took effect and its figure) so the officer knows which rule was hit.

With no cap row for the currency on that day the rate is allowed: the table is data the lender keeps
current (the ``rates`` data migration loads the caps from 2026-01-01), and refusing every loan because
a semester's circular has not been typed in yet would stop the lender rather than protect the miner.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from rates.models import RateCap

# No BCRP cap has come near this; a figure above it is a typing error (1098.3 for 109.83).
MAX_CAP_PCT = Decimal("1000")


def rate_cap_in_force(*, currency: str, on: dt.date) -> RateCap | None:
    """The cap for ``currency`` in force on ``on`` (latest ``effective_from`` ≤ ``on``), or None."""
    return RateCap.objects.filter(currency=currency, effective_from__lte=on).order_by("-effective_from").first()


def format_pct(value: Decimal) -> str:
    """``110`` → ``110.00``, ``109.8300`` → ``109.83``, ``109.8349`` → ``109.8349``: never rounded, so a
    refused rate never reads the same as the cap it exceeds."""
    value = Decimal(value)
    normalized = value.normalize()
    exponent = normalized.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -2:
        return f"{value.quantize(Decimal('0.01')):f}"
    return f"{normalized:f}"


def _message(kind: str, *, rate: Decimal, cap: RateCap, cap_pct: Decimal) -> str:
    params = {
        "rate": format_pct(rate),
        "currency": cap.currency,
        "since": cap.effective_from.isoformat(),
        "cap": format_pct(cap_pct),
    }
    if kind == "max_tea_pct":
        return (
            _("The maximum TEA %(rate)s%% exceeds the BCRP cap for %(currency)s in force since %(since)s (%(cap)s%%).")
            % params
        )
    if kind == "moratory_tea_pct":
        return (
            _(
                "The moratory TEA %(rate)s%% exceeds the BCRP moratory cap for %(currency)s in force since "
                "%(since)s (%(cap)s%%)."
            )
            % params
        )
    return _("The TEA %(rate)s%% exceeds the BCRP cap for %(currency)s in force since %(since)s (%(cap)s%%).") % params


def rate_cap_errors(
    *,
    currency: str,
    on: dt.date,
    tea_pct: Decimal | None = None,
    max_tea_pct: Decimal | None = None,
    moratory_tea_pct: Decimal | None = None,
    fields: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Field → message for every given rate (percent) above the cap in force on ``on``; empty when all
    are within it or no cap is recorded. ``tea_pct`` and ``max_tea_pct`` are compensatory rates,
    ``moratory_tea_pct`` the moratory one. ``fields`` renames the error keys (default: the argument names)."""
    rates = {"tea_pct": tea_pct, "max_tea_pct": max_tea_pct, "moratory_tea_pct": moratory_tea_pct}
    if all(value is None for value in rates.values()):
        return {}
    cap = rate_cap_in_force(currency=currency, on=on)
    if cap is None:
        return {}
    errors: dict[str, str] = {}
    for kind, value in rates.items():
        try:
            rate = Decimal(value) if value is not None else None
        except (InvalidOperation, TypeError, ValueError):
            rate = None  # not a number: the field's own validation reports it
        if rate is None or not rate.is_finite():
            continue
        cap_pct = cap.moratory_tea_max_pct if kind == "moratory_tea_pct" else cap.compensatory_tea_max_pct
        if rate > cap_pct:
            field = (fields or {}).get(kind, kind)
            errors.setdefault(field, _message(kind, rate=rate, cap=cap, cap_pct=cap_pct))
    return errors


def rate_caps_check(
    *,
    currency: str,
    on: dt.date,
    tea_pct: Decimal | None = None,
    max_tea_pct: Decimal | None = None,
    moratory_tea_pct: Decimal | None = None,
    fields: Mapping[str, str] | None = None,
) -> None:
    """Raise ``ValidationError`` (field → message naming the cap) when a rate is above the BCRP cap in
    force for ``currency`` on ``on``; see ``rate_cap_errors``."""
    errors = rate_cap_errors(
        currency=currency,
        on=on,
        tea_pct=tea_pct,
        max_tea_pct=max_tea_pct,
        moratory_tea_pct=moratory_tea_pct,
        fields=fields,
    )
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def rate_cap_create(
    *,
    actor: Any,
    currency: str,
    effective_from: dt.date,
    compensatory_tea_max_pct: Decimal,
    moratory_tea_max_pct: Decimal,
    source: str = "",
) -> RateCap:
    """Record a new BCRP cap for ``currency`` from ``effective_from`` (the admin's and the API's write path).

    Caps are never replaced: a row in force is the record of what applied to the products, offers and
    disbursements of its days, so a second row for the same currency and day is refused; a new
    semester's circular is a new row with its own date."""
    errors: dict[str, str] = {}
    for name, value in (
        ("compensatory_tea_max_pct", compensatory_tea_max_pct),
        ("moratory_tea_max_pct", moratory_tea_max_pct),
    ):
        if value > MAX_CAP_PCT:
            errors[name] = _(
                "A cap above %(max)s%% is not plausible: the value is in percent (109.83 for 109.83%%)."
            ) % {"max": format_pct(MAX_CAP_PCT)}
    if compensatory_tea_max_pct <= 0:
        errors["compensatory_tea_max_pct"] = _("The compensatory cap must be positive.")
    if moratory_tea_max_pct < 0:
        errors["moratory_tea_max_pct"] = _("The moratory cap cannot be negative.")
    if RateCap.objects.select_for_update().filter(currency=currency, effective_from=effective_from).exists():
        errors["effective_from"] = _(
            "A cap for %(currency)s from %(since)s is already recorded: a new cap takes a new date."
        ) % {"currency": currency, "since": effective_from.isoformat()}
    if errors:
        raise ValidationError(errors)
    cap = RateCap(
        currency=currency,
        effective_from=effective_from,
        compensatory_tea_max_pct=compensatory_tea_max_pct,
        moratory_tea_max_pct=moratory_tea_max_pct,
        source=source,
    )
    cap.full_clean()
    cap.save()
    audit_record(actor=actor, action="rate_cap.create", obj=cap, after=snapshot(cap))
    return cap
