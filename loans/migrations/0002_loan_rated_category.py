from django.db import migrations, models

# The latest rating's aligned category, copied from the ratings already stored.
BACKFILL = """
UPDATE loans_loan SET
    rated_on = (SELECT MAX(r.as_of) FROM installments_loanrating r WHERE r.loan_id = loans_loan.id),
    rated_category = COALESCE((
        SELECT r.aligned_category FROM installments_loanrating r
        WHERE r.loan_id = loans_loan.id ORDER BY r.as_of DESC LIMIT 1), '')
"""


class Migration(migrations.Migration):
    dependencies = [
        ("loans", "0001_initial"),
        ("installments", "0003_servicing_moratory_base_and_reconciliation_indexes"),
    ]

    operations = [
        migrations.AddField(
            model_name="loan",
            name="rated_category",
            field=models.CharField(blank=True, max_length=12, verbose_name="latest rated category"),
        ),
        migrations.AddField(
            model_name="loan",
            name="rated_on",
            field=models.DateField(blank=True, null=True, verbose_name="latest rating date"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
    ]
