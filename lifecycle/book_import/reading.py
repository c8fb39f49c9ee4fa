"""The files of a book migration read and checked row by row, before any loan is replayed.

Three tables, each a CSV or an XLSX sheet (``asmcredit.tabular``); headers are compared forgivingly
(accents, case, spaces) and may be written in Spanish or English:

- **Préstamos** (the loans file, required), one row per loan: ``numero_prestamo`` (the lender's own loan
  number), ``documento_minero`` (the miner's DNI, CE or RUC as the miners import stores it), ``producto``
  (a product code), ``moneda``, ``capital``, ``tea`` (percent), ``fecha_desembolso``, ``primer_vencimiento``
  and ``cuotas`` (the terms: the cronograma is then built as a disbursement builds it; both may be left
  blank when the cronograma file lists the loan's lines), ``ruc_comprador`` (the withholding buyer,
  optional), ``saldo_capital`` (the outstanding principal the lender declares on the cut-off date) and
  ``interes_vencido`` (optional: the unpaid interest of installments due by the cut-off date).
- **Pagos** (optional): ``numero_prestamo``, ``fecha``, ``monto``, ``tipo`` (``pago``/``payment`` or
  ``retencion``/``withholding``), ``referencia`` (optional): what the miner paid so far.
- **Cronograma** (optional): ``numero_prestamo``, ``cuota`` (1, 2, …), ``vencimiento``, ``capital``,
  ``interes``, ``seguro`` and ``comisiones`` (blank: 0) — the lender's own cronograma, used instead of the
  terms; its principal must add up to the loan's.

A workbook may carry the three as sheets named "Prestamos", "Pagos" and "Cronograma" of one file.

A miner unknown to ASM Credit is an error on its row: miners are registered first, through the miners
import (the one write path for a miner), so a migration never creates a borrower without the checks that
registration makes. Every error names its file and row (the row Excel shows); any error refuses the whole
upload before a single loan is replayed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from asmcredit import tabular
from asmcredit.money import money
from asmcredit.tabular import Cell, CellError, TableError, TemplateColumn
from buyers.models import Buyer
from loans.models import LoanProduct
from miners.identity import normalize_identifier
from miners.models import Miner

MAX_ROWS = 50_000
LOANS, PAYMENTS, SCHEDULE = "loans", "payments", "schedule"
SHEETS = {LOANS: "Prestamos", PAYMENTS: "Pagos", SCHEDULE: "Cronograma"}
PAYMENT, WITHHOLDING = "payment", "withholding"
_KINDS = {"pago": PAYMENT, "payment": PAYMENT, "retencion": WITHHOLDING, "withholding": WITHHOLDING}

# Column -> (the header written in templates, other headers read as the same column, required).
_LOAN_COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "lender_number": ("numero_prestamo", ("loan_number", "prestamo", "n_prestamo"), True),
    "miner": ("documento_minero", ("miner", "documento", "dni", "miner_document"), True),
    "product": ("producto", ("product", "codigo_producto"), True),
    "currency": ("moneda", ("currency",), True),
    "principal": ("capital", ("principal", "monto_desembolsado"), True),
    "tea": ("tea", ("tea_pct",), True),
    "disbursed_on": ("fecha_desembolso", ("disbursed_on", "desembolso"), True),
    "first_due_on": ("primer_vencimiento", ("first_due_on",), False),
    "term": ("cuotas", ("term", "plazo"), False),
    "buyer": ("ruc_comprador", ("buyer_ruc", "comprador"), False),
    "declared_principal": ("saldo_capital", ("outstanding_principal", "saldo"), True),
    "declared_interest": ("interes_vencido", ("interest_due",), False),
}
_PAYMENT_COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "lender_number": ("numero_prestamo", ("loan_number", "prestamo", "n_prestamo"), True),
    "paid_on": ("fecha", ("date", "fecha_pago", "paid_on"), True),
    "amount": ("monto", ("amount", "importe"), True),
    "kind": ("tipo", ("kind",), True),
    "reference": ("referencia", ("reference",), False),
}
_SCHEDULE_COLUMNS: dict[str, tuple[str, tuple[str, ...], bool]] = {
    "lender_number": ("numero_prestamo", ("loan_number", "prestamo", "n_prestamo"), True),
    "number": ("cuota", ("number", "n_cuota"), True),
    "due_on": ("vencimiento", ("due_on", "fecha_vencimiento"), True),
    "principal": ("capital", ("principal", "amortizacion"), True),
    "interest": ("interes", ("interest",), True),
    "insurance": ("seguro", ("insurance", "desgravamen"), False),
    "fees": ("comisiones", ("fees", "comision"), False),
}
COLUMNS = {LOANS: _LOAN_COLUMNS, PAYMENTS: _PAYMENT_COLUMNS, SCHEDULE: _SCHEDULE_COLUMNS}


@dataclass(frozen=True)
class PaymentRow:
    row: int
    paid_on: dt.date
    amount: Decimal
    kind: str
    reference: str


@dataclass(frozen=True)
class ScheduleRow:
    row: int
    number: int
    due_on: dt.date
    principal: Decimal
    interest: Decimal
    insurance: Decimal
    fees: Decimal


@dataclass
class OpeningLoan:
    """One loan of the lender's book as its files describe it, every value checked."""

    row: int
    lender_number: str
    miner: Miner
    product: LoanProduct
    currency: str
    principal: Decimal
    tea_pct: Decimal
    disbursed_on: dt.date
    first_due_on: dt.date | None
    term: int | None
    buyer: Buyer | None
    declared_principal: Decimal
    declared_interest: Decimal | None
    payments: list[PaymentRow] = field(default_factory=list)
    schedule: list[ScheduleRow] = field(default_factory=list)


