"""``manage.py purge_idempotency``: delete the idempotency records older than IDEMPOTENCY_REPLAY_HOURS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

from asmcredit.retention import idempotency_purge


class Command(BaseCommand):
    help = "Delete the API's idempotency records older than the replay window (IDEMPOTENCY_REPLAY_HOURS)."

    def handle(self, *args: Any, **options: Any) -> None:
        deleted = idempotency_purge()
        self.stdout.write(
            f"Deleted {deleted} idempotency records older than {settings.IDEMPOTENCY_REPLAY_HOURS} hours."
        )
