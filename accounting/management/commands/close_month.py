"""Cierre de mes: post the journal up to the month's last day, tie it out and close it. Exits non-zero
with the differences when the month does not tie out."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Post the journal to the month's end, tie it out and close the month (YYYY-MM)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--period", required=True, help="YYYY-MM")

    def handle(self, *args: Any, **options: Any) -> None:
        from accounting.posting import journal_post
        from accounting.selectors import month_end
        from accounting.services import period_close

        try:
            period = dt.datetime.strptime(options["period"], "%Y-%m").date()
        except ValueError:
            raise CommandError(f"--period must read YYYY-MM, not {options['period']!r}") from None
        entries = journal_post(as_of=month_end(period))
        try:
            period_close(period=period, actor="command:close_month")
        except ValidationError as error:
            raise CommandError("; ".join(error.messages)) from None
        self.stdout.write(f"{period:%Y-%m} closed ({entries} entries posted before closing).")
