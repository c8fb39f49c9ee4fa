"""Registering miners: one at a time from the officer's form, or many from a CSV file.

The CSV import is all-or-nothing: every row is checked first (identifiers, REINFO rules, duplicates in
the file and in the database) and the miners are saved in one transaction only when no row has an
error, so a file is either imported whole or not at all and can simply be fixed and uploaded again.

Columns (header row required; English or Spanish names; "," or ";" as separator; UTF-8, with or
without BOM): first_names/nombres, last_names/apellidos, document_type/tipo_documento (DNI or CE,
default DNI), document_number/numero_documento, ruc, gender/sexo (F, M, X), birth_date/fecha_nacimiento,
phone/telefono, ubigeo, role/rol (owner_operator, worker, pallaquera), reinfo_code/codigo_reinfo,
reinfo_status/estado_reinfo (VIGENTE, SUSPENDIDO), reinfo_date/fecha_reinfo,
formalization_stage/etapa_formalizacion. Dates as dd/mm/aaaa or aaaa-mm-dd.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import actor_label_for, audit_record, snapshot
from asmcredit.jobs import job_finish, job_progress
from asmcredit.models import AuditEvent
from miners.identity import IDENTIFIERS, normalize_identifier
from miners.models import Miner

MAX_ROWS = 5000

COLUMNS = (
    "first_names",
    "last_names",
    "document_type",
    "document_number",
    "ruc",
    "gender",
    "birth_date",
    "phone",
    "ubigeo",
    "role",
    "reinfo_code",
    "reinfo_status",
    "reinfo_date",
    "formalization_stage",
)
REQUIRED = ("first_names", "last_names", "document_number", "gender", "ubigeo")
ALIASES = {
    "nombres": "first_names",
    "apellidos": "last_names",
    "tipo_documento": "document_type",
    "tipo_doc": "document_type",
    "numero_documento": "document_number",
    "documento": "document_number",
    "dni": "document_number",
    "sexo": "gender",
    "genero": "gender",
    "fecha_nacimiento": "birth_date",
    "telefono": "phone",
    "celular": "phone",
    "rol": "role",
    "codigo_reinfo": "reinfo_code",
    "estado_reinfo": "reinfo_status",
    "fecha_reinfo": "reinfo_date",
    "etapa_formalizacion": "formalization_stage",
}
ROLE_ALIASES = {"titular": "owner_operator", "operador": "owner_operator", "trabajador": "worker"}
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d")
EDITABLE = frozenset(COLUMNS) | {"association"}


@dataclass
class RowResult:
    line: int  # the line in the file, header = 1
    values: dict[str, str]
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def name(self) -> str:
        return f"{self.values.get('first_names', '')} {self.values.get('last_names', '')}".strip()


@dataclass
class ImportResult:
    rows: list[RowResult]
    errors: list[str] = field(default_factory=list)  # file-level problems (header, size)
    created: int = 0
    dry_run: bool = True
    too_large: bool = False  # over MAX_ROWS: the page answers 413, not a row to fix

    @property
    def ok(self) -> bool:
        return not self.errors and all(row.ok for row in self.rows)

    @property
    def error_rows(self) -> list[RowResult]:
        return [row for row in self.rows if not row.ok]

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "dry_run": self.dry_run,
            "created": self.created,
            "rows": len(self.rows),
            "errors": self.errors,
            "row_errors": [{"line": row.line, "errors": row.errors} for row in self.error_rows],
        }


# --- One miner ---------------------------------------------------------------------------------------


def require_officer(actor: Any) -> None:
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers register miners."))


# DNI, CE and RUC are only letters and digits, so the dashes people type between groups ("45-678-912")
# go with the blanks; a REINFO code keeps its dashes, which are part of the code.
def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    values = dict(values)
    for name in IDENTIFIERS:
        if isinstance(values.get(name), str):
            values[name] = normalize_identifier(name, values[name])
    return values


@transaction.atomic
def miner_create(*, actor: Any, **values: Any) -> Miner:
    """A new miner, validated (identifiers, REINFO rules, uniqueness) and audited."""
    require_officer(actor)
    unknown = set(values) - EDITABLE
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    miner = Miner(**_normalized(values))
    miner.full_clean()
    miner.save()
    audit_record(actor=actor, action="miner.create", obj=miner, after=snapshot(miner))
    return miner


@transaction.atomic
def miner_update(*, miner: Miner, actor: Any, **changes: Any) -> Miner:
    require_officer(actor)
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValidationError({name: _("Unknown field.") for name in unknown})
    miner = Miner.objects.select_for_update(no_key=True).get(pk=miner.pk)  # FK checks need not wait
    before = snapshot(miner)
    for name, value in _normalized(changes).items():
        setattr(miner, name, value)
    miner.full_clean()
    miner.save()
    audit_record(actor=actor, action="miner.update", obj=miner, before=before, after=snapshot(miner))
    return miner


# --- Many miners from a CSV file -----------------------------------------------------------------------


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header (canonical names) and ``(line, row)`` pairs; "," or ";" separated, BOM tolerated."""
    text = text.lstrip("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        raw_header = next(reader)
    except StopIteration:
        return [], []
    header = [ALIASES.get(name.strip().lower(), name.strip().lower()) for name in raw_header]
    rows = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(header)}
        rows.append((reader.line_num, values))
    return header, rows


def _parse_date(value: str) -> dt.date:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(value)


def _choice(value: str, choices: Any, aliases: dict[str, str] | None = None) -> str:
    key = value.strip()
    lowered = key.lower()
    if aliases and lowered in aliases:
        return aliases[lowered]
    for code, _label in choices:
        if code and code.lower() == lowered:
            return code
    raise ValueError(value)