@dataclass
class Book:
    """The loans of the files, and every error found in them (empty: the files can be replayed)."""

    loans: list[OpeningLoan] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    rows: int = 0
    # Every loan number the loans file names, its row valid or not: a payment of a loan whose row has an
    # error is not an error of its own.
    numbers: set[str] = field(default_factory=set)

    def error(self, file: str, row: int, *messages: str) -> None:
        self.errors.append({"file": file, "row": row, "errors": list(messages)})


sheet_names = tabular.sheet_names


def has_sheet(content: str | bytes, name: str) -> bool:
    return tabular.header_key(name) in {tabular.header_key(sheet) for sheet in sheet_names(content)}


class _Rows:
    """One file's records by column name, with the row-level errors they raise."""

    def __init__(self, book: Book, file: str, content: str | bytes) -> None:
        self.book, self.file = book, file
        self.records: list[tuple[int, dict[str, Cell]]] = []
        self.ok = False
        columns = COLUMNS[file]
        try:
            table = tabular.read_table(content, max_rows=MAX_ROWS, sheet=SHEETS[file])
        except TableError as exc:
            book.error(file, getattr(exc, "row", 0), exc.message)
            return
        wanted = {tabular.header_key(header): name for name, (header, _aliases, _req) in columns.items()}
        for name, (_header, aliases, _req) in columns.items():
            wanted.update({tabular.header_key(alias): name for alias in aliases})
        names = [wanted.get(tabular.header_key(header)) for header in table.header]
        missing = [header for name, (header, _aliases, required) in columns.items() if required and name not in names]
        if missing:
            book.error(file, table.header_row, _("Missing columns: %(columns)s.") % {"columns": ", ".join(missing)})
            return
        self.records = list(table.records(names))
        cells = [cell for _number, values in self.records for cell in values.values()]
        self.decimal_mark = tabular.decimal_mark_of(cells)
        self.ok = True


def _read(
    rows: _Rows, number: int, errors: list[str], name: str, parse: Callable[[Cell], Any], cell: Cell, required: bool
) -> Any:
    try:
        value = parse(cell)
    except CellError as exc:
        errors.append(f"{COLUMNS[rows.file][name][0]}: {exc.message}")
        return None
    if value in (None, "") and required:
        errors.append(f"{COLUMNS[rows.file][name][0]}: " + _("This value is required."))
    return value


def _amount(rows: _Rows) -> Callable[[Cell], Decimal | None]:
    def parse(cell: Cell) -> Decimal | None:
        value = tabular.parse_decimal(cell, decimal_mark=rows.decimal_mark)
        if value is not None and (value < 0 or money(value) != value):
            raise CellError(_("%(value)s is not an amount in whole céntimos of 0 or more.") % {"value": value})
        return value

    return parse


