"""A settlement row as buyers send it: its fields and bounds, checked once for every way in.

The bulk API, the buyer's file upload and the officers' historical imports validate each row here (types,
ranges, the miner is one of the buyer's suppliers, the lot code is new); servicing
(``installments.services.settlement_batches``) posts the valid rows, all or nothing.

Row fields (CSV header names or JSON keys; DOMAIN.md §4) and their bounds are declared once, in
``SETTLEMENT_FIELDS``: the row form, the CSV columns (with their Spanish aliases) and the API's documented
schema are built from it. A valid row becomes a ``SettlementInput``, what ``settlement_post`` takes.

A file (CSV or XLSX, ``parse_settlements_csv``) is read by ``asmcredit.tabular``: its amounts and dates
become the text the row form reads (a decimal point, ISO dates), and a cell that cannot be read — an
ambiguous ``1.234`` — is that field's error for the row, reported with the row's other errors.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any, Literal

from django import forms
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from asmcredit.sql import placeholders
from asmcredit.tabular import (
    Cell,
    CellError,
    TableError,
    TemplateColumn,
    TooManyRows,
    decimal_mark_of,
    header_key,
    is_blank,
    parse_date,
    parse_decimal,
    parse_text,
    read_table,
)
from asmcredit.text import validate_no_control_characters
from buyers.models import Buyer, Settlement, SupplierRelationship
from buyers.selectors import buyer_terms_versions, price_references
from buyers.terms import AgreedTerms, TermsInForce
from buyers.valuation import g_t_to_oz_tc, oz_tc_to_g_t
from miners.identity import normalize_identifier
from miners.models import Miner

MAX_BULK_ROWS = 1000
MAX_CSV_ROWS = 5000
EARLIEST_DATE = dt.date(2000, 1, 1)
DEFAULT_CURRENCY = "USD"

# Upper bounds a real lot stays far within: a value past one is a typo or a unit mixed up (a grade of
# 999,999 oz/TC was once accepted and valued at US$ 27.6 bn), refused before it reaches a withholding.
# Gold ore worth a miner's trip is ~0.2–2 oz/TC; bonanza vein ore and hand-picked (pallaqueo) ore reach a few
# oz/TC, exceptionally 10–20. 50 oz/TC (1,714 g/t, 0.17 % gold) leaves room for those and refuses a grade
# typed in g/t as oz/TC (×34) or with a misplaced decimal point.
MAX_GRADE_OZ_TC = Decimal(50)
MAX_GRADE_G_T = oz_tc_to_g_t(MAX_GRADE_OZ_TC)  # 1714.2850: the same bound, so either unit is held alike
# An artisanal lot is what a truck or a few animals carry to the plant: tens of wet tonnes, rarely 100+.
MAX_WET_TONNES = Decimal(1000)
# Gold has traded between ~US$ 250/oz (1999) and ~US$ 4,500/oz (2025): the range leaves decades of room
# either way and refuses a price typed in thousands (3.32 for 3,322.10) or with extra digits.
MIN_GOLD_PRICE_USD_OZ = Decimal(100)
MAX_GOLD_PRICE_USD_OZ = Decimal(20000)
# PEN per US$: 2.7–4.1 since 2000; refuses the inverse (0.27) or a rate in céntimos.
MIN_EXCHANGE_RATE = Decimal(1)
MAX_EXCHANGE_RATE = Decimal(10)
# A deduction per TMS, per short ton or per ounce: real ones are tens to a few hundred US$ (RC ~US$ 80/oz,
# maquila ~US$ 110/TC); US$ 5,000 is above any of them and below a whole ounce's price at the top bound.
MAX_COST_USD = Decimal(5000)


@dataclass(frozen=True)
class FieldSpec:
    """One field of a settlement row and the bounds it is held to: the one declaration from which the
    row form (every way in validates with it), the CSV columns and the API's documented schema
    (``installments.api.buyers.SettlementInputSerializer``) are built, so the schema shows exactly the
    bounds enforced."""

    name: str
    kind: Literal["integer", "text", "choice", "date", "decimal"]
    required: bool = True
    min_value: int | Decimal | None = None
    max_value: int | Decimal | None = None
    max_digits: int | None = None
    decimal_places: int | None = None
    max_length: int | None = None
    choices: tuple[tuple[str, Any], ...] = ()  # (value, label)
    default: str | None = None  # what an omitted value means; the field is then optional
    cost: bool = False  # a deduction in US$ (DOMAIN.md §4): optional, 0 when omitted
    csv_aliases: tuple[str, ...] = ()  # Spanish column names as buyers' spreadsheets say them
    help_text: str = ""

    @property
    def numeric(self) -> bool:
        return self.kind in ("integer", "decimal")

    def int_bound(self, which: Literal["min", "max"]) -> int | None:
        bound = self.min_value if which == "min" else self.max_value
        return None if bound is None else int(bound)

    def form_field(self) -> forms.Field:
        required = self.required and self.default is None
        if self.kind == "integer":
            return forms.IntegerField(
                required=required, min_value=self.int_bound("min"), max_value=self.int_bound("max")
            )
        if self.kind == "decimal":
            return forms.DecimalField(
                max_digits=self.max_digits,
                decimal_places=self.decimal_places,
                required=required,
                min_value=self.min_value,
                max_value=self.max_value,
            )
        if self.kind == "choice":
            return forms.ChoiceField(required=required, choices=list(self.choices))
        if self.kind == "date":
            return forms.DateField(required=required, input_formats=["%Y-%m-%d"])
        # A control character (C0 but tab/newline/CR, DEL) in a lot code or a price source is a field error.
        return forms.CharField(
            required=required, max_length=self.max_length, validators=[validate_no_control_characters]
        )


def _money(
    name: str,
    *,
    required: bool = True,
    cost: bool = False,
    min_value: Decimal = Decimal(0),
    max_value: Decimal | None = None,
    **kwargs: Any,
) -> FieldSpec:
    """An amount in US$ to the cent, never negative; a cost (a deduction per TMS, short ton or ounce) is
    at most ``MAX_COST_USD``."""
    return FieldSpec(
        name,
        "decimal",
        required=required and not cost,
        min_value=min_value,
        max_value=MAX_COST_USD if cost and max_value is None else max_value,
        max_digits=14,
        decimal_places=2,
        cost=cost,
        **kwargs,
    )


SETTLEMENT_FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec(
        "miner",
        "integer",
        required=False,
        min_value=1,
        max_value=2**62,
        help_text="The miner's id — or give miner_document.",
    ),
    FieldSpec(
        "miner_document",
        "text",
        required=False,
        max_length=12,
        csv_aliases=("dni", "documento"),
        help_text="The miner's DNI or CE number.",
    ),
    FieldSpec(
        "miner_document_type",
        "choice",
        required=False,
        choices=tuple(Miner.DocumentType.choices),
        csv_aliases=("tipo_documento",),
        help_text="DNI or CE, when a number could be either.",
    ),
    FieldSpec("lot_code", "text", max_length=40, csv_aliases=("lote",)),
    FieldSpec(
        "settled_on",
        "date",
        csv_aliases=("fecha",),
        help_text="YYYY-MM-DD, from SETTLEMENT_MAX_AGE_DAYS days ago (400 by default) to tomorrow.",
    ),
    FieldSpec(
        "currency",
        "choice",
        choices=(("USD", "USD"), ("PEN", "PEN")),
        default=DEFAULT_CURRENCY,
        csv_aliases=("moneda",),
        help_text="Currency the miner is paid in.",
    ),
    FieldSpec(
        "exchange_rate",
        "decimal",
        min_value=MIN_EXCHANGE_RATE,
        max_value=MAX_EXCHANGE_RATE,
        max_digits=10,
        decimal_places=4,
        csv_aliases=("tipo_cambio",),
        help_text="PEN per US$.",
    ),
    FieldSpec(
        "wet_tonnes",
        "decimal",
        min_value=Decimal("0.001"),
        max_value=MAX_WET_TONNES,
        max_digits=12,
        decimal_places=3,
        csv_aliases=("tmh",),
        help_text="TMH.",
    ),
    FieldSpec(
        "moisture_pct",
        "decimal",
        min_value=Decimal(0),
        max_value=Decimal("99.99"),
        max_digits=5,
        decimal_places=2,
        csv_aliases=("h2o", "h2o_pct"),
        help_text="H2O %.",
    ),
    FieldSpec(
        "grade_oz_tc",
        "decimal",
        required=False,
        min_value=Decimal(0),
        max_value=MAX_GRADE_OZ_TC,
        max_digits=10,
        decimal_places=4,
        csv_aliases=("ley_oz_tc",),
        help_text="Ley, oz/TC.",
    ),
    FieldSpec(
        "grade_g_t",
        "decimal",
        required=False,
        min_value=Decimal(0),
        max_value=MAX_GRADE_G_T,
        max_digits=12,
        decimal_places=4,
        csv_aliases=("ley_g_t",),
        help_text="Or ley in g/t.",
    ),
    FieldSpec(
        "recovery",
        "decimal",
        min_value=Decimal("0.0001"),
        max_value=Decimal(1),
        max_digits=5,
        decimal_places=4,
        csv_aliases=("recuperacion",),
        help_text="Fraction, e.g. 0.84.",
    ),
    _money(
        "gold_price_usd_oz",
        min_value=MIN_GOLD_PRICE_USD_OZ,
        max_value=MAX_GOLD_PRICE_USD_OZ,
        csv_aliases=("inter",),
        help_text="INTER, US$/oz.",
    ),
    FieldSpec("gold_price_on", "date", required=False),
    FieldSpec("gold_price_source", "text", required=False, max_length=60),
    _money("commercial_deduction_usd_oz", cost=True, csv_aliases=("rc",)),
    _money(
        "maquila_usd_tc",
        cost=True,
        csv_aliases=("maquila",),
        help_text="US$ per short ton. Omitted or blank: the buyer's agreed scale for the lot's grade, in force "
        "on the settlement date (a 400 on this field when it has no band for that grade); 0 means 0.",
    ),
    _money("reagents_usd_tms", cost=True, csv_aliases=("consumos",)),
    _money("freight_usd_tms", cost=True, csv_aliases=("flete",)),
    _money("other_usd_tms", cost=True, csv_aliases=("otros",)),
    _money(
        "declared_payable",
        required=False,
        csv_aliases=("monto_declarado", "pagable_declarado"),
        help_text="The payable the buyer computed, US$.",
    ),
)
FIELD_SPECS = {spec.name: spec for spec in SETTLEMENT_FIELDS}
ROW_FIELDS = tuple(FIELD_SPECS)
COST_FIELDS = tuple(spec.name for spec in SETTLEMENT_FIELDS if spec.cost)
# An omitted maquila is not 0: it comes from the buyer's agreed scale (DOMAIN.md §4).
SCALE_FIELD = "maquila_usd_tc"
NUMERIC_FIELDS = frozenset(spec.name for spec in SETTLEMENT_FIELDS if spec.numeric)
CSV_ALIASES = {alias: spec.name for spec in SETTLEMENT_FIELDS for alias in spec.csv_aliases}
HEADER_ROW = 1
# The file-level error of a CSV longer than ``MAX_CSV_ROWS`` is keyed by this name, so the upload page can
# answer 413 for it (``ImportResult.too_large``) rather than a 400 for a row to fix.
TOO_MANY_ROWS = "rows"

Errors = dict[int, dict[str, list[str]]]


@dataclass(frozen=True)
class ErrorLine:
    """One message of a file's error report: the row as Excel shows it, the field, the template's
    column header for it (blank for "file", "header" and the like) and the message."""

    line: int
    field: str
    column: str
    message: str


@dataclass
class ImportResult:
    """What a batch did. ``errors`` maps a row — its line in a CSV file (the header is line 1), or its
    0-based position in a bulk request — to field → messages; empty when every row was posted.
    ``outcomes`` are the SettlementOutcomes in row order (for a dry run, computed and rolled back)."""

    rows: int
    errors: Errors = field(default_factory=dict)
    outcomes: list[Any] = field(default_factory=list)
    dry_run: bool = False

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def too_large(self) -> bool:
        """The file was refused whole for having more than ``MAX_CSV_ROWS`` rows."""
        return any(TOO_MANY_ROWS in fields for fields in self.errors.values())

    @property
    def saved(self) -> bool:
        return self.ok and not self.dry_run

    def error_lines(self) -> list[ErrorLine]:
        """One line per message, in row order: the upload pages' error report."""
        return [
            ErrorLine(row, name, TEMPLATE_HEADERS.get(name, ""), message)
            for row, fields in sorted(self.errors.items())
            for name, messages in fields.items()
            for message in messages
        ]

    def field_errors(self, prefix: str = "rows") -> dict[str, list[str]]:
        """Flat ``rows.<n>.<field>`` → messages, the API's error shape for a bulk request."""
        return {
            f"{prefix}.{row}.{name}": messages
            for row, fields in sorted(self.errors.items())
            for name, messages in fields.items()
        }


