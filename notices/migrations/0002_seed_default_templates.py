"""The default wording of every message (``notices.defaults``): creates the missing templates only, so
a template the lender edited is never overwritten, and running it again changes nothing."""

from django.db import migrations


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    from notices.defaults import seed_default_templates

    seed_default_templates(apps.get_model("notices", "MessageTemplate"))


class Migration(migrations.Migration):
    dependencies = [("notices", "0001_messages_outbox_links")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