def _whole(cell: Cell) -> int | None:
    text = tabular.parse_text(cell)
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise CellError(_("%(value)s is not a whole number of 1 or more.") % {"value": text})
    return int(text)


def _miners(documents: Iterable[str]) -> dict[str, list[Miner]]:
    """Miners by DNI / CE number and by RUC, in one query for the whole file."""
    wanted = set(documents)
    found: dict[str, list[Miner]] = {}
    for miner in Miner.objects.filter(document_number__in=wanted) | Miner.objects.filter(ruc__in=wanted):
        for key in {miner.document_number, miner.ruc} & wanted:
            found.setdefault(key, []).append(miner)
    return found


def read_book(
    *, loans: str | bytes, cutoff: dt.date, payments: str | bytes | None = None, schedule: str | bytes | None = None
) -> Book:
    """The loans of the files with their payments and cronograma lines, or the errors that refuse them."""
    book = Book()
    loan_rows = _Rows(book, LOANS, loans)
    payment_rows = _Rows(book, PAYMENTS, payments) if payments is not None else None
    schedule_rows = _Rows(book, SCHEDULE, schedule) if schedule is not None else None
    if not loan_rows.ok:
        return book
    book.rows = len(loan_rows.records)
    if not loan_rows.records:
        book.error(LOANS, 0, _("The loans file has no loans."))
        return book
    documents = {
        normalize_identifier("document_number", tabular.parse_text(r.get("miner"))) for _n, r in loan_rows.records
    }
    miners = _miners(documents)
    products = {product.code: product for product in LoanProduct.objects.all()}
    rucs = {tabular.parse_text(r.get("buyer")) for _n, r in loan_rows.records} - {""}
    buyers = {buyer.ruc: buyer for buyer in Buyer.objects.filter(ruc__in=rucs)}
    by_number: dict[str, OpeningLoan] = {}
    book.numbers = {tabular.parse_text(record.get("lender_number")) for _n, record in loan_rows.records}
    for number, record in loan_rows.records:
        loan = _loan(loan_rows, number, record, cutoff=cutoff, miners=miners, products=products, buyers=buyers)
        if loan is None:
            continue
        if loan.lender_number in by_number:
            book.error(
                LOANS,
                number,
                _("Loan %(number)s is already on row %(row)s.")
                % {"number": loan.lender_number, "row": by_number[loan.lender_number].row},
            )
            continue
        by_number[loan.lender_number] = loan
    if schedule_rows is not None and schedule_rows.ok:
        _schedule(schedule_rows, by_number)
    if payment_rows is not None and payment_rows.ok:
        _payments(payment_rows, by_number, cutoff=cutoff)
    for loan in by_number.values():
        _check_terms(book, loan)
    book.loans = sorted(by_number.values(), key=lambda loan: loan.row)
    return book


def _loan(
    rows: _Rows,
    number: int,
    record: dict[str, Cell],
    *,
    cutoff: dt.date,
    miners: dict[str, list[Miner]],
    products: dict[str, LoanProduct],
    buyers: dict[str, Buyer],
) -> OpeningLoan | None:
    errors: list[str] = []
    amount = _amount(rows)

    def read(name: str, parse: Callable[[Cell], Any], required: bool = True) -> Any:
        return _read(rows, number, errors, name, parse, record.get(name), required)

    lender_number = read("lender_number", tabular.parse_text)
    if lender_number and len(lender_number) > 40:
        errors.append(_("numero_prestamo: at most 40 characters."))
    document = normalize_identifier("document_number", read("miner", tabular.parse_text) or "")
    miner = None
    if document:
        candidates = miners.get(document, [])
        if not candidates:
            errors.append(
                _("documento_minero: no miner with document %(document)s; register the miner first (miners import).")
                % {"document": document}
            )
        elif len(candidates) > 1:
            errors.append(_("documento_minero: %(document)s names more than one miner.") % {"document": document})
        else:
            miner = candidates[0]
    code = read("product", tabular.parse_text)
    product = products.get(code) if code else None
    if code and product is None:
        errors.append(_("producto: there is no product %(code)s.") % {"code": code})
    currency = (read("currency", tabular.parse_text) or "").upper()
    if product is not None and currency and currency != product.currency:
        errors.append(
            _("moneda: product %(code)s lends in %(currency)s.") % {"code": product.code, "currency": product.currency}
        )
    principal = read("principal", amount)
    if principal == 0:
        errors.append(_("capital: the principal must be positive."))
    tea = read("tea", lambda cell: tabular.parse_decimal(cell, decimal_mark=rows.decimal_mark))
    if tea is not None and tea < 0:
        errors.append(_("tea: the rate cannot be negative."))
    disbursed_on = read("disbursed_on", tabular.parse_date)
    if disbursed_on and disbursed_on > cutoff:
        errors.append(_("fecha_desembolso: after the cut-off date."))
    first_due_on = read("first_due_on", tabular.parse_date, required=False)
    term = read("term", _whole, required=False)
    ruc = read("buyer", tabular.parse_text, required=False)
    buyer = buyers.get(ruc) if ruc else None
    if ruc and buyer is None:
        errors.append(_("ruc_comprador: there is no buyer with RUC %(ruc)s.") % {"ruc": ruc})
    declared_principal = read("declared_principal", amount)
    declared_interest = read("declared_interest", amount, required=False)
    if errors:
        rows.book.error(LOANS, number, *errors)
        return None
    return OpeningLoan(
        row=number,
        lender_number=lender_number,
        miner=miner,  # type: ignore[arg-type]
        product=product,  # type: ignore[arg-type]
        currency=currency,
        principal=principal,
        tea_pct=tea,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        term=term,
        buyer=buyer,
        declared_principal=declared_principal,
        declared_interest=declared_interest,
    )


