"""The clearing account a refinancing meets in, and the posting rules for refinanciación and a
reprogramación's deferred interest (``accounting.rules``): seeded again, idempotently (get or create),
so a lender's own edits to the rows already there are kept."""

from django.db import migrations, models


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from accounting.seed import seed_chart

    seed_chart(
        account_model=apps.get_model("accounting", "Account"),
        mapping_model=apps.get_model("accounting", "RoleMapping"),
        rule_model=apps.get_model("accounting", "PostingRule"),
    )


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_sub_ledger")]

    operations = [
        migrations.AlterField(
            model_name="journalentry",
            name="event",
            field=models.CharField(
                choices=[
                    ("disbursement", "disbursement"),
                    ("payment", "direct payment"),
                    ("prepayment", "prepayment"),
                    ("withholding", "withholding"),
                    ("reversal", "reversal"),
                    ("credit_refund", "overpayment refund"),
                    ("credit_transfer", "overpayment applied to another loan"),
                    ("remittance", "remittance"),
                    ("recovery", "recovery after write-off"),
                    ("accrual", "interest accrual (devengo)"),
                    ("suspension", "interest in suspense"),
                    ("classification", "transfer between vigente and vencido"),
                    ("provision", "provision made or released"),
                    ("write_off", "write-off (castigo)"),
                    ("refinancing", "refinancing: the new loan"),
                    ("refinance", "refinancing: a loan it paid off"),
                    ("reprogramming", "reprogramming"),
                    ("guarantee_claim", "guarantee fund claim"),
                    ("guarantee_payment", "guarantee fund payment"),
                ],
                max_length=20,
                verbose_name="event",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