class SettlementRowForm(forms.Form):
    """One row's types and ranges (its fields built from ``SETTLEMENT_FIELDS``); the lookups (miner,
    supplier, lot codes) come from ``SettlementContext``."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        latest = today + dt.timedelta(days=1)
        for name in ("settled_on", "gold_price_on"):
            value = data.get(name)
            if value is not None and not EARLIEST_DATE <= value <= latest:
                self.add_error(name, gettext_lazy("The date must be between 2000-01-01 and tomorrow."))
        # A settlement withholds for a loan's current installments; one from long ago is a wrong year or a
        # replayed file, and would shift withholdings and ratings already reported.
        max_age = settings.SETTLEMENT_MAX_AGE_DAYS
        settled_on = data.get("settled_on")
        if settled_on is not None and "settled_on" not in self.errors and settled_on < today - dt.timedelta(max_age):
            self.add_error(
                "settled_on",
                _("A settlement older than %(days)s days (before %(date)s) cannot be posted.")
                % {"days": max_age, "date": (today - dt.timedelta(max_age)).isoformat()},
            )
        has_id = data.get("miner") is not None
        has_document = bool(data.get("miner_document"))
        if has_id == has_document and "miner" not in self.errors and "miner_document" not in self.errors:
            self.add_error("miner", gettext_lazy("Give either the miner's id or its document number."))
        has_oz = data.get("grade_oz_tc") is not None
        has_g = data.get("grade_g_t") is not None
        if has_oz == has_g and "grade_oz_tc" not in self.errors and "grade_g_t" not in self.errors:
            self.add_error("grade_oz_tc", gettext_lazy("Give the grade either in oz/TC or in g/t, not both."))
        return data


class _SharedFields(dict[str, forms.Field]):
    """A form's ``base_fields`` that every bound form shares instead of deep-copying: validating a row
    only reads its fields, and copying 21 fields (with their widgets) for every row cost more than
    validating them."""

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedFields:
        return _SharedFields(self)


SettlementRowForm.base_fields = SettlementRowForm.declared_fields = _SharedFields(
    {spec.name: spec.form_field() for spec in SETTLEMENT_FIELDS}
)


@dataclass(frozen=True)
class SettlementInput:
    """One settlement ready to post (``installments.services.settlement_post``): a row's fields once
    validated, with the miner resolved (from ``miner`` or ``miner_document``/``miner_document_type``),
    the grade in oz/TC (``grade_g_t`` converted), the currency and the costs defaulted, and the declared
    payable named for its currency.

    ``maquila_usd_tc`` None means the row omitted it: the buyer's scale in force on the settlement date
    applies (``installments.services`` takes it from ``terms``, or reads the terms itself). ``terms`` is
    what the row is valued and checked against, read once for the batch (``SettlementContext``)."""

    miner: Miner
    lot_code: str
    settled_on: dt.date
    currency: str
    exchange_rate: Decimal
    wet_tonnes: Decimal
    moisture_pct: Decimal
    grade_oz_tc: Decimal
    recovery: Decimal
    gold_price_usd_oz: Decimal
    commercial_deduction_usd_oz: Decimal = Decimal(0)
    maquila_usd_tc: Decimal | None = None
    reagents_usd_tms: Decimal = Decimal(0)
    freight_usd_tms: Decimal = Decimal(0)
    other_usd_tms: Decimal = Decimal(0)
    declared_payable_usd: Decimal | None = None
    gold_price_on: dt.date | None = None
    gold_price_source: str = ""
    maquila_source: str = Settlement.MaquilaSource.STATED
    terms: TermsInForce | None = None


def _lookup_text(value: Any, max_length: int) -> str:
    """A raw value fit to look up (the row's own validation reports what is wrong with the rest)."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    text = str(value).strip()
    return "" if len(text) > max_length or "\x00" in text else text


@dataclass
class SettlementContext:
    """Everything the rows of one batch look up, loaded with a fixed number of queries: the miners they
    name among the buyer's current suppliers, and the lot codes the buyer already used."""

    buyer: Buyer
    miners_by_id: dict[int, Miner]
    miners_by_document: dict[str, list[Miner]]
    existing_lots: set[str]
    terms_versions: list[AgreedTerms] = field(default_factory=list)
    references: list[tuple[dt.date, Decimal]] = field(default_factory=list)

    def terms_on(self, on: dt.date) -> TermsInForce:
        """The buyer's agreed terms and the lender's price reference in force on ``on``."""
        return TermsInForce.choose(self.terms_versions, self.references, on)

    @classmethod
    def load(cls, buyer: Buyer, rows: Sequence[Mapping[str, Any]]) -> SettlementContext:
        ids, documents, lots = set(), set(), set()
        for row in rows:
            value = _lookup_text(row.get("miner"), 18)
            if value.isdigit():
                ids.add(int(value))
            document = _lookup_text(row.get("miner_document"), 12)
            if document:
                documents.add(normalize_identifier("document_number", document))
            lot = _lookup_text(row.get("lot_code"), 40)
            if lot:
                lots.add(lot)
        # Only the buyer's current suppliers can be named (anyone else gets the same "not a supplier"), so
        # they are looked up through the buyer's relationships. Written as SQL, as the settlement post's
        # other reads are (``installments.services``): one API request posts one settlement.
        named, params = [], [buyer.pk, SupplierRelationship.Status.ENDED]
        if ids:
            named.append(f"m.id IN ({placeholders(ids)})")
            params.extend(sorted(ids))
        if documents:
            named.append(f"m.document_number IN ({placeholders(documents)})")
            params.extend(sorted(documents))
        miners = (
            list(
                Miner.objects.raw(
                    f"SELECT m.* FROM {Miner._meta.db_table} m "  # noqa: S608 - names from the models, values as params
                    f"JOIN {SupplierRelationship._meta.db_table} r ON r.miner_id = m.id "
                    f"WHERE r.buyer_id = %s AND r.status <> %s AND ({' OR '.join(named)})",
                    params,
                )
            )
            if named
            else []
        )
        by_document: dict[str, list[Miner]] = {}
        for miner in miners:
            by_document.setdefault(miner.document_number, []).append(miner)
        existing: set[str] = set()
        if lots:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT lot_code FROM {Settlement._meta.db_table} "  # noqa: S608
                    f"WHERE buyer_id = %s AND lot_code IN ({placeholders(lots)})",
                    [buyer.pk, *sorted(lots)],
                )
                existing = {lot for (lot,) in cursor.fetchall()}
        # Every version of the buyer's terms and the lender's references (a handful of rows each): each row
        # is valued against those in force on its own date.
        return cls(
            buyer,
            {m.pk: m for m in miners},
            by_document,
            existing,
            terms_versions=buyer_terms_versions(buyer=buyer),
            references=price_references(),
        )

    def resolve_miner(self, data: Mapping[str, Any]) -> tuple[Miner | None, str, str]:
        """(miner, field, message): the supplier this row names, or the field to blame and why.

        Another buyer's miner and a miner that does not exist get the same answer, so a buyer cannot
        probe the lender's register."""
        not_supplier = _("This miner is not one of this buyer's suppliers.")
        if data.get("miner") is not None:
            miner = self.miners_by_id.get(data["miner"])
            if miner is None:
                return None, "miner", not_supplier
            return miner, "", ""
        candidates = [
            m
            for m in self.miners_by_document.get(normalize_identifier("document_number", data["miner_document"]), [])
            if not data.get("miner_document_type") or m.document_type == data["miner_document_type"]
        ]
        if not candidates:
            return None, "miner_document", not_supplier
        if len(candidates) > 1:
            return None, "miner_document_type", _("Two suppliers have this number; say DNI or CE.")
        return candidates[0], "", ""


