"""manage.py load_fx_rates FILE — load exchange rates (``currency,date,soles_per_unit[,source]``).

All or nothing: any bad row stops the load with every bad row named and a non-zero exit. Loading a
day already in the table replaces its rate (audited); loading the same file twice changes nothing."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from rates.imports import parse_rates_csv
from rates.services import RateLoadError, exchange_rates_load

ACTOR = "command:load_fx_rates"


class Command(BaseCommand):
    help = "Load exchange rates (soles per unit) from a CSV file: currency,date,soles_per_unit[,source]."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV file with a header row")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {path}: {exc}") from exc
        try:
            rows = parse_rates_csv(text)
            outcomes = exchange_rates_load(rows=rows, actor=ACTOR, first_row=2)
        except RateLoadError as exc:
            lines = "\n".join(
                f"  line {row}: {message}"
                for row, messages in sorted(exc.errors_by_row.items())
                for message in messages
            )
            raise CommandError(f"Nothing loaded from {path}; fix these rows and load the file again:\n{lines}") from exc
        counts = Counter(outcome.result for outcome in outcomes)
        self.stdout.write(
            f"{path}: {len(outcomes)} rates — {counts['created']} created, {counts['updated']} updated, "
            f"{counts['unchanged']} unchanged."
        )
