"""Tabular uploads — a CSV or an XLSX workbook — read one way for every import, and the values in them.

The officers' miners and settlements imports and the buyers' settlements upload all read their file with
``read_table`` and their cells with ``parse_text``, ``parse_date`` and ``parse_decimal``; the downloadable
templates (``template_csv``, ``template_xlsx``, served by ``template_response``) write the same format
back: the importer's Spanish headers, an example row, and in the workbook a sheet "Instrucciones".

What a file may be:

- **XLSX**, recognised by its content (a ZIP archive: ``PK\\x03\\x04``), whatever its name: the sheet the
  template names (``sheet``, compared like headers) or else the first one, read by openpyxl in read-only
  mode, values only (a formula gives the value Excel saved with it). Its row numbers are the sheet's.
- **CSV**, comma- or semicolon-separated, decided from the header line: the separator that splits it into
  more columns (a comma wins a tie); Excel's ``sep=;`` first line is honoured. Quoted fields may contain
  the separator, quotes and line breaks. Encoding: UTF-8, with or without a BOM, when the bytes are valid
  UTF-8 — text in Latin-1 with any accent is practically never valid UTF-8 (an ``á`` is the byte ``E1``,
  which UTF-8 only allows before two continuation bytes), so the test is reliable; otherwise
  Windows-1252, what Excel in Spanish saves as "CSV (delimitado por comas)": the same bytes as Latin-1
  for every letter (``Ñ`` is ``D1``, ``á`` is ``E1``) plus ``€``, curly quotes and dashes where Latin-1
  has invisible control codes; a file with one of the five bytes Windows-1252 leaves undefined is read
  as Latin-1 (ISO-8859-1), which defines every byte.
  A row's number is the row Excel shows when it opens the file (blank lines count, a ``sep=`` line does
  not); it is the line number as well unless a quoted field spans lines.

Anything else (an old ``.xls``, a PDF, an image) is refused with a message saying what to do. The header
is the first non-blank row; blank rows are skipped but keep their numbers. A file longer than
``max_rows`` data rows is refused (``TooManyRows``) after reading one row past the limit, never whole.

Values (``parse_*``), for CSV text and typed XLSX cells alike:

- **Dates**: ``dd/mm/aaaa``, ``d/m/aaaa``, ``dd-mm-aaaa`` or ISO ``aaaa-mm-dd``, or a date cell. Always day
  before month, as Peru writes them; a four-digit year. A number where a date belongs (a date cell
  formatted "General" shows as ``45413``) is refused, not read as a serial day.
- **Decimals**: a decimal point or a decimal comma, with or without thousands separators:
  ``1.234,56``, ``1,234.56``, ``1234,56``, ``1234.56``, ``1.234.567``. With both marks the last one is the
  decimal mark; a mark that repeats separates thousands. One mark followed by exactly three digits after
  one to three leading digits (``1,234``, ``1.234``) could be either, and is read as decimals only when
  the file's other amounts show that same decimal mark (``decimal_mark_of``: ``3322.10``, ``0,84``); when
  they show the other mark, or none, or both, it is **refused as ambiguous** with the two ways to write
  it — a lender refuses a thousandfold doubt about money rather than guess. The separator of a CSV says
  nothing here: Excel in es-PE writes a decimal point, and may separate with commas or semicolons. (What
  no rule can tell is a file that mixes the conventions: a whole ``1,000`` written with a thousands comma
  among amounts with decimal commas reads as 1.000; Excel renders every cell of a file one way.)
  ``0,845`` and ``12,5`` are never ambiguous. An XLSX number cell is taken at Excel's own precision, 15
  significant digits, through its text (``format(value, ".15g")``): exactly what was typed, without the
  binary noise of a formula result such as ``12212.830000000002``.
- **Text**: stripped; a whole number cell is written without ``.0``; ``width`` zero-fills a number cell
  that lost its leading zeros in Excel (an ubigeo ``040112`` saved as the number 40112).
"""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import functools
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.http import Http404, HttpResponse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

Cell = str | int | float | bool | Decimal | dt.date | None  # a dt.datetime is a dt.date

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The file input's ``accept``: what the upload pages offer to pick (the content decides, not the name).
UPLOAD_ACCEPT = f".csv,.xlsx,text/csv,{XLSX_CONTENT_TYPE}"
# An XLSX file travels as text (a form's hidden field, a job's argument) as this data: URL.
XLSX_DATA_URL = f"data:{XLSX_CONTENT_TYPE};base64,"
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc)
# A 5 MB upload of compressed XML could unpack to gigabytes; a real 5,000-row sheet is a few MB. (Entity
# expansion bombs inside the XML are refused by expat itself, 2.4.1 and later.)
XLSX_MAX_UNPACKED_BYTES = 60 * 1024 * 1024
MAX_COLUMNS = 100
DECIMAL_MARKS = (".", ",")
_DELIMITERS = (",", ";")


