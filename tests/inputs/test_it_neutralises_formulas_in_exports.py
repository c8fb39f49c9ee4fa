"""CSV (and any future XLSX) exports neutralise a text cell a spreadsheet would run as a formula (OWASP CSV
injection): a leading apostrophe, while numbers — negative ones too — stay numbers."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings

from asmcredit.exports import spreadsheet_cell
from reports.services import table_csv
from reports.services.portfolio import Table


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ('=HYPERLINK("http://x","clic")', '\'=HYPERLINK("http://x","clic")'),
        ("+51 999 888 777", "'+51 999 888 777"),
        ("-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"),
        ("@SUM(A1:A9)", "'@SUM(A1:A9)"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("-", "'-"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e3", "-1e3"),
        ("Minera Orex S.A.C.", "Minera Orex S.A.C."),
        ("a=b", "a=b"),
        (Decimal("-12.50"), Decimal("-12.50")),
        (-3, -3),
        (None, ""),
    ],
)
def test_a_cell_is_neutralised_only_when_it_could_be_a_formula(value: object, cell: object) -> None:
    assert spreadsheet_cell(value) == cell


def test_a_report_table_exported_as_csv_carries_no_formula() -> None:
    table = Table(
        "buyers",
        "Buyers",
        ("=Buyer", "Loans", "Balance"),
        (
            ('=HYPERLINK("http://evil","Orex")', 3, Decimal("-1250.40")),
            ("@Rival", None, "-0.50"),
        ),
    )
    rows = list(csv.reader(io.StringIO(table_csv(table))))
    assert rows == [
        ["'=Buyer", "Loans", "Balance"],
        ['\'=HYPERLINK("http://evil","Orex")', "3", "-1250.40"],
        ["'@Rival", "", "-0.50"],
    ]


def test_every_csv_or_xlsx_writer_in_the_product_goes_through_the_helper() -> None:
    """A new export must use ``asmcredit.exports`` (the only module allowed to call a CSV/XLSX writer).
    ``asmcredit.tabular`` reads uploads with openpyxl and writes the import templates, their cells
    through ``spreadsheet_cell`` too."""
    writers = re.compile(r"csv\.(writer|DictWriter)\(|openpyxl|xlsxwriter|Workbook\(")
    root = Path(settings.BASE_DIR)
    allowed = {"asmcredit/exports.py", "asmcredit/tabular.py"}
    offenders = [
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if path.relative_to(root).parts[0] not in {".venv", "tests", "bench", "node_modules"}
        and path.relative_to(root).as_posix() not in allowed
        and writers.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
