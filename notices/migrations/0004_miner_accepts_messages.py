"""Miners with a message preference (consent given, or an opt-out the receipts policy may serve) get
``Miner.accepts_messages``, the flag servicing reads before queueing their events."""

from django.db import migrations
from django.db.models import Q


def flag(apps, schema_editor):  # type: ignore[no-untyped-def]
    Miner = apps.get_model("miners", "Miner")
    MinerPreference = apps.get_model("notices", "MinerPreference")
    ids = MinerPreference.objects.filter(Q(consent=True) | Q(opted_out_at__isnull=False)).values("miner_id")
    Miner.objects.filter(pk__in=ids).update(accepts_messages=True)


class Migration(migrations.Migration):
    dependencies = [
        ("notices", "0003_statement_link_event"),
        ("miners", "0002_miner_accepts_messages"),
    ]

    operations = [migrations.RunPython(flag, migrations.RunPython.noop)]
