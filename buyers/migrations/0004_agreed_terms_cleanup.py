"""The old maquila scale (copied into the first version of each buyer's agreed terms by 0003), the
buyer's stated payable share and the settlement's single fair-price share give way to the agreed terms and
the three fair-price figures (DOMAIN.md §4)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("buyers", "0003_agreed_terms_data"),
    ]

    operations = [
        migrations.DeleteModel(name="MaquilaScale"),
        migrations.RemoveConstraint(model_name="buyer", name="buyer_terms_share_pct_range"),
        migrations.RemoveField(model_name="buyer", name="terms_payable_share_pct"),
        migrations.RemoveField(model_name="settlement", name="fair_price_share"),
        migrations.AlterField(
            model_name="settlement",
            name="price_share",
            field=models.DecimalField(
                decimal_places=4, max_digits=7, verbose_name="price share ((INTER − RC) / INTER)"
            ),
        ),
        migrations.AlterField(
            model_name="settlement",
            name="value_share",
            field=models.DecimalField(
                decimal_places=4, max_digits=7, verbose_name="value share (payable / recoverable gold at INTER)"
            ),
        ),
        migrations.AddConstraint(
            model_name="maquilaband",
            constraint=models.CheckConstraint(
                condition=models.Q(("min_grade_oz_tc__gte", 0)), name="maquila_min_grade_non_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="maquilaband",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("max_grade_oz_tc__isnull", True),
                    ("max_grade_oz_tc__gt", models.F("min_grade_oz_tc")),
                    _connector="OR",
                ),
                name="maquila_band_ordered",
            ),
        ),
        migrations.AddConstraint(
            model_name="maquilaband",
            constraint=models.CheckConstraint(
                condition=models.Q(("maquila_usd_tc__gte", 0)), name="maquila_non_negative"
            ),
        ),
        migrations.AddConstraint(
            model_name="maquilaband",
            constraint=models.UniqueConstraint(fields=("terms", "min_grade_oz_tc"), name="maquila_unique_band_start"),
        ),
    ]
