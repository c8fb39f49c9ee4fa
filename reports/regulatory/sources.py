"""The values a layout's fields can take, per report and record type (``LayoutField.source_key``), and
the code table each one is written through (``ReportLayout.codes``)."""

from __future__ import annotations

from reports.regulatory.fixed_width import BALANCE, CONSTANT, DEBTOR, HEADER, TOTALS

RCD_SOURCES: dict[str, tuple[str, ...]] = {
    HEADER: (CONSTANT, "report_code", "company_code", "cutoff", "debtor_count", "record_count"),
    DEBTOR: (
        CONSTANT,
        "debtor_seq",
        "document_type",
        "document_number",
        "ruc",
        "last_names",
        "first_names",
        "full_name",
        "gender",
        "category_before",
        "category_after",
        "size",
        "ubigeo",
    ),
    BALANCE: (
        CONSTANT,
        "debtor_seq",
        "branch",
        "ubigeo",
        "account_code",
        "currency",
        "credit_type",
        "balance",
        "dpd",
    ),
    TOTALS: (CONSTANT, "account_code", "currency", "records", "balance_total"),
}

# Anexo 5 is a table (CSV and PDF): its "balance" fields are the CSV's columns, in order.
ANEXO5_SOURCES: dict[str, tuple[str, ...]] = {
    BALANCE: ("category_code", "category", "guarantee", "loans", "balance", "provision"),
}

# Source key → the code table of ``ReportLayout.codes`` its value is written through.
CODE_TABLES = {
    "document_type": "document_type",
    "gender": "gender",
    "category_before": "category",
    "category_after": "category",
    "category_code": "category",
    "size": "size",
    "credit_type": "credit_type",
}


def source_keys(kind: str, record_type: str) -> tuple[str, ...]:
    sources = ANEXO5_SOURCES if kind == "anexo5" else RCD_SOURCES
    return sources.get(record_type, ())