class TableError(ValueError):
    """The file as a whole cannot be read; ``message`` says why, for the person who uploaded it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TooManyRows(TableError):
    """More than ``max_rows`` data rows; ``row`` is the first one past the limit."""

    def __init__(self, message: str, row: int) -> None:
        super().__init__(message)
        self.row = row


class CellError(ValueError):
    """One value cannot be read; ``message`` says why, naming the value."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Row:
    number: int  # the row as Excel shows it; the header's is 1 in a file that starts with it
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]  # the header row's cells as written, stripped; trailing blanks dropped
    rows: tuple[Row, ...]  # the data rows, blank ones skipped
    header_row: int = 1

    def records(self, names: Sequence[str | None]) -> Iterator[tuple[int, dict[str, Cell]]]:
        """``(row number, {name: cell})`` per row, ``names`` given per header column (None: ignored);
        a short row's missing cells are None."""
        for row in self.rows:
            yield (
                row.number,
                {name: (row.cells[i] if i < len(row.cells) else None) for i, name in enumerate(names) if name},
            )


# --- Reading a file -------------------------------------------------------------------------------------


def header_key(name: str) -> str:
    """A header cell compared forgivingly: "  Recuperación " and "RECUPERACION" → ``recuperacion``,
    "Ley oz/TC" → ``ley_oz_tc``, "H2O %" → ``h2o``."""
    decomposed = unicodedata.normalize("NFKD", name.replace("\ufeff", "").strip().lower())
    plain = "".join(char for char in decomposed if not unicodedata.combining(char))
    return re.sub(r"[^a-z0-9]+", "_", plain).strip("_")


