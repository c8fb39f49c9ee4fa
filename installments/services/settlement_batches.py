"""Settlements in batches: the bulk API, the buyer's CSV upload and the officers' historical imports.

All-or-nothing: every row is validated first (``buyers.settlement_input``: types, ranges, the miner is one
of the buyer's suppliers, the lot code is new); only if all are valid are the rows posted, in order,
through ``settlement_post_many`` (``settlement_post`` for a batch: it values each lot and withholds
installments), all inside one transaction. If any row fails — in validation or when posted — nothing is
saved and the result carries the errors of every bad row, field by field.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.jobs import job_finish, job_progress
from buyers.models import Buyer, Settlement
from buyers.settlement_input import (
    ImportResult,
    SettlementContext,
    SettlementInput,
    parse_settlements_csv,
    read_csv_text,
    validate_row,
)
from installments.services.settlements import SettlementBatchError, settlement_post_many


class _Rollback(Exception):
    """Raised inside a dry run's transaction to undo it."""


def _service_errors(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


def settlements_post_bulk(
    *,
    buyer: Buyer,
    rows: Sequence[Any],
    actor: Any,
    source: str = Settlement.Source.API,
    dry_run: bool = False,
    row_numbers: Sequence[int] | None = None,
) -> ImportResult:
    """Post ``rows`` (raw mappings: JSON objects or CSV records) for ``buyer``, all or nothing.

    ``row_numbers`` names the rows in errors (CSV line numbers); by default their 0-based positions.
    With ``dry_run`` everything is computed, withholdings included, and then rolled back.
    """
    numbers = list(row_numbers) if row_numbers is not None else list(range(len(rows)))
    result = ImportResult(rows=len(rows), dry_run=dry_run)
    if not rows:
        result.errors[numbers[0] if numbers else 0] = {"non_field_errors": [_("There are no settlements to post.")]}
        return result
    context = SettlementContext.load(buyer, [row for row in rows if isinstance(row, Mapping)])
    seen_lots: set[str] = set()
    validated: list[SettlementInput] = []
    for number, row in zip(numbers, rows, strict=True):
        settlement, errors = validate_row(row, context, seen_lots)
        if errors:
            result.errors[number] = errors
        elif settlement is not None:
            validated.append(settlement)
    if result.errors:
        return result

    def post() -> None:
        try:
            # One batch: the miners' loans are locked and replayed once, every row is written at the end.
            result.outcomes = settlement_post_many(buyer=buyer, actor=actor, settlements=validated, source=source)
        except SettlementBatchError as exc:
            for index, error in exc.errors.items():
                result.errors[numbers[index]] = _service_errors(error)

    if not dry_run:
        post()  # one transaction of its own: every row is saved or none
        return result
    try:
        with transaction.atomic():
            post()
            raise _Rollback
    except _Rollback:
        if result.errors:
            result.outcomes = []
    return result


def settlements_import_csv(
    *,
    buyer: Buyer,
    actor: Any,
    file: IO[Any] | None = None,
    text: str | None = None,
    dry_run: bool = False,
    source: str = Settlement.Source.CSV,
) -> ImportResult:
    """Import a CSV of settlements for ``buyer`` (the upload page, officers' historical imports).

    Nothing is saved unless every row is valid and posts; errors are keyed by the file's line numbers.
    """
    records, numbers, errors = parse_settlements_csv(read_csv_text(file, text))
    if errors:
        return ImportResult(rows=len(records), errors=errors, dry_run=dry_run)
    return settlements_post_bulk(
        buyer=buyer, rows=records, actor=actor, source=source, dry_run=dry_run, row_numbers=numbers
    )


def settlements_import_job(*, job_id: int, text: str, actor_id: int, buyer_id: int) -> None:
    """Run a confirmed settlements CSV import  for the JobRun ``job_id``."""
    from django.contrib.auth import get_user_model

    from asmcredit.models import JobRun

    job = JobRun.objects.get(pk=job_id)
    actor = get_user_model().objects.get(pk=actor_id)
    buyer = Buyer.objects.get(pk=buyer_id)
    job_progress(job_id, 10)
    result = settlements_import_csv(buyer=buyer, actor=actor, text=text)
    created = len(result.outcomes) if result.ok else 0
    errors = [
        {"line": line, "errors": [f"{name}: {m}" for name, messages in fields.items() for m in messages]}
        for line, fields in sorted(result.errors.items())
    ]
    withheld = sum((getattr(o, "withholding_amount", 0) or 0 for o in result.outcomes), 0)
    job_finish(
        job,
        ok=result.ok,
        detail={"rows": result.rows, "created": created, "row_errors": errors, "withheld": str(withheld)},
        rows_touched=created,
    )