def _scalar_or_error(value: Any) -> tuple[str, str | None]:
    if value is None:
        return "", None
    if isinstance(value, Unreadable):
        return "", value.message
    if isinstance(value, dict | list | tuple | set):
        return "", _("Expected a single value.")
    if isinstance(value, bool):
        return "", _("Expected a number or text, not true/false.")
    return str(value), None


def validate_row(
    row: Any, context: SettlementContext, seen_lots: set[str]
) -> tuple[SettlementInput | None, dict[str, list[str]]]:
    """A raw row → the settlement to post, or the row's field errors."""
    if not isinstance(row, Mapping):
        return None, {"non_field_errors": [_("Each row must be an object with the settlement's fields.")]}
    errors: dict[str, list[str]] = {}
    raw: dict[str, str] = {}
    for name in ROW_FIELDS:
        value, problem = _scalar_or_error(row.get(name))
        if problem:
            errors[name] = [problem]
        raw[name] = value.strip()
    form = SettlementRowForm(data=raw)
    if not form.is_valid():
        unread = set(errors)  # its own message says what is wrong; "required" would only add noise
        for name, messages in form.errors.items():
            target = "non_field_errors" if name == "__all__" else name
            if target not in unread:
                errors.setdefault(target, []).extend(str(m) for m in messages)
    if errors:
        return None, errors
    data = form.cleaned_data
    miner, bad_field, message = context.resolve_miner(data)
    if miner is None:
        return None, {bad_field: [message]}
    lot_code = data["lot_code"]
    if lot_code in context.existing_lots:
        return None, {"lot_code": [_("This buyer already posted a settlement with this lot code.")]}
    if lot_code in seen_lots:
        return None, {"lot_code": [_("This lot code appears twice in the batch.")]}
    grade = data["grade_oz_tc"] if data["grade_oz_tc"] is not None else g_t_to_oz_tc(data["grade_g_t"])
    costs = {name: data[name] if data[name] is not None else Decimal(0) for name in COST_FIELDS}
    terms = context.terms_on(data["settled_on"])
    maquila_source = Settlement.MaquilaSource.STATED
    if data[SCALE_FIELD] is None:
        scale = terms.scale_maquila(grade)
        if scale is None:
            return None, {SCALE_FIELD: [terms.no_scale_message(grade)]}
        costs[SCALE_FIELD], maquila_source = scale, Settlement.MaquilaSource.SCALE
    seen_lots.add(lot_code)
    settlement = SettlementInput(
        miner=miner,
        lot_code=lot_code,
        settled_on=data["settled_on"],
        currency=data["currency"] or DEFAULT_CURRENCY,
        exchange_rate=data["exchange_rate"],
        wet_tonnes=data["wet_tonnes"],
        moisture_pct=data["moisture_pct"],
        grade_oz_tc=grade,
        recovery=data["recovery"],
        gold_price_usd_oz=data["gold_price_usd_oz"],
        declared_payable_usd=data["declared_payable"],
        gold_price_on=data["gold_price_on"],
        gold_price_source=data["gold_price_source"],
        maquila_source=maquila_source,
        terms=terms,
        **costs,
    )
    return settlement, {}


