"""The first layouts of the SBS reports (DOMAIN.md §9), in force from any date, seeded by the reports
app's migration (and by ``layouts_ensure`` where a test flushed the tables). The lender adds a version with
its own effective date when the SBS changes its manual; these rows are never edited in place once a file
was written with them."""

from __future__ import annotations

import datetime
from typing import Any

# The first layouts (DOMAIN.md §9), in force from any date: the lender adds a version with its own
# effective date when the SBS changes its manual. Record types start with their code in column 1.
# (record, name, source, constant, position, width, padding, alignment, format)
RCD_FIELDS = [
    ("header", "Tipo de registro", "constant", "0", 1, 1, " ", "left", "text"),
    ("header", "Código de reporte", "report_code", "", 2, 2, "0", "right", "text"),
    ("header", "Código de empresa SBS", "company_code", "", 4, 5, "0", "right", "text"),
    ("header", "Fecha de corte", "cutoff", "", 9, 8, " ", "left", "date"),
    ("header", "Número de deudores", "debtor_count", "", 17, 9, "0", "right", "integer"),
    ("header", "Número de registros", "record_count", "", 26, 9, "0", "right", "integer"),
    ("debtor", "Tipo de registro", "constant", "1", 1, 1, " ", "left", "text"),
    ("debtor", "Número correlativo del deudor", "debtor_seq", "", 2, 9, "0", "right", "integer"),
    ("debtor", "Tipo de documento", "document_type", "", 11, 1, " ", "left", "text"),
    ("debtor", "Número de documento", "document_number", "", 12, 12, " ", "left", "text"),
    ("debtor", "RUC", "ruc", "", 24, 11, " ", "left", "text"),
    ("debtor", "Apellidos", "last_names", "", 35, 60, " ", "left", "text"),
    ("debtor", "Nombres", "first_names", "", 95, 60, " ", "left", "text"),
    ("debtor", "Género", "gender", "", 155, 1, " ", "left", "text"),
    ("debtor", "Clasificación antes del alineamiento", "category_before", "", 156, 1, " ", "left", "text"),
    ("debtor", "Clasificación después del alineamiento", "category_after", "", 157, 1, " ", "left", "text"),
    ("debtor", "Tamaño del deudor", "size", "", 158, 1, " ", "left", "text"),
    ("debtor", "Ubigeo", "ubigeo", "", 159, 6, " ", "left", "text"),
    ("balance", "Tipo de registro", "constant", "2", 1, 1, " ", "left", "text"),
    ("balance", "Número correlativo del deudor", "debtor_seq", "", 2, 9, "0", "right", "integer"),
    ("balance", "Oficina", "branch", "", 11, 4, "0", "right", "text"),
    ("balance", "Ubigeo", "ubigeo", "", 15, 6, " ", "left", "text"),
    ("balance", "Código de cuenta", "account_code", "", 21, 14, " ", "left", "text"),
    ("balance", "Tipo de crédito", "credit_type", "", 35, 2, "0", "right", "text"),
    ("balance", "Saldo (céntimos)", "balance", "", 37, 15, "0", "right", "cents"),
    ("balance", "Días de atraso", "dpd", "", 52, 5, "0", "right", "integer"),
    ("totals", "Tipo de registro", "constant", "9", 1, 1, " ", "left", "text"),
    ("totals", "Código de cuenta", "account_code", "", 2, 14, " ", "left", "text"),
    ("totals", "Número de registros", "records", "", 16, 9, "0", "right", "integer"),
    ("totals", "Saldo total (céntimos)", "balance_total", "", 25, 18, "0", "right", "cents"),
]
CATEGORY_CODES = {"normal": "0", "cpp": "1", "deficiente": "2", "dudoso": "3", "perdida": "4"}
RCD_CODES = {
    "document_type": {"DNI": "1", "CE": "3"},
    "gender": {"M": "1", "F": "2", "X": "0"},
    "category": CATEGORY_CODES,
    "size": {"micro": "1", "small": "2", "medium": "3"},
    "credit_type": {"medium": "08", "small": "09", "micro": "10"},
    "currency_digit": {"PEN": "1", "USD": "2"},
}
ANEXO5_COLUMNS = [
    ("Código de categoría", "category_code"),
    ("Categoría", "category"),
    ("Tipo de garantía", "guarantee"),
    ("Créditos", "loans"),
    ("Saldo (S/)", "balance"),
    ("Provisión (S/)", "provision"),
]
ANEXO5_CODES = {
    "category": CATEGORY_CODES,
    "category_name": {
        "normal": "Normal",
        "cpp": "Con problemas potenciales",
        "deficiente": "Deficiente",
        "dudoso": "Dudoso",
        "perdida": "Pérdida",
    },
    "guarantee": {"none": "Sin garantía", "preferred": "Garantía preferida"},
}
SINCE = datetime.date(2000, 1, 1)


def seed_layouts(report_layout: Any, layout_field: Any) -> None:
    """Create version 1 of each layout with the given model classes (historical ones in a migration)."""
    rcd = report_layout.objects.create(
        kind="rcd",
        version="1",
        effective_from=SINCE,
        report_code="06",
        line_ending="crlf",
        encoding="latin-1",
        codes=RCD_CODES,
        note="Forma del RCD / Anexo 6 (DOMAIN.md §9); revise con el manual vigente de la SBS.",
    )
    orders: dict[str, int] = {}
    for record, name, source, constant, position, width, padding, alignment, fmt in RCD_FIELDS:
        orders[record] = orders.get(record, 0) + 1
        layout_field.objects.create(
            layout=rcd,
            record_type=record,
            order=orders[record],
            name=name,
            source_key=source,
            constant=constant,
            position=position,
            width=width,
            padding_char=padding,
            alignment=alignment,
            format=fmt,
        )
    anexo5 = report_layout.objects.create(
        kind="anexo5",
        version="1",
        effective_from=SINCE,
        report_code="05",
        line_ending="crlf",
        encoding="utf-8",
        codes=ANEXO5_CODES,
        note="Columnas del resumen Anexo 5 (CSV).",
    )
    for order, (name, source) in enumerate(ANEXO5_COLUMNS, start=1):
        fmt = "integer" if source == "loans" else "cents" if source in ("balance", "provision") else "text"
        layout_field.objects.create(
            layout=anexo5,
            record_type="balance",
            order=order,
            name=name,
            source_key=source,
            position=order,
            width=40,
            format=fmt,
        )


def layouts_ensure() -> None:
    """Seed the first layouts when there are none (a database flushed after its migrations)."""
    from reports.regulatory.models import LayoutField, ReportLayout

    if not ReportLayout.objects.exists():
        seed_layouts(ReportLayout, LayoutField)
