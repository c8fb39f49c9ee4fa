"""Files we hand to spreadsheets (CSV, XLSX): every cell goes through ``spreadsheet_cell``.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel and LibreOffice, and a
leading tab or carriage return lets one slip past a naive check; a miner's or buyer's name typed as
``=HYPERLINK(...)`` would then run on the officer's computer (CSV injection). Following OWASP's guidance,
such a cell gets a leading apostrophe, which spreadsheets read as "this is text". Numbers — negative ones
included, whether a ``Decimal`` or the text of one such as ``"-12.50"`` — are left alone, so they stay
numbers in the spreadsheet.

Lists export through ``export_response``: a view describes its columns once and hands over its filtered
rows; ``?format=csv`` or ``?format=xlsx`` on the list's URL picks the file::

    from asmcredit.exports import Column, export_format, export_response

    COLUMNS = [
        Column(_("Document"), "document_number", sensitive=True),   # masked for NGO analysts
        Column(_("Name"), "full_name"),
        Column(_("Outstanding"), lambda loan: loan.outstanding, kind=Column.MONEY),
        Column(_("Disbursed on"), "disbursed_on", kind=Column.DATE),
    ]

    def remittance_list(request):
        rows = filtered_remittances(request)            # the same filters as the page
        if export_format(request):
            return export_response(request, rows=rows, columns=COLUMNS, filename="remesas")
        ...

- CSV is streamed (``StreamingHttpResponse``), UTF-8 with a BOM so Excel opens accents right, comma-separated
  with a point decimal: Peru writes ``1,234.50`` (a decimal point, as Excel for es-PE does), so a comma list
  separator and plain numbers (``1234.50``) open as columns of numbers; a semicolon is what locales with a
  decimal comma (es-ES) expect, not ours. Dates are ISO (``2025-03-01``), which every Excel reads as a date.
- XLSX is written by openpyxl in write-only mode (constant memory): amounts are numbers with a ``#,##0.00``
  format, dates are dates (``dd/mm/yyyy``), the header is bold and frozen. Over ``XLSX_MAX_ROWS`` rows the
  answer is a 400 asking for CSV or narrower filters (a worksheet that large would outlast the request;
  a queryset is counted first, up to that limit, rather than written and thrown away).
- Every cell goes through ``spreadsheet_cell``; a ``sensitive`` column (document numbers) shows ``••••`` to
  users outside ``asmcredit.web.LENDER_STAFF``, as the screens do; headers are translated (lazy strings are
  read in the request's language).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.web import LENDER_STAFF

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def spreadsheet_cell(value: Any) -> Any:
    """``value`` safe to put in a spreadsheet cell: a formula-like text gets a leading apostrophe;
    anything else (numbers, dates, ordinary text) is returned unchanged. ``None`` is an empty cell."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def spreadsheet_row(values: Iterable[Any]) -> list[Any]:
    return [spreadsheet_cell(value) for value in values]