# --- Files: the buyer's upload and the officers' imports -------------------------------------------------

# The template's headers: the file format, Spanish whatever the user's language (the importer also reads
# the field names and ``csv_aliases``). ``miner`` (the id) is for systems, not for a spreadsheet.
TEMPLATE_SHEET = "Liquidaciones"
TEMPLATE_HEADERS = {
    "miner_document": "Documento",
    "miner_document_type": "Tipo de documento",
    "lot_code": "Lote",
    "settled_on": "Fecha",
    "currency": "Moneda",
    "exchange_rate": "Tipo de cambio",
    "wet_tonnes": "TMH",
    "moisture_pct": "H2O %",
    "grade_oz_tc": "Ley oz/TC",
    "grade_g_t": "Ley g/t",
    "recovery": "Recuperación",
    "gold_price_usd_oz": "INTER",
    "gold_price_on": "Fecha INTER",
    "gold_price_source": "Fuente INTER",
    "commercial_deduction_usd_oz": "RC",
    "maquila_usd_tc": "Maquila",
    "reagents_usd_tms": "Consumos",
    "freight_usd_tms": "Flete",
    "other_usd_tms": "Otros",
    "declared_payable": "Monto declarado",
}
_COLUMN_NAMES = {
    **{header_key(name): name for name in ROW_FIELDS},
    **{header_key(alias): name for alias, name in CSV_ALIASES.items()},
    **{header_key(header): name for name, header in TEMPLATE_HEADERS.items()},
}


