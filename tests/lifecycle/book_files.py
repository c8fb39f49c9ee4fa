"""A small lender's book to migrate: three loans on the DOMAIN.md §3 example's terms (due on the 17th:
a cuota of 1,840.40).

- CMAC-001, Rosa: S/ 10,000 at TEA 40%, six installments from 17/02/2025, the first two paid on their
  due dates (one withheld by the buyer): 6,861.05 of principal left on 31/03/2025, as declared — ties.
- CMAC-002, Teodoro: the same terms, one installment paid: 8,474.79 left, but the lender declares
  8,500.00 — does not tie (27.16).
- CMAC-003, Rosa: the lender's own three-line cronograma (S/ 3,000), the first line paid: 2,000.00 of
  principal and 70.00 of interest due on the cut-off, as declared — ties.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from openpyxl import Workbook

CUTOFF = dt.date(2025, 3, 31)

LOANS_HEADER = [
    "Número préstamo",
    "Documento minero",
    "Producto",
    "Moneda",
    "Capital",
    "TEA",
    "Fecha desembolso",
    "Primer vencimiento",
    "Cuotas",
    "RUC comprador",
    "Saldo capital",
    "Interés vencido",
]


def loans_rows(rosa: str, teodoro: str, product: str, buyer: str, mismatch: str = "8500.00") -> list[list[str]]:
    return [
        ["CMAC-001", rosa, product, "PEN", "10000.00", "40", "15/01/2025", "17/02/2025", "6", buyer, "6857.10", ""],
        ["CMAC-002", teodoro, product, "PEN", "10000.00", "40", "15/01/2025", "17/02/2025", "6", "", mismatch, ""],
        ["CMAC-003", rosa, product, "PEN", "3000.00", "40", "15/01/2025", "", "", "", "2000.00", "70.00"],
    ]


PAYMENTS_HEADER = ["Número préstamo", "Fecha", "Monto", "Tipo", "Referencia"]
PAYMENTS_ROWS = [
    ["CMAC-001", "17/02/2025", "1840.40", "pago", "OP-1"],
    ["CMAC-001", "17/03/2025", "1840.40", "retención", "LQ-7"],
    ["CMAC-002", "17/02/2025", "1840.40", "pago", "OP-2"],
    ["CMAC-003", "15/02/2025", "1100.00", "pago", "OP-3"],
]

SCHEDULE_HEADER = ["Número préstamo", "Cuota", "Vencimiento", "Capital", "Interés", "Seguro", "Comisiones"]
SCHEDULE_ROWS = [
    ["CMAC-003", "1", "15/02/2025", "1000.00", "100.00", "", ""],
    ["CMAC-003", "2", "15/03/2025", "1000.00", "70.00", "", ""],
    ["CMAC-003", "3", "15/04/2025", "1000.00", "35.00", "", ""],
]


def csv_text(header: list[str], rows: list[list[str]]) -> str:
    return "\n".join(",".join(row) for row in [header, *rows]) + "\n"


def workbook(sheets: dict[str, tuple[list[str], list[list[str]]]]) -> bytes:
    """One XLSX with a sheet per table; dates and amounts typed as Excel would keep them."""
    book = Workbook()
    book.remove(book.active)
    for name, (header, rows) in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(header)
        for row in rows:
            sheet.append([_typed(value) for value in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _typed(value: str) -> object:
    if len(value) == 10 and value[2] == "/" and value[5] == "/":
        day, month, year = value.split("/")
        return dt.date(int(year), int(month), int(day))
    if value.replace(".", "", 1).isdigit() and "." in value:
        return Decimal(value)
    return value