def _owner(rows: _Rows, number: int, record: dict[str, Cell], loans: dict[str, OpeningLoan]) -> OpeningLoan | None:
    lender_number = tabular.parse_text(record.get("lender_number"))
    loan = loans.get(lender_number)
    if loan is None and lender_number not in rows.book.numbers:
        rows.book.error(
            rows.file,
            number,
            _("numero_prestamo: loan %(number)s is not in the loans file.") % {"number": lender_number},
        )
    return loan


def _payments(rows: _Rows, loans: dict[str, OpeningLoan], *, cutoff: dt.date) -> None:
    amount = _amount(rows)
    for number, record in rows.records:
        errors: list[str] = []
        paid_on = _read(rows, number, errors, "paid_on", tabular.parse_date, record.get("paid_on"), True)
        value = _read(rows, number, errors, "amount", amount, record.get("amount"), True)
        kind_text = tabular.header_key(tabular.parse_text(record.get("kind")))
        kind = _KINDS.get(kind_text, "")
        if kind_text and not kind:
            errors.append(_("tipo: write pago or retencion."))
        elif not kind_text:
            kind = PAYMENT
        reference = tabular.parse_text(record.get("reference"))[:60]
        loan = _owner(rows, number, record, loans)
        if value == 0:
            errors.append(_("monto: the amount must be positive."))
        if paid_on and paid_on > cutoff:
            errors.append(_("fecha: after the cut-off date."))
        if loan is not None and paid_on and paid_on < loan.disbursed_on:
            errors.append(_("fecha: before the loan's disbursement."))
        if errors:
            rows.book.error(PAYMENTS, number, *errors)
        elif loan is not None:
            loan.payments.append(PaymentRow(number, paid_on, value, kind, reference))


def _schedule(rows: _Rows, loans: dict[str, OpeningLoan]) -> None:
    amount = _amount(rows)
    for number, record in rows.records:
        errors: list[str] = []

        def read(name: str, parse: Callable[[Cell], Any], required: bool = True) -> Any:
            return _read(rows, number, errors, name, parse, record.get(name), required)  # noqa: B023

        line = read("number", _whole)
        due_on = read("due_on", tabular.parse_date)
        principal = read("principal", amount)
        interest = read("interest", amount)
        insurance = read("insurance", amount, required=False) or Decimal(0)
        fees = read("fees", amount, required=False) or Decimal(0)
        loan = _owner(rows, number, record, loans)
        if errors:
            rows.book.error(SCHEDULE, number, *errors)
        elif loan is not None:
            loan.schedule.append(ScheduleRow(number, line, due_on, principal, interest, insurance, fees))