_MEANINGS = {
    "miner_document": gettext_lazy("The miner's DNI or CE number; the miner must be one of the buyer's suppliers."),
    "miner_document_type": gettext_lazy("DNI or CE, only when a number could be either."),
    "lot_code": gettext_lazy("The lot's code, never repeated by the buyer."),
    "settled_on": gettext_lazy("The settlement date, at most %(days)s days ago."),
    "currency": gettext_lazy("The currency the miner is paid in; empty means USD."),
    "exchange_rate": gettext_lazy("Soles per US dollar."),
    "wet_tonnes": gettext_lazy("Wet metric tonnes (TMH)."),
    "moisture_pct": gettext_lazy("Moisture, in percent."),
    "grade_oz_tc": gettext_lazy("Grade in oz per short ton; or fill Ley g/t instead."),
    "grade_g_t": gettext_lazy("Grade in g/t, when Ley oz/TC is empty."),
    "recovery": gettext_lazy("Recovery as a fraction, e.g. 0.84."),
    "gold_price_usd_oz": gettext_lazy("International gold price (INTER), US$ per ounce."),
    "gold_price_on": gettext_lazy("Date of that price (optional)."),
    "gold_price_source": gettext_lazy("Source of that price (optional)."),
    "commercial_deduction_usd_oz": gettext_lazy("Commercial deduction (RC), US$ per ounce; empty means 0."),
    "maquila_usd_tc": gettext_lazy(
        "Processing charge, US$ per short ton; empty: the buyer's agreed scale for the lot's grade."
    ),
    "reagents_usd_tms": gettext_lazy("US$ per dry tonne; empty means 0."),
    "freight_usd_tms": gettext_lazy("US$ per dry tonne; empty means 0."),
    "other_usd_tms": gettext_lazy("US$ per dry tonne; empty means 0."),
    "declared_payable": gettext_lazy("The payable the buyer computed, in US$ (optional); compared with ours."),
}


