from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from installments.management.commands._dates import add_as_of, parse_as_of
from installments.services import portfolio_rate


class Command(BaseCommand):
    help = "Rate every active loan (SBS category, provisions, early warnings) as of a date."

    def add_arguments(self, parser: CommandParser) -> None:
        add_as_of(parser)
        parser.add_argument("--batch-size", type=int, default=20000, help="borrowers per batch")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_as_of(options["as_of"])
        run = portfolio_rate(as_of=as_of, batch_size=options["batch_size"])
        self.stdout.write(f"rate_portfolio {as_of}: {run.status}, {run.rows_touched} rows touched (job run #{run.pk})")
