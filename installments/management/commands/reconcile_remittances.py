from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from installments.management.commands._dates import add_as_of, parse_as_of
from installments.services import reconcile_remittances


class Command(BaseCommand):
    help = "Match remittances to withholdings and raise reconciliation exceptions as of a date."

    def add_arguments(self, parser: CommandParser) -> None:
        add_as_of(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_as_of(options["as_of"])
        run = reconcile_remittances(as_of=as_of)
        self.stdout.write(
            f"reconcile_remittances {as_of}: {run.status}, {run.rows_touched} rows touched (job run #{run.pk})"
        )