def _format_help(spec: FieldSpec) -> str:
    meaning = str(_MEANINGS[spec.name]) % {"days": settings.SETTLEMENT_MAX_AGE_DAYS}
    if spec.kind == "decimal" and spec.max_value is None:
        shape = _("A number of at least %(min)s, up to %(places)s decimals, with a decimal point or comma.") % {
            "min": spec.min_value,
            "places": spec.decimal_places,
        }
    elif spec.kind == "decimal":
        shape = _("A number from %(min)s to %(max)s, up to %(places)s decimals, with a decimal point or comma.") % {
            "min": spec.min_value,
            "max": spec.max_value,
            "places": spec.decimal_places,
        }
    elif spec.kind == "date":
        shape = _("A date: dd/mm/aaaa or aaaa-mm-dd.")
    elif spec.kind == "choice":
        shape = _("One of: %(choices)s.") % {"choices": ", ".join(value for value, _label in spec.choices)}
    else:
        shape = _("Text, up to %(n)s characters.") % {"n": spec.max_length}
    return f"{meaning} {shape}"


def template_columns(*, today: dt.date) -> list[TemplateColumn]:
    """The downloadable template's columns, with an example row that a supplier with DNI 41234567 can
    import as it is (dated ``today``: an old date would be refused)."""
    examples: dict[str, Cell] = {
        "miner_document": "41234567",
        "miner_document_type": "DNI",
        "lot_code": "L-0001",
        "settled_on": today,
        "currency": "USD",
        "exchange_rate": Decimal("3.75"),
        "wet_tonnes": Decimal("10.25"),
        "moisture_pct": Decimal("8.5"),
        "grade_oz_tc": Decimal("0.5"),
        "recovery": Decimal("0.84"),
        "gold_price_usd_oz": Decimal("3322.10"),
        "commercial_deduction_usd_oz": Decimal(80),
        "maquila_usd_tc": Decimal(110),
        "reagents_usd_tms": Decimal("30.26"),
        "freight_usd_tms": Decimal(22),
    }
    return [
        TemplateColumn(
            header,
            name == "miner_document" or (FIELD_SPECS[name].required and FIELD_SPECS[name].default is None),
            _format_help(FIELD_SPECS[name]),
            examples.get(name),
            text=name in ("miner_document", "lot_code"),
        )
        for name, header in TEMPLATE_HEADERS.items()
    ]


