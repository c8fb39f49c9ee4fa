"""Buyers' agreed terms (effective-dated versions with their maquila bands), the lender's fair-price
reference, and the settlement's new fair-price figures (DOMAIN.md §4). The old scale is copied into the
new tables by 0003 and removed by 0004."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("buyers", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="BuyerTerms",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("effective_from", models.DateField(verbose_name="in force from")),
                (
                    "commercial_deduction_usd_oz",
                    models.DecimalField(
                        blank=True,
                        decimal_places=2,
                        max_digits=14,
                        null=True,
                        verbose_name="agreed commercial deduction RC (US$/oz)",
                    ),
                ),
                (
                    "recovery",
                    models.DecimalField(
                        blank=True, decimal_places=4, max_digits=5, null=True, verbose_name="agreed recovery factor"
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=255, verbose_name="note")),
                (
                    "buyer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="terms_versions", to="buyers.buyer"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "buyer's agreed terms",
                "verbose_name_plural": "buyers' agreed terms",
                "ordering": ["buyer", "-effective_from"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("buyer", "effective_from"), name="buyer_terms_unique_effective_from"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("commercial_deduction_usd_oz__isnull", True),
                            ("commercial_deduction_usd_oz__gte", 0),
                            _connector="OR",
                        ),
                        name="buyer_terms_rc_non_negative",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("recovery__isnull", True),
                            models.Q(("recovery__gt", 0), ("recovery__lte", 1)),
                            _connector="OR",
                        ),
                        name="buyer_terms_recovery_range",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="FairPriceReference",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("created", models.DateTimeField(auto_now_add=True, verbose_name="created")),
                ("updated", models.DateTimeField(auto_now=True, verbose_name="updated")),
                ("effective_from", models.DateField(unique=True, verbose_name="in force from")),
                (
                    "min_price_share",
                    models.DecimalField(
                        decimal_places=4, max_digits=5, verbose_name="minimum price share (fraction of INTER)"
                    ),
                ),
                ("source", models.CharField(blank=True, max_length=120, verbose_name="source")),
            ],
            options={
                "verbose_name": "fair-price reference",
                "verbose_name_plural": "fair-price references",
                "ordering": ["-effective_from"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("min_price_share__gt", 0), ("min_price_share__lte", 1)),
                        name="fair_price_reference_range",
                    )
                ],
            },
        ),
        # Its constraints come in 0004, once the old scale (whose constraint names they take) is gone.
        migrations.CreateModel(
            name="MaquilaBand",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "min_grade_oz_tc",
                    models.DecimalField(decimal_places=4, max_digits=10, verbose_name="from grade (oz/TC)"),
                ),
                (
                    "max_grade_oz_tc",
                    models.DecimalField(
                        blank=True,
                        decimal_places=4,
                        max_digits=10,
                        null=True,
                        verbose_name="to grade (oz/TC, exclusive)",
                    ),
                ),
                (
                    "maquila_usd_tc",
                    models.DecimalField(decimal_places=2, max_digits=14, verbose_name="maquila (US$/TC)"),
                ),
                (
                    "terms",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="bands", to="buyers.buyerterms"
                    ),
                ),
            ],
            options={
                "verbose_name": "maquila band",
                "verbose_name_plural": "maquila scale",
                "ordering": ["terms", "min_grade_oz_tc"],
            },
        ),
        migrations.AddField(
            model_name="settlement",
            name="maquila_source",
            field=models.CharField(
                choices=[("stated", "stated on the settlement"), ("scale", "the buyer's agreed scale")],
                default="stated",
                max_length=8,
                verbose_name="maquila from",
            ),
        ),
        migrations.AddField(
            model_name="settlement",
            name="price_share",
            field=models.DecimalField(
                decimal_places=4, max_digits=7, null=True, verbose_name="price share ((INTER − RC) / INTER)"
            ),
        ),
        migrations.AddField(
            model_name="settlement",
            name="value_share",
            field=models.DecimalField(
                decimal_places=4,
                max_digits=7,
                null=True,
                verbose_name="value share (payable / recoverable gold at INTER)",
            ),
        ),
        migrations.AddField(
            model_name="settlement",
            name="terms_deviations",
            field=models.JSONField(blank=True, default=list, verbose_name="off the agreed terms"),
        ),
        migrations.AddField(
            model_name="settlement",
            name="terms_version",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="settlements",
                to="buyers.buyerterms",
            ),
        ),
    ]
