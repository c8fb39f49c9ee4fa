"""The two helpers every list uses: ``asmcredit.web.paginate`` (pages read by keyset, never counted) and
``asmcredit.exports.export_response`` (CSV streamed with a BOM, XLSX with typed cells), as other lists
(remittances, exceptions, documents) call them."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from asmcredit import exports
from asmcredit.exports import Column, export_format, export_response
from asmcredit.web import paginate
from miners.models import Miner
from tests.factories import MinerFactory

D = Decimal

COLUMNS = [
    Column("Nombre", "miner.name"),
    Column("Documento", "miner.document", sensitive=True),
    Column("Monto", "amount", kind=Column.MONEY),
    Column("Fecha", "day", kind=Column.DATE),
    Column("Registrado", "at", kind=Column.DATETIME),
    Column("Cuotas", "installments", kind=Column.INTEGER),
    Column("Vigente", "current"),
]
ROWS = [
    SimpleNamespace(
        miner=SimpleNamespace(name="Rosa Huamán", document="41234567"),
        amount=D("1234.5"),
        day=dt.date(2025, 3, 1),
        at=dt.datetime(2025, 3, 1, 15, 30, tzinfo=dt.UTC),
        installments=12,
        current=True,
    ),
    SimpleNamespace(
        miner=SimpleNamespace(name="@SUM(A1:A9)", document=""),
        amount=D("-12.50"),
        day=None,
        at=None,
        installments=None,
        current=False,
    ),
    SimpleNamespace(miner=None, amount=None, day=None, at=None, installments=0, current=False),
]


def request(query: str, user: Any = None) -> Any:
    made = RequestFactory().get(f"/list/?{query}")
    made.user = user or AnonymousUser()
    return made


def test_only_csv_and_xlsx_are_exports() -> None:
    assert [export_format(request(f"format={f}")) for f in ("csv", "xlsx", "pdf", "")] == ["csv", "xlsx", None, None]


def test_the_csv_is_streamed_for_excel_in_peru() -> None:
    response: Any = export_response(request("format=csv"), rows=ROWS, columns=COLUMNS, filename="lista")
    assert response.streaming and response["Content-Disposition"] == 'attachment; filename="lista.csv"'
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeffNombre,")
    header, rosa, formula, empty = csv.reader(io.StringIO(body.lstrip("\ufeff")))
    assert header == ["Nombre", "Documento", "Monto", "Fecha", "Registrado", "Cuotas", "Vigente"]
    # A point decimal and ISO dates, as Excel in es-PE reads them; the time in Lima.
    assert rosa == ["Rosa Huamán", "••••", "1234.50", "2025-03-01", "2025-03-01 10:30", "12", "Yes"]
    assert formula == ["'@SUM(A1:A9)", "", "-12.50", "", "", "", "No"]
    assert empty == ["", "", "", "", "", "0", "No"]


def test_staff_who_may_see_documents_get_them(officer) -> None:  # type: ignore[no-untyped-def]
    response: Any = export_response(request("format=csv", officer), rows=ROWS[:1], columns=COLUMNS, filename="lista")
    assert "41234567" in b"".join(response.streaming_content).decode()


def test_the_xlsx_has_typed_cells() -> None:
    response: Any = export_response(request("format=xlsx"), rows=ROWS, columns=COLUMNS, filename="lista")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None and sheet.title == "lista" and sheet.freeze_panes == "A2"
    header, rosa, formula, _empty = list(sheet.iter_rows())
    assert [cell.value for cell in header] == [column.header for column in COLUMNS] and header[0].font.b
    assert rosa[2].value == D("1234.5") and rosa[2].number_format == "#,##0.00"
    assert rosa[3].value == dt.datetime(2025, 3, 1) and rosa[3].number_format == "dd/mm/yyyy"
    assert rosa[4].value == dt.datetime(2025, 3, 1, 10, 30)
    assert rosa[5].value == 12 and rosa[1].value == "••••"
    assert formula[0].value == "'@SUM(A1:A9)" and formula[0].data_type == "s"
    assert formula[2].value == D("-12.50")


def test_a_list_too_long_for_a_worksheet_asks_for_csv(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 2)
    response: Any = export_response(request("format=xlsx"), rows=ROWS, columns=COLUMNS, filename="lista")
    assert response.status_code == 400 and "CSV" in response.content.decode()


@pytest.mark.django_db
def test_a_queryset_is_read_in_chunks_not_all_at_once() -> None:
    MinerFactory.create_batch(3)
    response: Any = export_response(
        request("format=csv"), rows=Miner.objects.order_by("id"), columns=[Column("Id", "pk")], filename="m"
    )
    with CaptureQueriesContext(connection) as queries:
        lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 4
    assert queries.captured_queries and "DECLARE" in queries.captured_queries[0]["sql"]  # a server-side cursor


@pytest.mark.django_db
@pytest.mark.parametrize("descending", [False, True])
def test_pages_follow_each_other_both_ways_without_a_count(descending: bool) -> None:
    for n in range(12):
        MinerFactory.create(last_names=f"Apaza {n % 4}")  # ties on the name, broken by the id
    order = ("-last_names", "-id") if descending else ("last_names", "id")
    miners = Miner.objects.order_by(*order)
    everyone = list(miners.values_list("pk", flat=True))

    def read(query: str) -> tuple[list[int], Any]:
        with CaptureQueriesContext(connection) as queries:
            page = paginate(request(query), miners, per_page=5)
        assert len(queries.captured_queries) == 1 and "COUNT" not in queries.captured_queries[0]["sql"]
        return [miner.pk for miner in page], page

    seen, page = read("region=04")
    pages = [seen]
    while page.has_next:
        assert parse_qs(page.next_query)["region"] == ["04"]
        seen, page = read(page.next_query)
        pages.append(seen)
    assert [pk for chunk in pages for pk in chunk] == everyone and [len(chunk) for chunk in pages] == [5, 5, 2]
    assert (page.start_index, page.end_index) == (11, 12)
    back, page = read(page.previous_query)
    assert back == pages[1] and page.has_previous and page.start_index == 6
    back, page = read(page.previous_query)
    assert back == pages[0] and not page.has_previous


@pytest.mark.django_db
def test_a_list_in_another_order_pages_by_offset_without_a_count() -> None:
    MinerFactory.create_batch(7)
    miners = Miner.objects.order_by("last_names", "-id")  # mixed directions: no keyset
    page = paginate(request("page=2"), miners, per_page=5)
    assert len(page) == 2 and page.has_previous and not page.has_next and page.start_index == 6
    assert paginate(request("page=x"), miners, per_page=5).start_index == 1
    assert len(paginate(request("page=2"), list(range(7)), per_page=5)) == 2