def decode_text(raw: bytes) -> str:
    """Bytes of a CSV as text: UTF-8 (a BOM dropped) when valid, else Windows-1252; a file with one of
    the five bytes Windows-1252 leaves undefined is not Windows-1252, and is read as Latin-1, which
    defines every byte."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def upload_text(raw: bytes) -> str:
    """An uploaded file as text that a form can send back with its confirmation and a job can take as
    an argument: a CSV decoded (``decode_text``), an XLSX workbook as a base64 ``data:`` URL. Read it
    again with ``read_table``."""
    if raw.startswith(_ZIP_MAGIC):
        return XLSX_DATA_URL + base64.b64encode(raw).decode("ascii")
    return decode_text(raw)


def read_table(content: str | bytes, *, max_rows: int, sheet: str | None = None) -> Table:
    """The header and rows of an uploaded CSV or XLSX file — its bytes, or the text ``upload_text``
    made of them. Raises ``TableError`` (``TooManyRows`` past ``max_rows`` data rows)."""
    if isinstance(content, str) and content.startswith(XLSX_DATA_URL):
        try:
            content = base64.b64decode(content[len(XLSX_DATA_URL) :], validate=True)
        except (binascii.Error, ValueError):
            raise TableError(_("The file cannot be read as an XLSX workbook.")) from None
    if isinstance(content, bytes):
        if content.startswith(_ZIP_MAGIC):
            return _read_xlsx(content, max_rows=max_rows, sheet=sheet)
        if content.startswith(_OLE_MAGIC):
            raise TableError(_not_a_table())
        content = decode_text(content)
    return _read_csv(content, max_rows=max_rows)


def _not_a_table() -> str:
    return _(
        "This is not a CSV file or an XLSX workbook (an old .xls, a PDF, an image?). "
        "Save it from Excel as “Libro de Excel (.xlsx)” or “CSV”."
    )


def _empty() -> TableError:
    return TableError(_("The file is empty."))


def _collect(numbered: Iterable[tuple[int, Sequence[Cell]]], *, max_rows: int) -> Table:
    """The first non-blank row as the header, then the non-blank data rows, up to ``max_rows``."""
    header: tuple[str, ...] | None = None
    header_row = 1
    rows: list[Row] = []
    for number, cells in numbered:
        if all(is_blank(cell) for cell in cells):
            continue
        if header is None:
            names = [("" if cell is None else str(cell)).strip() for cell in cells[:MAX_COLUMNS]]
            while names and not names[-1]:
                names.pop()
            header, header_row = tuple(names), number
            continue
        if len(rows) >= max_rows:
            raise TooManyRows(_("At most %(n)s rows per file.") % {"n": max_rows}, number)
        rows.append(Row(number, tuple(cells[:MAX_COLUMNS])))
    if header is None:
        raise _empty()
    return Table(header, tuple(rows), header_row)


def is_blank(cell: Cell) -> bool:
    return cell is None or (isinstance(cell, str) and not cell.strip())


def _read_csv(text: str, *, max_rows: int) -> Table:
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise _empty()
    first_line, _newline, rest = text.partition("\n")
    hinted = re.fullmatch(r"sep=(.)", first_line.strip('"\r'))
    if hinted:  # Excel's own hint line; Excel hides it, and so do its row numbers
        delimiter, text = hinted.group(1), rest
    first_line = next((line for line in io.StringIO(text) if line.strip()), "")
    if not hinted:
        delimiter = max(_DELIMITERS, key=lambda candidate: _column_count(first_line, candidate))
    # A binary file decodes to text too (Windows-1252 maps nearly every byte); its NULs and control bytes
    # give it away, and no header line has them.
    if "\x00" in text or re.search(r"[\x00-\x08\x0e-\x1f]", first_line):
        raise TableError(_not_a_table())
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _collect(enumerate(reader, start=1), max_rows=max_rows)
    except csv.Error as exc:
        raise TableError(_("The CSV cannot be read: %(e)s") % {"e": exc}) from None


def _column_count(line: str, delimiter: str) -> int:
    return len(next(csv.reader([line], delimiter=delimiter), []))


def _read_xlsx(raw: bytes, *, max_rows: int, sheet: str | None) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    unreadable = TableError(_("The file cannot be read as an XLSX workbook."))
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, ValueError):
        raise unreadable from None
    if unpacked > XLSX_MAX_UNPACKED_BYTES:
        raise TableError(_("The workbook is too large once unpacked; split it or save it as CSV."))
    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, ValueError, TypeError, OSError):
        raise unreadable from None
    try:
        by_key = {header_key(name): name for name in workbook.sheetnames}
        name = by_key.get(header_key(sheet)) if sheet else None
        worksheet = workbook[name] if name else workbook.worksheets[0]
        # Some writers record a wrong sheet size; read the rows that are there, not the declared ones.
        worksheet.reset_dimensions()  # type: ignore[union-attr]
        rows = (
            (number, tuple(_xlsx_cell(value) for value in values[:MAX_COLUMNS]))
            for number, values in enumerate(worksheet.iter_rows(values_only=True), start=1)
        )
        return _collect(rows, max_rows=max_rows)
    except TableError:
        raise
    except Exception:  # a malformed part of the archive surfaces only while its rows are read
        raise unreadable from None
    finally:
        workbook.close()


def _xlsx_cell(value: Any) -> Cell:
    if isinstance(value, dt.datetime):
        return value.date() if value.time() == dt.time() else value
    if value is None or isinstance(value, str | int | float | Decimal | dt.date):
        return value
    return str(value)  # a time of day or a duration: shown as text, refused where a number belongs


# --- Values ---------------------------------------------------------------------------------------------


def parse_text(cell: Cell, *, width: int | None = None) -> str:
    """A cell as text: stripped; a whole number without its ``.0``, zero-filled to ``width`` digits when
    given (a fixed-width code whose leading zeros Excel dropped); a date as ``dd/mm/aaaa``."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return str(cell).upper()
    if isinstance(cell, int | float | Decimal):
        number = _number_cell(cell)
        if number == number.to_integral_value():
            digits = f"{number:.0f}"
            return digits.zfill(width) if width and not digits.startswith("-") else digits
        return f"{number:f}"
    if isinstance(cell, dt.datetime):
        return cell.strftime("%d/%m/%Y %H:%M")
    if isinstance(cell, dt.date):
        return cell.strftime("%d/%m/%Y")
    return str(cell).strip()


_DAY_FIRST = re.compile(r"(\d{1,2})([/-])(\d{1,2})\2(\d{4})")
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")


