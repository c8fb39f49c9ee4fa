"""manage.py regulatory_report --kind rcd|anexo5 --cutoff YYYY-MM-DD -o FILE — an SBS report for a cut-off
date, written to FILE and kept (RegulatoryFile). Exits non-zero with the reason, writing nothing, when no
rating was run that day, no layout is in force or the debtor file does not tie to the ledger. For anexo5,
FILE's extension chooses the CSV or the PDF (``--format`` overrides it); both are kept."""

from __future__ import annotations

import datetime as dt
import getpass
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from reports.regulatory import services
from reports.regulatory.models import ReportLayout


class Command(BaseCommand):
    help = "Generate an SBS report (debtor file RCD / Anexo 6, or Anexo 5 summary) for a cut-off date."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--kind", required=True, choices=ReportLayout.Kind.values)
        parser.add_argument("--cutoff", required=True, help="cut-off date, YYYY-MM-DD (a day the rating ran)")
        parser.add_argument("--format", choices=["txt", "csv", "pdf"], help="anexo5: csv or pdf (default: by -o)")
        parser.add_argument("-o", "--output", required=True, help="file to write")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            cutoff = dt.date.fromisoformat(options["cutoff"])
        except ValueError as exc:
            raise CommandError(f"--cutoff must be a date as YYYY-MM-DD, not {options['cutoff']!r}.") from exc
        output = Path(options["output"])
        if not output.parent.is_dir():
            raise CommandError(f"The folder {output.parent} does not exist.")
        kind = options["kind"]
        wanted = options["format"] or ("txt" if kind == ReportLayout.Kind.RCD else output.suffix.lstrip(".").lower())
        formats = ("txt",) if kind == ReportLayout.Kind.RCD else ("csv", "pdf")
        if wanted not in formats:
            raise CommandError(f"{kind} is written as {' or '.join(formats)}; name the file so or pass --format.")
        try:
            kept = services.regulatory_files_generate(
                kind=kind, cutoff=cutoff, actor=f"manage.py regulatory_report ({getpass.getuser()})"
            )
        except services.REFUSALS as exc:
            raise CommandError(str(exc)) from exc
        chosen = next(one for one in kept if one.format == wanted)
        with chosen.content.open("rb") as source:
            output.write_bytes(source.read())
        repeat = ""
        if chosen.same_as_previous is not None:
            same = chosen.same_as_previous
            repeat = " identical to the file kept before" if same else " DIFFERENT from the file kept before"
        self.stdout.write(
            f"Wrote {output} ({chosen.size:,} bytes, sha256 {chosen.sha256}, layout {chosen.layout_version}){repeat}: "
            f"{chosen.record_counts}, totals {chosen.totals}."
        )
