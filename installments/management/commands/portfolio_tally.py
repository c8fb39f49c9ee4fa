"""Fold the dashboard's running totals together, or rebuild them from the book (``installments.tally``)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from installments.tally import tallies_kept, tally_compact, tally_rebuild


class Command(BaseCommand):
    help = "Compact the dashboard's running totals (default) or --rebuild them from the loans and withholdings."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--rebuild",
            action="store_true",
            help="recompute every total from scratch and add the difference (safe while the book is written)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not tallies_kept():
            self.stdout.write("This database keeps no totals (SQLite): the dashboard reads the book itself.")
            return
        if options["rebuild"]:
            corrected = tally_rebuild()
            self.stdout.write(f"Rebuilt: {corrected} totals corrected.")
        left = tally_compact()
        self.stdout.write(f"Compacted: {left} rows left.")