def _check_terms(book: Book, loan: OpeningLoan) -> None:
    """The cronograma given (lines numbered 1…n, dates rising after the disbursement, principal adding up
    to the loan's) or the terms to build it."""
    lines = sorted(loan.schedule, key=lambda line: line.number)
    if not lines:
        missing = [
            name for name, value in (("primer_vencimiento", loan.first_due_on), ("cuotas", loan.term)) if not value
        ]
        if missing:
            book.error(
                LOANS,
                loan.row,
                _("%(columns)s: required when the cronograma file has no lines for the loan.")
                % {"columns": ", ".join(missing)},
            )
        elif loan.first_due_on and loan.first_due_on <= loan.disbursed_on:
            book.error(LOANS, loan.row, _("primer_vencimiento: must come after the disbursement."))
        return
    errors: list[str] = []
    if [line.number for line in lines] != list(range(1, len(lines) + 1)):
        errors.append(_("the installments must be numbered 1 to %(n)s, once each.") % {"n": len(lines)})
    previous = loan.disbursed_on
    for line in lines:
        if line.due_on <= previous:
            errors.append(
                _("installment %(n)s falls due on or before the previous date (%(day)s).")
                % {"n": line.number, "day": previous.strftime("%d/%m/%Y")}
            )
            break
        previous = line.due_on
    total = sum((line.principal for line in lines), Decimal(0))
    if total != loan.principal:
        errors.append(
            _("the principal of the cronograma adds up to %(total)s, not the loan's %(principal)s.")
            % {"total": total, "principal": loan.principal}
        )
    if loan.term and loan.term != len(lines):
        errors.append(
            _("cuotas says %(term)s but the cronograma has %(n)s lines.") % {"term": loan.term, "n": len(lines)}
        )
    if errors:
        book.error(
            SCHEDULE, lines[0].row, *[_("Loan %(number)s: ") % {"number": loan.lender_number} + e for e in errors]
        )
    loan.schedule = lines


def template_columns(file: str) -> list[TemplateColumn]:
    """The columns of one file's downloadable template, with an example row."""
    examples: dict[str, dict[str, Cell]] = {
        LOANS: {
            "lender_number": "CMAC-000123",
            "miner": "40112233",
            "product": "equipo-libre-mercurio",
            "currency": "PEN",
            "principal": Decimal("10000.00"),
            "tea": Decimal("40"),
            "disbursed_on": dt.date(2025, 1, 15),
            "first_due_on": dt.date(2025, 2, 17),
            "term": 6,
            "buyer": "20100000001",
            "declared_principal": Decimal("8475.79"),
            "declared_interest": None,
        },
        PAYMENTS: {
            "lender_number": "CMAC-000123",
            "paid_on": dt.date(2025, 2, 17),
            "amount": Decimal("1838.45"),
            "kind": "retencion",
            "reference": "LQ-2025-0042",
        },
        SCHEDULE: {
            "lender_number": "CMAC-000123",
            "number": 1,
            "due_on": dt.date(2025, 2, 17),
            "principal": Decimal("1525.21"),
            "interest": Decimal("313.24"),
            "insurance": Decimal("0"),
            "fees": Decimal("0"),
        },
    }
    help_text: dict[str, Any] = {
        "lender_number": gettext_lazy("Your own loan number (text, at most 40 characters)"),
        "miner": gettext_lazy("DNI, CE or RUC of a miner already registered"),
        "product": gettext_lazy("Product code"),
        "currency": gettext_lazy("PEN or USD"),
        "tea": gettext_lazy("Percent, e.g. 40"),
        "term": gettext_lazy("Number of installments (blank when the cronograma lists the lines)"),
        "first_due_on": gettext_lazy("dd/mm/aaaa (blank when the cronograma lists the lines)"),
        "declared_principal": gettext_lazy("Outstanding principal on the cut-off date"),
        "declared_interest": gettext_lazy("Unpaid interest of installments due by the cut-off date (optional)"),
        "kind": gettext_lazy("pago or retencion"),
    }
    columns = []
    for name, (header, _aliases, required) in COLUMNS[file].items():
        example = examples[file].get(name)
        default_help = gettext_lazy("dd/mm/aaaa") if isinstance(example, dt.date) else gettext_lazy("Amount or text")
        columns.append(
            TemplateColumn(
                header=header,
                required=required,
                format_help=help_text.get(name, default_help),
                example=example,
                text=name in ("lender_number", "miner", "buyer"),
            )
        )
    return columns
