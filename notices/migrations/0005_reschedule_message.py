"""The reprogramación's new-cronograma message: its event, and its default wording as data (created only
where missing, as 0002 does)."""

from django.db import migrations, models


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from notices.defaults import seed_default_templates

    seed_default_templates(apps.get_model("notices", "MessageTemplate"))


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0004_miner_accepts_messages"),
    ]

    operations = [
        migrations.AlterField(
            model_name="messagetemplate",
            name="event",
            field=models.CharField(
                choices=[
                    ("withholding", "withholding receipt"),
                    ("payment", "payment receipt"),
                    ("reminder", "installment reminder"),
                    ("arrears", "arrears notice"),
                    ("schedule", "new cronograma"),
                    ("reschedule", "reprogramación (new cronograma)"),
                    ("paid_off", "paid-off certificate"),
                    ("link", "statement link"),
                ],
                max_length=16,
                verbose_name="event",
            ),
        ),
        migrations.AlterField(
            model_name="notice",
            name="event",
            field=models.CharField(
                choices=[
                    ("withholding", "withholding receipt"),
                    ("payment", "payment receipt"),
                    ("reminder", "installment reminder"),
                    ("arrears", "arrears notice"),
                    ("schedule", "new cronograma"),
                    ("reschedule", "reprogramación (new cronograma)"),
                    ("paid_off", "paid-off certificate"),
                    ("link", "statement link"),
                ],
                max_length=16,
                verbose_name="event",
            ),
        ),
        migrations.RunPython(seed, migrations.RunPython.noop),
    ]
