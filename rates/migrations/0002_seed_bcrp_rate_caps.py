"""The BCRP caps the lender starts with (DOMAIN.md §3, issue #11): compensatory 109.83% in soles and
87.56% in dollars, effective from 2026-01-01.

The moratory caps are loaded with the same figures as the compensatory ones: the lender has not given
us the BCRP's moratory figures for the semester, and a moratory cap no lower than the compensatory one
refuses nothing a product could legally charge today. The lender replaces both with the current
circular's figures as a new row (admin or ``POST /api/v1/rate-caps/``); no earlier history is invented.
"""

import datetime as dt
from decimal import Decimal

from django.db import migrations

EFFECTIVE_FROM = dt.date(2026, 1, 1)
SOURCE = "BCRP, Ley 31143 (issue #11); moratorio = compensatorio hasta cargar la circular vigente"
CAPS = {"PEN": Decimal("109.8300"), "USD": Decimal("87.5600")}


def seed_caps(apps, schema_editor):  # type: ignore[no-untyped-def]
    RateCap = apps.get_model("rates", "RateCap")
    for currency, cap in CAPS.items():
        RateCap.objects.get_or_create(
            currency=currency,
            effective_from=EFFECTIVE_FROM,
            defaults={"compensatory_tea_max_pct": cap, "moratory_tea_max_pct": cap, "source": SOURCE},
        )


def unseed_caps(apps, schema_editor):  # type: ignore[no-untyped-def]
    RateCap = apps.get_model("rates", "RateCap")
    RateCap.objects.filter(effective_from=EFFECTIVE_FROM, source=SOURCE).delete()


class Migration(migrations.Migration):
    dependencies = [("rates", "0001_exchange_rates_and_caps")]

    operations = [migrations.RunPython(seed_caps, unseed_caps)]
