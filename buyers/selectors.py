"""Reads of a buyer's agreed terms and the lender's fair-price reference, as the pure ``buyers.terms``
values the valuation takes (DOMAIN.md §4).

A settlement post reads them once per batch (``buyers.settlement_input.SettlementContext``): one query
for all the versions of the buyer with their bands, one for the references — a buyer has a handful of
versions, so all of them are read and the one in force is chosen per settlement date in Python.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection

from buyers.models import Buyer, BuyerTerms, FairPriceReference, MaquilaBand
from buyers.terms import AgreedTerms, TermsInForce
from buyers.terms import MaquilaBand as Band


def buyer_terms_versions(*, buyer: Buyer | int) -> list[AgreedTerms]:
    """Every version of the buyer's agreed terms, oldest first, with its bands in grade order."""
    buyer_id = buyer if isinstance(buyer, int) else buyer.pk
    terms, bands = BuyerTerms._meta.db_table, MaquilaBand._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT t.id, t.effective_from, t.commercial_deduction_usd_oz, t.recovery, "  # noqa: S608 - names from the models
            f"b.min_grade_oz_tc, b.max_grade_oz_tc, b.maquila_usd_tc "
            f"FROM {terms} t LEFT JOIN {bands} b ON b.terms_id = t.id "
            f"WHERE t.buyer_id = %s ORDER BY t.effective_from, t.id, b.min_grade_oz_tc",
            [buyer_id],
        )
        rows = cursor.fetchall()
    versions: dict[int, tuple[dt.date, Decimal | None, Decimal | None, list[Band]]] = {}
    for pk, effective_from, rc, recovery, low, high, fee in rows:
        version = versions.setdefault(pk, (_date(effective_from), _dec(rc), _dec(recovery), []))
        if low is not None:
            version[3].append(Band(_dec(low) or Decimal(0), _dec(high), _dec(fee) or Decimal(0)))
    return [
        AgreedTerms(
            effective_from=effective_from,
            commercial_deduction_usd_oz=rc,
            recovery=recovery,
            bands=tuple(bands_),
            version_id=pk,
        )
        for pk, (effective_from, rc, recovery, bands_) in versions.items()
    ]


def price_references() -> list[tuple[dt.date, Decimal]]:
    """The lender's price-share references ``(effective_from, min share)``, oldest first."""
    return [
        (row.effective_from, row.min_price_share)
        for row in FairPriceReference.objects.order_by("effective_from").only("effective_from", "min_price_share")
    ]


def _dec(value: object) -> Decimal | None:
    # SQLite hands back floats or strings for numeric columns; PostgreSQL hands back Decimals.
    if value is None:
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def buyer_terms_on(*, buyer: Buyer | int, on: dt.date) -> TermsInForce:
    """The buyer's agreed terms and the lender's reference in force on ``on`` (two queries)."""
    return TermsInForce.choose(buyer_terms_versions(buyer=buyer), price_references(), on)
