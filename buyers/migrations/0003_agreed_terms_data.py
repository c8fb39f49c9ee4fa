"""Data for the agreed terms (DOMAIN.md §4).

- Each buyer's old maquila scale (bands without dates) becomes the first version of its agreed terms, in
  force from 2000-01-01 — the earliest date a settlement may carry — since the product knows no date at
  which it began; its RC and recovery are left blank (never recorded, so never checked).
- The lender's price-share reference starts at the 95% Fairtrade / Fairmined floor, from the same date.
- Every recorded settlement gets its price share ((INTER − RC) / INTER) and value share (payable over the
  recoverable gold at INTER); the old flags (``below_fairtrade_reference``, ``below_buyer_terms``, which
  compared the payable with all the contained gold) give way to ``price_below_reference``. Settlements
  recorded before the terms existed are not checked against them (no ``off_agreed_terms``).
"""

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import migrations

FIRST_DATE = dt.date(2000, 1, 1)
REFERENCE = Decimal("0.95")
OLD_FLAGS = ("below_fairtrade_reference", "below_buyer_terms")
SHORT_TONS_PER_TONNE = Decimal("1.10231")
PLACES = Decimal("0.0001")


def scale_to_terms(apps, schema_editor):
    MaquilaScale = apps.get_model("buyers", "MaquilaScale")
    BuyerTerms = apps.get_model("buyers", "BuyerTerms")
    MaquilaBand = apps.get_model("buyers", "MaquilaBand")
    FairPriceReference = apps.get_model("buyers", "FairPriceReference")
    versions = {}
    for row in MaquilaScale.objects.order_by("buyer_id", "min_grade_oz_tc"):
        if row.buyer_id not in versions:
            versions[row.buyer_id] = BuyerTerms.objects.create(
                buyer_id=row.buyer_id, effective_from=FIRST_DATE, note="Maquila scale before agreed terms were dated"
            )
        MaquilaBand.objects.create(
            terms=versions[row.buyer_id],
            min_grade_oz_tc=row.min_grade_oz_tc,
            max_grade_oz_tc=row.max_grade_oz_tc,
            maquila_usd_tc=row.maquila_usd_tc,
        )
    FairPriceReference.objects.get_or_create(
        effective_from=FIRST_DATE,
        defaults={"min_price_share": REFERENCE, "source": "Fairtrade / Fairmined floor for refined gold"},
    )


_POSTGRES_SHARES = """
UPDATE buyers_settlement SET
  price_share = CASE WHEN gold_price_usd_oz > 0
    THEN ROUND((gold_price_usd_oz - commercial_deduction_usd_oz) / gold_price_usd_oz, 4) ELSE 0 END,
  value_share = CASE WHEN dry_tonnes * grade_oz_tc * recovery * gold_price_usd_oz > 0
    THEN ROUND(payable_usd / (dry_tonnes * 1.10231 * grade_oz_tc * recovery * gold_price_usd_oz), 4) ELSE 0 END
"""
_POSTGRES_FLAGS = """
UPDATE buyers_settlement SET fair_price_flags =
  COALESCE((SELECT jsonb_agg(f) FROM jsonb_array_elements(fair_price_flags) f
            WHERE f #>> '{}' NOT IN ('below_fairtrade_reference', 'below_buyer_terms')), '[]'::jsonb)
  || CASE WHEN price_share < 0.95 THEN '["price_below_reference"]'::jsonb ELSE '[]'::jsonb END
"""


def _share(numerator, denominator):
    if denominator <= 0:
        return Decimal("0.0000")
    return (numerator / denominator).quantize(PLACES, rounding=ROUND_HALF_UP)


def settlement_shares(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # Set-based: a national book has millions of settlements.
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(_POSTGRES_SHARES)
            cursor.execute(_POSTGRES_FLAGS)
        return
    Settlement = apps.get_model("buyers", "Settlement")
    batch = []
    for s in Settlement.objects.order_by("pk").iterator(chunk_size=2000):
        inter = s.gold_price_usd_oz
        s.price_share = _share(inter - s.commercial_deduction_usd_oz, inter)
        s.value_share = _share(s.payable_usd, s.dry_tonnes * SHORT_TONS_PER_TONNE * s.grade_oz_tc * s.recovery * inter)
        flags = [flag for flag in (s.fair_price_flags or []) if flag not in OLD_FLAGS]
        if s.price_share < REFERENCE:
            flags.append("price_below_reference")
        s.fair_price_flags = flags
        batch.append(s)
        if len(batch) >= 2000:
            Settlement.objects.bulk_update(batch, ["price_share", "value_share", "fair_price_flags"])
            batch = []
    if batch:
        Settlement.objects.bulk_update(batch, ["price_share", "value_share", "fair_price_flags"])


class Migration(migrations.Migration):
    dependencies = [
        ("buyers", "0002_agreed_terms_schema"),
    ]

    operations = [
        migrations.RunPython(scale_to_terms, migrations.RunPython.noop),
        migrations.RunPython(settlement_shares, migrations.RunPython.noop),
    ]
