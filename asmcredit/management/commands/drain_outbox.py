"""``manage.py drain_outbox``: publish the tasks the outbox still holds (after a broker outage)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from asmcredit.outbox import outbox_dispatch


class Command(BaseCommand):
    help = "Publish the pending outbox messages to the broker; safe to run at any time, and twice."

    def handle(self, *args: Any, **options: Any) -> None:
        outcome = outbox_dispatch()
        if outcome.error:
            raise CommandError(f"published {outcome.published}, {outcome.failed} still pending: {outcome.error}")
        self.stdout.write(f"published {outcome.published}")
