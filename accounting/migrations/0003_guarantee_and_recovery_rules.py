"""Guarantee funds and recoveries in the journal (``accounting.rules``): the account the subrogated fund
payment is owed on (2507.03), the rules for the fund's payment and for handing it its share of a
recovery, and the rule that takes a recovery out of the written-off memo accounts — seeded again,
idempotently. The rows seeded for guarantee claims before they were posted (a receivable from the fund
against vencido principal, which would have reduced the miner's debt in the books) are corrected where
the lender has not edited them."""

from django.db import migrations, models

SEED_FROM = "2000-01-01"


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from accounting.seed import seed_chart

    rule_model = apps.get_model("accounting", "PostingRule")
    rule_model.objects.filter(
        event="guarantee_claim",
        component="amount",
        effective_from=SEED_FROM,
        debit_role="guarantee_receivable",
        credit_role="loan_vencido",
    ).delete()
    rule_model.objects.filter(
        event="guarantee_payment",
        component="amount",
        effective_from=SEED_FROM,
        debit_role="cash",
        credit_role="guarantee_receivable",
    ).update(credit_role="guarantee_payable")
    seed_chart(
        account_model=apps.get_model("accounting", "Account"),
        mapping_model=apps.get_model("accounting", "RoleMapping"),
        rule_model=rule_model,
    )


class Migration(migrations.Migration):
    dependencies = [("accounting", "0002_refinancing_rules")]

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
                    ("guarantee_remittance", "recovery handed to a guarantee fund"),
                ],
                max_length=20,
                verbose_name="event",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
