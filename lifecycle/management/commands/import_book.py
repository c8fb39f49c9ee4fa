"""``manage.py import_book FILE [--payments FILE] [--schedule FILE] --cutoff YYYY-MM-DD [--commit] [--user NAME]``.

Migrates a lender's existing loans (see ``lifecycle.book_import``). A dry run by default: every loan is
replayed and rolled back, and the differences with the declared balances are listed. ``--commit`` keeps
the loans that tie. An XLSX workbook may carry the payments and the cronograma as sheets "Pagos" and
"Cronograma". Exit status: 0 when at least one loan ties (or every loan was already imported), 1 when
the files are refused (the errors listed by file and row), 2 when no loan ties.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from asmcredit import roles
from asmcredit.tabular import upload_text
from lifecycle.book_import.reading import PAYMENTS, SCHEDULE, SHEETS, has_sheet
from lifecycle.book_import.services import book_import_create, book_import_run
from lifecycle.models import BookImport


def _day(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--cutoff must be a date YYYY-MM-DD, not {value!r}.") from exc


def _file(path: str | None) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc


class Command(BaseCommand):
    help = "Import the lender's existing loans as opening loans (dry run unless --commit)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the loans (CSV or XLSX)")
        parser.add_argument("--payments", help="the payments made so far (CSV or XLSX)")
        parser.add_argument("--schedule", help="the lender's cronograma lines (CSV or XLSX)")
        parser.add_argument("--cutoff", required=True, help="the date the declared balances are on, YYYY-MM-DD")
        parser.add_argument("--commit", action="store_true", help="keep the loans that tie")
        parser.add_argument("--user", help="the lender administrator importing (default: the first one)")

    def handle(self, *args: Any, **options: Any) -> None:
        cutoff = _day(options["cutoff"])
        loans = _file(options["file"])
        assert loans is not None
        texts = {PAYMENTS: _file(options["payments"]), SCHEDULE: _file(options["schedule"])}
        actor = self._actor(options["user"])
        for name, content in texts.items():  # the other tables as sheets of the loans workbook
            if content is None and has_sheet(loans, SHEETS[name]):
                texts[name] = loans
        as_text = {name: upload_text(content) if content is not None else "" for name, content in texts.items()}
        try:
            batch = book_import_create(
                actor=actor,
                cutoff=cutoff,
                loans=upload_text(loans),
                payments=as_text[PAYMENTS],
                schedule=as_text[SCHEDULE],
                file_name=Path(options["file"]).name,
                commit=options["commit"],
            )
        except (ValidationError, PermissionDenied) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
        batch = book_import_run(batch=batch)
        self._report(batch)
        if batch.status == BookImport.Status.FAILED:
            raise CommandError(f"The files were refused ({len(batch.row_errors)} rows with errors); nothing imported.")
        if batch.tied == 0 and batch.skipped < batch.loans:
            raise CommandError("No loan ties; nothing imported.", returncode=2)

    def _actor(self, username: str | None) -> Any:
        users = get_user_model().objects.filter(is_active=True)
        if username:
            actor = users.filter(username=username).first()
            if actor is None:
                raise CommandError(f"No active user named {username!r}.")
        else:
            actor = (
                users.filter(groups__name=roles.LENDER_ADMIN).order_by("pk").first()
                or users.filter(is_superuser=True).order_by("pk").first()
            )
            if actor is None:
                raise CommandError("No lender administrator: create one or name one with --user.")
        if not roles.has_role(actor, roles.LENDER_ADMIN):
            raise CommandError(f"{actor.get_username()} is not a lender administrator.")
        return actor

    def _report(self, batch: BookImport) -> None:
        out = self.stdout
        mode = "Commit" if batch.mode == BookImport.Mode.COMMIT else "Dry run (nothing kept)"
        out.write(f"{mode} of {batch.file_name}, cut-off {batch.cutoff:%Y-%m-%d}, import #{batch.pk}")
        for error in batch.row_errors:
            out.write(f"  {error['file']} row {error['row']}: " + "; ".join(error["errors"]))
        if batch.status == BookImport.Status.FAILED:
            return
        out.write(f"{'loan':<20} {'row':>5}  {'outcome':<10} detail")
        for line in batch.lines.order_by("row"):
            out.write(f"{line.lender_number:<20} {line.row:>5}  {line.outcome:<10} {line.message}")
            for d in line.differences:
                out.write(
                    f"{'':<20} {'':>5}  {'':<10} {d['field']}: ours {d['ours']}, theirs {d['theirs']}, "
                    f"difference {d['difference']}"
                )
        committing = batch.mode == BookImport.Mode.COMMIT
        verb = "imported" if committing else "would be imported"
        out.write(
            f"{batch.loans} loans: {batch.tied} tie ({batch.imported if committing else batch.tied} {verb}), "
            f"{batch.mismatched} do not tie, {batch.skipped} already imported."
        )