def csv_text(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A header and rows as CSV text, every cell through ``spreadsheet_cell``."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(spreadsheet_row(header))
    for row in rows:
        writer.writerow(spreadsheet_row(row))
    return buffer.getvalue()


EXPORT_FORMATS = ("csv", "xlsx")
XLSX_MAX_ROWS = 50_000
MASK = "••••"
_CSV_CHUNK_ROWS = 500
_QUERYSET_CHUNK = 2_000


@dataclass(frozen=True)
class Column:
    """One column of an exported list: its (translated) header, how to read the cell from a row — an
    attribute path such as ``"miner.full_name"`` or a function of the row — and the cell's kind."""

    TEXT: ClassVar[str] = "text"
    MONEY: ClassVar[str] = "money"  # Decimal amount, two places
    NUMBER: ClassVar[str] = "number"  # Decimal or float, as it comes (rates, grams)
    INTEGER: ClassVar[str] = "integer"
    DATE: ClassVar[str] = "date"
    DATETIME: ClassVar[str] = "datetime"  # shown in the local time zone

    header: Any
    value: str | Callable[[Any], Any]
    kind: str = TEXT
    sensitive: bool = False  # a document number: masked for users who may not see one

    def read(self, row: Any) -> Any:
        if callable(self.value):
            return self.value(row)
        value = row
        for part in self.value.split("."):
            value = value.get(part) if isinstance(value, dict) else getattr(value, part, None)
            if value is None:
                return None
        return value


def export_format(request: HttpRequest) -> str | None:
    """``"csv"`` or ``"xlsx"`` when the request asks for a file (``?format=``), else ``None``."""
    value = request.GET.get("format", "")
    return value if value in EXPORT_FORMATS else None


def export_response(
    request: HttpRequest, *, rows: Iterable[Any], columns: Sequence[Column], filename: str
) -> HttpResponse | StreamingHttpResponse:
    """The rows as the file the request asks for (``?format=csv|xlsx``), named ``filename`` + extension.

    ``rows`` may be a queryset (read in chunks, never all in memory), a list or any iterable; pass the same
    filtered, ordered rows the page shows. Call it only when ``export_format(request)`` is set."""
    chosen = export_format(request)
    if chosen is None:
        raise ValueError("export_response needs ?format=csv or ?format=xlsx")
    sees_documents = roles.has_role(request.user, *LENDER_STAFF)
    cells = _cells(columns, sees_documents=sees_documents)
    if isinstance(rows, QuerySet):
        if chosen == "xlsx" and rows[: XLSX_MAX_ROWS + 1].count() > XLSX_MAX_ROWS:
            return _too_long()  # said before writing 50,000 rows for nothing
        rows = rows.iterator(chunk_size=_QUERYSET_CHUNK)
    headers = [str(column.header) for column in columns]
    if chosen == "csv":
        return _csv_response(headers, columns, (cells(row) for row in rows), filename)
    return _xlsx_response(headers, columns, (cells(row) for row in rows), filename)


def _cells(columns: Sequence[Column], *, sees_documents: bool) -> Callable[[Any], list[Any]]:
    def cells(row: Any) -> list[Any]:
        values = []
        for column in columns:
            value = column.read(row)
            if column.sensitive and not sees_documents and value:
                value = MASK
            values.append(value)
        return values

    return cells


def _csv_value(value: Any, kind: str) -> Any:
    if kind == Column.MONEY and isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if timezone.is_aware(value) else value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return spreadsheet_cell(value)


class _Line:
    """A file-like object whose ``write`` hands back what it was given, for streaming ``csv.writer``."""

    def write(self, value: str) -> str:
        return value


def _csv_lines(headers: list[str], kinds: list[str], rows: Iterator[list[Any]]) -> Iterator[str]:
    writer = csv.writer(_Line())
    chunk = ["\ufeff", writer.writerow(spreadsheet_row(headers))]
    for row in rows:
        chunk.append(writer.writerow([_csv_value(value, kind) for value, kind in zip(row, kinds, strict=True)]))
        if len(chunk) >= _CSV_CHUNK_ROWS:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def _csv_response(
    headers: list[str], columns: Sequence[Column], rows: Iterator[list[Any]], filename: str
) -> StreamingHttpResponse:
    lines = _csv_lines(headers, [column.kind for column in columns], rows)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = _attachment(f"{filename}.csv")
    return response


def _attachment(filename: str) -> str:
    return content_disposition_header(True, filename) or f'attachment; filename="{filename}"'


_XLSX_FORMATS = {
    Column.MONEY: "#,##0.00",
    Column.INTEGER: "#,##0",
    Column.DATE: "dd/mm/yyyy",
    Column.DATETIME: "dd/mm/yyyy hh:mm",
}


def _xlsx_value(value: Any, kind: str) -> Any:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return timezone.make_naive(value) if timezone.is_aware(value) else value
    if isinstance(value, Decimal | int | float | dt.date) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if kind in (Column.MONEY, Column.NUMBER, Column.INTEGER) and _PLAIN_NUMBER.fullmatch(str(value)):
        return Decimal(str(value))
    return ILLEGAL_CHARACTERS_RE.sub("", str(spreadsheet_cell(value)))


def _too_long() -> HttpResponse:
    return HttpResponse(
        _("This list has more than %(limit)s rows: narrow the filters or export it as CSV.")
        % {"limit": f"{XLSX_MAX_ROWS:,}"},
        status=400,
        content_type="text/plain; charset=utf-8",
    )


def _xlsx_response(
    headers: list[str], columns: Sequence[Column], rows: Iterator[list[Any]], filename: str
) -> HttpResponse:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font, NamedStyle
    from openpyxl.utils import get_column_letter

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=filename[:31] or "data")
    sheet.freeze_panes = "A2"
    # A cell with a number format costs several times a plain one: only amounts and dates carry one, by
    # a named style shared by all of them.
    styles = {}
    for kind, number_format in _XLSX_FORMATS.items():
        workbook.add_named_style(NamedStyle(name=f"asm-{kind}", number_format=number_format))
        styles[kind] = f"asm-{kind}"
    for index, column in enumerate(columns, start=1):
        width = 14 if column.kind != Column.TEXT else max(16, min(40, len(headers[index - 1]) + 4))
        sheet.column_dimensions[get_column_letter(index)].width = width
    bold = Font(bold=True)
    header_cells = []
    for header in headers:
        cell = WriteOnlyCell(sheet, value=spreadsheet_cell(header))
        cell.font = bold
        header_cells.append(cell)
    sheet.append(header_cells)
    kinds = [column.kind for column in columns]
    for count, row in enumerate(rows, start=1):
        if count > XLSX_MAX_ROWS:
            return _too_long()
        out: list[Any] = []
        for value, kind in zip(row, kinds, strict=True):
            value = _xlsx_value(value, kind)
            if kind in styles and value is not None:
                cell = WriteOnlyCell(sheet, value=value)
                cell.style = styles[kind]
                out.append(cell)
            else:
                out.append(value)
        sheet.append(out)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(
        buffer.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = _attachment(f"{filename}.xlsx")
    return response