@dataclass(frozen=True)
class Unreadable:
    """A file's cell that cannot be read as its field's type (an ambiguous amount, a date that is not
    one): ``validate_row`` reports ``message`` as the field's error, with the row's other errors."""

    message: str


def read_csv_text(file: IO[Any] | None, text: str | None) -> str | bytes:
    """The upload to read: ``text`` (as ``asmcredit.tabular.upload_text`` keeps a file) or the bytes of
    ``file``, a CSV or an XLSX workbook."""
    if text is not None:
        return text
    if file is None:
        raise ValueError("Give the file as `file` or `text`.")
    content = file.read()
    return content if isinstance(content, str | bytes) else bytes(content)


def _record(cells: Mapping[str, Cell], decimal_mark: str | None) -> dict[str, str | Unreadable]:
    """A row's cells as the text ``validate_row`` reads: numbers with a decimal point, ISO dates."""
    record: dict[str, str | Unreadable] = {}
    for name, cell in cells.items():
        kind = FIELD_SPECS[name].kind
        try:
            if kind in ("integer", "decimal"):
                number = parse_decimal(cell, decimal_mark=decimal_mark)
                record[name] = "" if number is None else f"{number:f}"
            elif kind == "date":
                day = parse_date(cell)
                record[name] = "" if day is None else day.isoformat()
            else:
                record[name] = parse_text(cell)
        except CellError as exc:
            record[name] = Unreadable(exc.message)
    return record


