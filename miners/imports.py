"""Registering miners: one at a time from the officer's form, or many from a CSV or XLSX file.

The file import is all-or-nothing: every row is checked first (identifiers, REINFO rules, duplicates in
the file and in the database) and the miners are saved in one transaction only when no row has an
error, so a file is either imported whole or not at all and can simply be fixed and uploaded again.

The file is read by ``asmcredit.tabular`` (CSV with "," or ";", UTF-8 with or without BOM or Excel's
Windows-1252/Latin-1, or an XLSX workbook: the sheet "Mineros" or the first one). Columns (a header row;
case, accents and blanks do not matter): the template's Spanish headers (``TEMPLATE_COLUMNS``: Nombres,
Apellidos, Tipo de documento, Número de documento, RUC, Sexo, Fecha de nacimiento, Teléfono, Ubigeo, Rol,
Código REINFO, Estado REINFO, Fecha REINFO, Etapa de formalización), the model's English names
(first_names, …) or the short Spanish ones in ``ALIASES`` (nombres, dni, sexo, …); other columns are
ignored. Dates as dd/mm/aaaa, d/m/aaaa, dd-mm-aaaa or aaaa-mm-dd, or date cells. A row's number is the
row Excel shows (the header is row 1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from asmcredit import roles
from asmcredit.audit import actor_label_for, audit_record, snapshot
from asmcredit.jobs import job_finish, job_progress
from asmcredit.models import AuditEvent
from asmcredit.tabular import (
    Cell,
    CellError,
    TableError,
    TemplateColumn,
    TooManyRows,
    header_key,
    parse_date,
    parse_text,
    read_table,
)
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
EDITABLE = frozenset(COLUMNS) | {"association"}


@dataclass
class RowResult:
    line: int  # the row in the file as Excel shows it, header = 1
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


# --- Many miners from a CSV or XLSX file -----------------------------------------------------------------


# The headers are the file format, Spanish whatever the user's language; the importer also reads the
# English names (the model's fields) and the aliases above. The example row imports as it is.
TEMPLATE_COLUMNS: tuple[TemplateColumn, ...] = (
    TemplateColumn("Nombres", True, gettext_lazy("Text."), "Rosa"),
    TemplateColumn("Apellidos", True, gettext_lazy("Text."), "Huamán Quispe"),
    TemplateColumn("Tipo de documento", False, gettext_lazy("DNI or CE; empty means DNI."), "DNI"),
    TemplateColumn(
        "Número de documento",
        True,
        gettext_lazy("DNI: 8 digits; CE: up to 12 letters or digits. Keep the column as text in Excel."),
        "41234567",
        text=True,
    ),
    TemplateColumn("RUC", False, gettext_lazy("11 digits; a personal RUC (10…) contains the DNI."), text=True),
    TemplateColumn("Sexo", True, gettext_lazy("F, M or X (also: mujer, hombre)."), "F"),
    TemplateColumn("Fecha de nacimiento", False, gettext_lazy("dd/mm/aaaa."), dt.date(1985, 5, 12)),
    TemplateColumn("Teléfono", False, gettext_lazy("Text, e.g. a mobile number."), "987654321", text=True),
    TemplateColumn("Ubigeo", True, gettext_lazy("The district's 6-digit INEI code."), "040112", text=True),
    TemplateColumn("Rol", False, gettext_lazy("titular, trabajador or pallaquera; empty means titular."), "titular"),
    TemplateColumn("Código REINFO", False, gettext_lazy("The miner's REINFO code, if registered."), "REINFO-1"),
    TemplateColumn("Estado REINFO", False, gettext_lazy("VIGENTE or SUSPENDIDO; needs a code."), "VIGENTE"),
    TemplateColumn("Fecha REINFO", False, gettext_lazy("dd/mm/aaaa."), dt.date(2022, 3, 1)),
    TemplateColumn(
        "Etapa de formalización",
        False,
        gettext_lazy(
            "informal, reinfo, igafom, access_agreement, formal or not_applicable; empty: reinfo with a "
            "REINFO code, else informal."
        ),
    ),
)
TEMPLATE_SHEET = "Mineros"
_NAMES = {
    **{header_key(name): name for name in COLUMNS},
    **{header_key(alias): name for alias, name in ALIASES.items()},
    **{header_key(column.header): name for name, column in zip(COLUMNS, TEMPLATE_COLUMNS, strict=True)},
}


def _choice(value: str, choices: Any, aliases: dict[str, str] | None = None) -> str:
    key = value.strip()
    lowered = key.lower()
    if aliases and lowered in aliases:
        return aliases[lowered]
    for code, _label in choices:
        if code and code.lower() == lowered:
            return code
    raise ValueError(value)


def _texts(cells: dict[str, Cell]) -> dict[str, str]:
    # An ubigeo is always 6 digits: a number cell that lost its leading zero in Excel gets it back.
    return {name: parse_text(cell, width=6 if name == "ubigeo" else None) for name, cell in cells.items()}


def _row_fields(cells: dict[str, Cell], values: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """Typed model fields from a row's cells (``values``: the same as text), and the errors met."""
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
    data["ubigeo"] = values.get("ubigeo", "")
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
        try:
            data[name] = parse_date(cells.get(name))
        except CellError as exc:
            errors.append(f"{name}: {exc.message}")
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
    text: str | bytes,
    actor: Any,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Check every row of a CSV or XLSX file — ``text`` as ``asmcredit.tabular.upload_text`` keeps it,
    or the file's bytes — then (unless ``dry_run`` or any row has an error) save them all in one go.

    ``progress`` is called with a percentage as rows are checked; it runs outside the saving
    transaction, so a progress bar polled from another connection moves while a large file is checked.
    """
    require_officer(actor)
    result = ImportResult(rows=[], dry_run=dry_run)
    try:
        table = read_table(text, max_rows=MAX_ROWS, sheet=TEMPLATE_SHEET)
    except TableError as exc:
        result.errors.append(exc.message)
        result.too_large = isinstance(exc, TooManyRows)
        return result
    names = [_NAMES.get(header_key(name)) for name in table.header]
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        result.errors.append(_("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
        return result
    rows = list(table.records(names))

    seen: dict[str, dict[str, int]] = {"document": {}, "ruc": {}, "reinfo_code": {}}
    candidates: list[Miner] = []
    for index, (line, cells) in enumerate(rows, start=1):
        row = RowResult(line=line, values=_texts(cells))
        data, row.errors = _row_fields(cells, row.values)
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
    """Run a confirmed miners import (``text`` as ``upload_text`` keeps the file) for the JobRun
    ``job_id``, reporting progress on it."""
    from django.contrib.auth import get_user_model

    from asmcredit.models import JobRun

    job = JobRun.objects.get(pk=job_id)
    actor = get_user_model().objects.get(pk=actor_id)
    result = miners_import_csv(text=text, actor=actor, progress=lambda percent: job_progress(job_id, percent))
    job_finish(job, ok=result.ok, detail=result.as_dict(), rows_touched=result.created)