def _row_fields(values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Typed model fields from a CSV row, and the errors met converting them."""
    errors: list[str] = []
    data: dict[str, Any] = {}
    for name in REQUIRED:
        if not values.get(name):
            errors.append(_("%(column)s is required.") % {"column": name})
    data["first_names"] = values.get("first_names", "")
    data["last_names"] = values.get("last_names", "")
    for name in IDENTIFIERS:
        data[name] = normalize_identifier(name, values.get(name, ""))
    data["phone"] = values.get("phone", "")
    data["ubigeo"] = values.get("ubigeo", "").strip()
    conversions: list[tuple[str, Any, dict[str, str] | None, str]] = [
        ("document_type", Miner.DocumentType.choices, None, "DNI"),
        ("gender", Miner.Gender.choices, {"mujer": "F", "hombre": "M", "femenino": "F", "masculino": "M"}, ""),
        ("role", Miner.Role.choices, ROLE_ALIASES, Miner.Role.OWNER_OPERATOR),
        ("reinfo_status", Miner.ReinfoStatus.choices, None, ""),
        ("formalization_stage", Miner.FormalizationStage.choices, None, ""),
    ]
    for name, choices, aliases, default in conversions:
        raw = values.get(name, "")
        if not raw:
            if default:
                data[name] = default
            elif name == "reinfo_status":
                data[name] = ""
            continue
        try:
            data[name] = _choice(raw, choices, aliases)
        except ValueError:
            errors.append(_("%(column)s: %(value)s is not a valid option.") % {"column": name, "value": raw})
    if "formalization_stage" not in data:
        data["formalization_stage"] = (
            Miner.FormalizationStage.REINFO if data.get("reinfo_code") else Miner.FormalizationStage.INFORMAL
        )
        if data.get("role") == Miner.Role.PALLAQUERA:
            data["formalization_stage"] = Miner.FormalizationStage.NOT_APPLICABLE
    for name in ("birth_date", "reinfo_date"):
        raw = values.get(name, "")
        if raw:
            try:
                data[name] = _parse_date(raw)
            except ValueError:
                errors.append(_("%(column)s: %(value)s is not a date (dd/mm/aaaa).") % {"column": name, "value": raw})
    return data, errors


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        out: list[str] = []
        for name, errors in exc.message_dict.items():
            prefix = "" if name == "__all__" else f"{name}: "
            out.extend(f"{prefix}{message}" for message in errors)
        return out
    return list(exc.messages)


def miners_import_csv(
    *,
    text: str,
    actor: Any,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check every row, then (unless ``dry_run`` or any row has an error) save them all in one go.

    ``progress`` is called with a percentage as rows are checked; it runs outside the saving
    transaction, so a progress bar polled from another connection moves while a large file is checked.
    """
    require_officer(actor)
    header, rows = read_csv(text)
    result = ImportResult(rows=[], dry_run=dry_run)
    if not header:
        result.errors.append(_("The file is empty."))
        return result
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        result.errors.append(_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
        return result
    if len(rows) > MAX_ROWS:
        result.errors.append(_("At most %(n)s rows per file.") % {"n": MAX_ROWS})
        result.too_large = True
        return result

    seen: dict[str, dict[str, int]] = {"document": {}, "ruc": {}, "reinfo_code": {}}
    candidates: list[Miner] = []
    for index, (line, values) in enumerate(rows, start=1):
        row = RowResult(line=line, values=values)
        data, row.errors = _row_fields(values)
        keys = {
            "document": f"{data.get('document_type', 'DNI')}:{data['document_number']}",
            "ruc": data["ruc"],
            "reinfo_code": data["reinfo_code"],
        }
        for kind, key in keys.items():
            if key and key.split(":")[-1]:
                if key in seen[kind]:
                    what = {"document": _("the document"), "ruc": _("the RUC"), "reinfo_code": _("the REINFO code")}
                    row.errors.append(
                        _("Repeats %(what)s of line %(line)s.") % {"what": what[kind], "line": seen[kind][key]}
                    )
                else:
                    seen[kind][key] = line
        miner = Miner(**data)
        if not row.errors:
            try:
                miner.full_clean()
            except ValidationError as exc:
                row.errors.extend(_messages(exc))
        candidates.append(miner)
        result.rows.append(row)
        if progress and (index % 50 == 0 or index == len(rows)):
            progress(int(index * 90 / len(rows)))

    if dry_run or not result.ok:
        return result
    with transaction.atomic():
        created = Miner.objects.bulk_create(candidates)
        # One audit row per miner, written in bulk: a 5,000-row file must not take 5,000 round trips.
        AuditEvent.objects.bulk_create(
            AuditEvent(
                actor=actor,
                actor_label=actor_label_for(actor)[:150],
                action="miner.import",
                object_type=Miner._meta.label,
                object_id=str(miner.pk),
                after=snapshot(miner),
            )
            for miner in created
        )
    result.created = len(created)
    if progress:
        progress(100)
    return result


# --- Imports as background jobs (a progress bar polls the JobRun) ----------------------------------------


def miners_import_job(*, job_id: int, text: str, actor_id: int) -> None:
    """Run a confirmed miners CSV import for the JobRun ``job_id``, reporting progress on it."""
    from django.contrib.auth import get_user_model

    from asmcredit.models import JobRun

    job = JobRun.objects.get(pk=job_id)
    actor = get_user_model().objects.get(pk=actor_id)
    result = miners_import_csv(text=text, actor=actor, progress=lambda percent: job_progress(job_id, percent))
    job_finish(job, ok=result.ok, detail=result.as_dict(), rows_touched=result.created)
