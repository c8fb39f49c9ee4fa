"""Workbooks for the upload tests, built as Excel would save them."""

from __future__ import annotations

import io
from collections.abc import Sequence

from openpyxl import Workbook


def xlsx(rows: Sequence[Sequence[object]], *, title: str = "Hoja1", before: Sequence[str] = ()) -> bytes:
    """An XLSX file whose sheet ``title`` holds ``rows`` (dates as date cells, numbers as number
    cells); ``before`` names sheets placed ahead of it, each with a title row and one more."""
    workbook = Workbook()
    for name in before:
        cover = workbook.create_sheet(name, 0)
        cover.append(["Portada"])
        cover.append(["otra hoja"])
    sheet = workbook.worksheets[len(before)]
    sheet.title = title
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