def parse_settlements_csv(content: str | bytes) -> tuple[list[dict[str, str | Unreadable]], list[int], Errors]:
    """A CSV or XLSX file of settlements (``asmcredit.tabular.read_table``: "," or ";" separated, UTF-8 or
    Windows-1252/Latin-1, or the sheet "Liquidaciones" or the first one of a workbook) → (records, their
    row numbers as Excel shows them, file-level errors). Amounts take a decimal point or comma and dates
    dd/mm/aaaa or aaaa-mm-dd (``asmcredit.tabular``); a cell that cannot be read is the row's field error."""
    try:
        table = read_table(content, max_rows=MAX_CSV_ROWS, sheet=TEMPLATE_SHEET)
    except TooManyRows as exc:
        return [], [], {exc.row: {TOO_MANY_ROWS: [exc.message]}}
    except TableError as exc:
        return [], [], {HEADER_ROW: {"file": [exc.message]}}
    columns = [_COLUMN_NAMES.get(header_key(name), "") if name else "" for name in table.header]
    unknown = [raw for raw, name in zip(table.header, columns, strict=True) if raw and not name]
    duplicated = sorted({name for name in columns if name and columns.count(name) > 1})
    problems = [_("Unknown column %(name)r.") % {"name": name} for name in unknown]
    problems += [_("Column %(name)r appears twice.") % {"name": name} for name in duplicated]
    if problems:
        return [], [], {table.header_row: {"header": problems}}
    for row in table.rows:
        if not all(is_blank(cell) for cell in row.cells[len(columns) :]):
            return [], [], {row.number: {"file": [_("This line has more values than the header.")]}}
    rows = list(table.records(columns))
    decimal_mark = decimal_mark_of(
        cell for _number, cells in rows for name, cell in cells.items() if name in NUMERIC_FIELDS
    )
    records = [_record(cells, decimal_mark) for _number, cells in rows]
    numbers = [number for number, _cells in rows]
    if not records:
        return [], [], {table.header_row: {"file": [_("The file has a header but no settlements.")]}}
    return records, numbers, {}