def parse_date(cell: Cell) -> dt.date | None:
    """A date cell, or text ``dd/mm/aaaa``, ``d/m/aaaa``, ``dd-mm-aaaa`` or ``aaaa-mm-dd``; None when blank."""
    if isinstance(cell, dt.date):
        return cell.date() if isinstance(cell, dt.datetime) else cell
    text = parse_text(cell)
    if not text:
        return None
    if isinstance(cell, int | float | Decimal):
        raise CellError(
            _("%(value)s is a number, not a date: write the date as dd/mm/aaaa or format the cell as a date.")
            % {"value": text}
        )
    day_first, iso = _DAY_FIRST.fullmatch(text), _ISO.fullmatch(text)
    try:
        if day_first:
            return dt.date(int(day_first[4]), int(day_first[3]), int(day_first[1]))
        if iso:
            return dt.date(int(iso[1]), int(iso[2]), int(iso[3]))
    except ValueError:
        raise CellError(_("%(value)s is not a valid date.") % {"value": text}) from None
    raise CellError(_("%(value)s is not a date (dd/mm/aaaa).") % {"value": text})


_NUMBER_TEXT = re.compile(r"([+-]?)([0-9]*(?:[.,][0-9]*)*)")
_SWAP_MARKS = str.maketrans(",.", ".,")
_GROUPED = {mark: re.compile(rf"[1-9][0-9]{{0,2}}(?:\{mark}[0-9]{{3}})+") for mark in DECIMAL_MARKS}


@dataclass(frozen=True)
class _Written:
    """How a number is written: its value as plain text (sign, digits, a point before the decimals),
    the decimal mark it shows (None: none, or it cannot tell) and whether it reads two ways."""

    plain: str
    mark: str | None
    ambiguous: bool = False  # "1,234": one mark, three digits after one to three (not a leading 0)


@functools.lru_cache(maxsize=4096)  # a file repeats its amounts ("80", "110"), and is read twice
def _written(text: str) -> _Written | None:
    """``text`` read as a number, or None when it is not one."""
    match = _NUMBER_TEXT.fullmatch(text)
    if match is None or not match[2].strip(".,"):  # no digit at all
        return None
    sign, body = match.groups()
    last = max(body.rfind("."), body.rfind(","))
    if last < 0:
        return _Written(sign + body, None)
    mark = body[last]
    other = "," if mark == "." else "."
    whole, fraction = body[:last], body[last + 1 :]
    if mark in whole:  # "1.234.567": a repeated mark separates thousands, so the decimal mark is the other
        return _Written(sign + body.replace(mark, ""), other) if _GROUPED[mark].fullmatch(body) else None
    if other in whole:  # "1.234,56" / "1,234.56": the last mark is the decimal one
        grouped = _GROUPED[other].fullmatch(whole) and fraction
        return _Written(f"{sign}{whole.replace(other, '')}.{fraction}", mark) if grouped else None
    if not fraction:
        return None
    ambiguous = len(fraction) == 3 and 1 <= len(whole) <= 3 and not whole.startswith("0")
    return _Written(f"{sign}{whole or '0'}.{fraction}", mark, ambiguous)


def decimal_mark_of(cells: Iterable[Cell]) -> str | None:
    """The decimal mark a file's own amounts show ("3322.10", "0,84", "1.234,56"): "." or ",", or None
    when none shows one or they disagree. Number cells show none; ``parse_decimal`` takes the result."""
    shown: set[str] = set()
    for cell in cells:
        written = _written(cell.strip()) if isinstance(cell, str) else None
        if written is not None and written.mark and not written.ambiguous:
            shown.add(written.mark)
    return shown.pop() if len(shown) == 1 else None


def _number_cell(cell: int | float | Decimal) -> Decimal:
    if isinstance(cell, float):
        if not math.isfinite(cell):
            raise CellError(_("%(value)s is not a number.") % {"value": cell})
        return Decimal(format(cell, ".15g"))  # Excel keeps 15 significant digits
    return Decimal(cell)


def parse_decimal(cell: Cell, *, decimal_mark: str | None) -> Decimal | None:
    """A number cell, or text with a decimal point or comma (see the module's docstring); None when
    blank. ``decimal_mark`` is the one the file's other amounts show (``decimal_mark_of``), if any."""
    if isinstance(cell, bool | dt.date):
        raise CellError(_("%(value)s is not a number.") % {"value": parse_text(cell)})
    if isinstance(cell, int | float | Decimal):
        return _number_cell(cell)
    text = parse_text(cell)
    if not text:
        return None
    written = _written(text)
    if written is None:
        raise CellError(_("%(value)s is not a number.") % {"value": text})
    if written.ambiguous and written.mark != decimal_mark:
        raise CellError(_ambiguous(text, decimal_mark))
    return Decimal(written.plain)


