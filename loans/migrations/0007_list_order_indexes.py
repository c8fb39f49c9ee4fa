"""Indexes for the officer lists' keyset pagination (``asmcredit.web.paginate``): the loans list reads
``(days_past_due, id)`` backwards from a position, with its status or without; the applications list
``(created, id)``. They replace the ``(status, days_past_due)`` index, a prefix of the first. And the
dashboard's queue of equipment to verify, a partial index of the few loans waiting."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("loans", "0006_carry_over_verifications")]

    operations = [
        migrations.RemoveIndex(model_name="loan", name="loans_loan_status_9a454b_idx"),
        migrations.AddIndex(
            model_name="loan",
            index=models.Index(fields=["status", "days_past_due", "id"], name="loan_list_order"),
        ),
        migrations.AddIndex(
            model_name="loan",
            index=models.Index(fields=["days_past_due", "id"], name="loan_list_order_all"),
        ),
        migrations.AddIndex(
            model_name="loan",
            index=models.Index(
                condition=models.Q(("equipment__isnull", False), ("installation_verified_at__isnull", True)),
                fields=["disbursed_on"],
                name="loan_to_verify",
            ),
        ),
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(fields=["created", "id"], name="application_list_order"),
        ),
        migrations.AddIndex(
            model_name="loanapplication",
            index=models.Index(fields=["status", "created", "id"], name="application_status_order"),
        ),
    ]
