"""Files we hand to spreadsheets (CSV, XLSX): every cell goes through ``spreadsheet_cell``.

A text cell that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to Excel and LibreOffice, and a
leading tab or carriage return lets one slip past a naive check; a miner's or buyer's name typed as
``=HYPERLINK(...)`` would then run on the officer's computer (CSV injection). Following OWASP's guidance,
such a cell gets a leading apostrophe, which spreadsheets read as "this is text". Numbers — negative ones
included, whether a ``Decimal`` or the text of one such as ``"-12.50"`` — are left alone, so they stay
numbers in the spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

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