def _ambiguous(text: str, decimal_mark: str | None) -> str:
    whole = text.replace(".", "").replace(",", "")
    if decimal_mark is None:
        return _(
            "%(value)s is ambiguous (thousands or decimals?): write %(whole)s if it is a whole number, or "
            "%(decimal)s if it has decimals."
        ) % {"value": text, "whole": whole, "decimal": text + "0"}
    return _(
        "%(value)s is ambiguous (thousands or decimals?): this file writes decimals with “%(mark)s”. Write "
        "%(whole)s if it is a whole number, or %(decimal)s if it has decimals."
    ) % {"value": text, "mark": decimal_mark, "whole": whole, "decimal": text.translate(_SWAP_MARKS)}


# --- Templates to download ------------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateColumn:
    """One column of a downloadable template: its header (what the importer reads), whether a row must
    fill it, its format in words and the example row's value (typed: a date, a Decimal, text)."""

    header: str
    required: bool
    format_help: Any  # text, or a lazy translation read in the user's language when the file is written
    example: Cell = None
    text: bool = False  # an XLSX column of codes kept as text (leading zeros), not numbers


def _example_text(value: Cell) -> str:
    if isinstance(value, Decimal):
        return f"{value:f}"
    return parse_text(value)


def template_csv(columns: Sequence[TemplateColumn]) -> bytes:
    """A CSV template: the header and the example row, comma-separated with a decimal point and
    ``dd/mm/aaaa`` dates (Excel in es-PE opens it in columns), UTF-8 with a BOM so accents survive."""
    from asmcredit.exports import csv_text

    header = [column.header for column in columns]
    return ("\ufeff" + csv_text(header, [[_example_text(column.example) for column in columns]])).encode()


def template_xlsx(columns: Sequence[TemplateColumn], *, sheet: str) -> bytes:
    """An XLSX template: sheet ``sheet`` with the header and the example row (dates as dates, amounts as
    numbers, codes as text), and a sheet "Instrucciones" listing each column, whether it is required and
    its format."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from asmcredit.exports import spreadsheet_cell, spreadsheet_row

    workbook = Workbook()
    data = workbook.active
    data.title = sheet
    data.append(spreadsheet_row(column.header for column in columns))
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        data.column_dimensions[letter].width = max(12, len(column.header) + 4)
        cell = data.cell(row=2, column=index, value=spreadsheet_cell(column.example))
        if column.text:
            cell.value = spreadsheet_cell(_example_text(column.example)) or None
            cell.number_format = "@"
            data.column_dimensions[letter].number_format = "@"
        elif isinstance(column.example, dt.date):
            cell.number_format = "dd/mm/yyyy"
    for header_cell in data[1]:
        header_cell.font = Font(bold=True)
    data.freeze_panes = "A2"
    guide = workbook.create_sheet("Instrucciones")
    guide.append(spreadsheet_row([_("Column"), _("Required"), _("Format")]))
    for column in columns:
        guide.append(
            spreadsheet_row([column.header, _("Yes") if column.required else _("No"), str(column.format_help)])
        )
    for header_cell in guide[1]:
        header_cell.font = Font(bold=True)
    for letter, width in (("A", 26), ("B", 12), ("C", 90)):
        guide.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_response(columns: Sequence[TemplateColumn], *, fmt: str, filename: str, sheet: str) -> HttpResponse:
    """The template as a download, ``filename`` + ``.csv`` or ``.xlsx`` (``fmt``); any other ``fmt``
    is a 404."""
    if fmt == "csv":
        content, content_type = template_csv(columns), "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        content, content_type = template_xlsx(columns, sheet=sheet), XLSX_CONTENT_TYPE
    else:
        raise Http404
    return HttpResponse(
        content,
        content_type=content_type,
        headers={"Content-Disposition": content_disposition_header(True, f"{filename}.{fmt}")},
    )


def sheet_names(content: str | bytes) -> list[str]:
    """The sheets of an XLSX workbook (content as ``read_table`` takes it); [] for a CSV."""
    if isinstance(content, str):
        if not content.startswith(XLSX_DATA_URL):
            return []
        import base64

        content = base64.b64decode(content[len(XLSX_DATA_URL) :])
    if not content.startswith(b"PK\x03\x04"):
        return []
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return []
    try:
        return list(workbook.sheetnames)
    finally:
        workbook.close()
