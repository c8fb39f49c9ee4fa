"""The officer lists: search by name whatever the accents and case, by document exactly (staff only),
filters kept across pages, bad parameters reported on the bar (never a 500), and every list downloaded
as CSV or XLSX with its filters — amounts as numbers, dates as dates, formulas neutralised, document
numbers masked for the NGO analyst.

Personas: Olga the loan officer; Nadia the NGO analyst; Rosa Huamán Condori (Arequipa) and Teodoro
Quispe Ccama (Puno), who borrow; Minera Orex and Chala Gold, who buy their ore."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest
from django.test import Client
from openpyxl import load_workbook

from installments.services import loan_recompute
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import disburse, make_product

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def analyst_client(analyst):  # type: ignore[no-untyped-def]
    """Nadia's own browser (the ``client`` fixture is Olga's)."""
    client = Client()
    client.force_login(analyst)
    return client


@pytest.fixture
def book(officer) -> SimpleNamespace:  # type: ignore[no-untyped-def]
    orex = BuyerFactory.create(name="Minera Orex S.A.C.", region="04")
    chala = BuyerFactory.create(name="Chala Gold S.A.C.", region="21", kind="processing_plant")
    equipment = make_product()
    capital = make_product(code="capital-trabajo", name="Capital de trabajo")
    rosa = MinerFactory.create(
        first_names="Rosa", last_names="Huamán Condori", gender="F", ubigeo="040112", document_number="41234567"
    )
    teodoro = MinerFactory.create(first_names="Teodoro", last_names="Quispe Ccama", ubigeo="211101")
    nahui = MinerFactory.create(first_names="Inés", last_names="Ñahui Apaza", ubigeo="040112")
    today = dt.date.today()
    rosa_loan = disburse(
        miner=rosa,
        product=equipment,
        officer=officer,
        buyer=orex,
        disbursed_on=today - dt.timedelta(days=20),
        first_due_on=today + dt.timedelta(days=10),
    )
    late = disburse(
        miner=teodoro,
        product=capital,
        officer=officer,
        buyer=chala,
        amount=D("4000.00"),
        disbursed_on=today - dt.timedelta(days=80),
        first_due_on=today - dt.timedelta(days=45),
    )
    loan_recompute(loan=late)  # 45 days past due today: Deficiente
    return SimpleNamespace(
        orex=orex,
        chala=chala,
        equipment=equipment,
        capital=capital,
        rosa=rosa,
        teodoro=teodoro,
        nahui=nahui,
        rosa_loan=rosa_loan,
        late=late,
    )


def text(response: Any) -> str:
    assert response.status_code == 200
    return response.content.decode()


# --- Search ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["huaman", "HUAMAN", "Huamán", "rosa huaman", "  huamán   condori "])
def test_it_finds_a_miner_whatever_the_accents_and_case(officer_client, book, query) -> None:  # type: ignore[no-untyped-def]
    page = text(officer_client.get("/miners/", {"q": query}))
    assert "Huamán Condori, Rosa" in page
    assert "Quispe Ccama" not in page


def test_an_enye_is_found_as_an_n(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    assert "Ñahui Apaza, Inés" in text(officer_client.get("/miners/", {"q": "nahui ines"}))


def test_it_finds_a_miner_by_document_exactly_for_staff_only(officer_client, analyst_client, book) -> None:  # type: ignore[no-untyped-def]
    assert "Huamán Condori, Rosa" in text(officer_client.get("/miners/", {"q": " 4123 4567 "}))
    # A part of a number is no match: documents are matched whole, on their index.
    assert "Huamán Condori, Rosa" not in text(officer_client.get("/miners/", {"q": "4123456"}))
    # An NGO analyst never sees document numbers, so cannot search by one either.
    assert "Huamán Condori, Rosa" not in text(analyst_client.get("/miners/", {"q": "41234567"}))


def test_it_finds_a_loan_by_number_by_borrower_document_or_name(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    for query in (book.rosa_loan.code.lower(), "41234567", "huaman"):
        page = text(officer_client.get("/loans/", {"q": query}))
        assert book.rosa_loan.code in page and book.late.code not in page, query


# --- Filters and pages ------------------------------------------------------------------------------


def rows_of(page: str) -> list[str]:
    return re.findall(r'href="/loans/\d+/">([^<]+)</a>', page)


def test_it_filters_loans_by_buyer_region_product_category_and_officer(officer_client, officer, book) -> None:  # type: ignore[no-untyped-def]
    rosa, late = book.rosa_loan.code, book.late.code

    def codes(**filters: Any) -> list[str]:
        return rows_of(text(officer_client.get("/loans/", filters)))

    assert sorted(codes()) == sorted([rosa, late])
    assert codes(buyer=book.orex.pk) == [rosa]
    assert codes(region="21") == [late]
    assert codes(product=book.capital.pk) == [late]
    assert codes(category="deficiente") == [late]
    assert codes(category="normal") == [rosa]
    assert codes(late="on") == [late]
    assert sorted(codes(officer=officer.pk)) == sorted([rosa, late])
    assert codes(buyer=book.orex.pk, region="21") == []


def test_it_filters_applications_and_miners_and_buyers(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    applications = text(officer_client.get("/loans/applications/", {"buyer": book.chala.pk}))
    assert f"#{book.late.application_id}<" in applications and f"#{book.rosa_loan.application_id}<" not in applications
    miners = text(officer_client.get("/miners/", {"region": "21"}))
    assert "Quispe Ccama, Teodoro" in miners and "Huamán" not in miners
    buyers = text(officer_client.get("/buyers/", {"region": "21"}))
    assert "Chala Gold" in buyers and "Minera Orex" not in buyers
    assert "Minera Orex" in text(officer_client.get("/buyers/", {"q": book.orex.ruc}))


def test_it_pages_without_counting_and_keeps_the_filters(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    for n in range(30):
        MinerFactory.create(first_names=f"Ana{n:02d}", last_names="Apaza Vilca", ubigeo="080101")
    first = text(officer_client.get("/miners/", {"region": "08"}))
    names = re.findall(r"Apaza Vilca, (Ana\d\d)", first)
    assert names == [f"Ana{n:02d}" for n in range(25)]
    assert "Filas 1–25" in first
    following = re.search(r'href="\?([^"]+)" rel="next"', first)
    assert following is not None
    query = following.group(1).replace("&amp;", "&")
    assert "region=08" in query and "after=" in query

    second = text(officer_client.get(f"/miners/?{query}"))
    assert re.findall(r"Apaza Vilca, (Ana\d\d)", second) == [f"Ana{n:02d}" for n in range(25, 30)]
    assert 'rel="next"' not in second and "Filas 26–30" in second
    back = re.search(r'href="\?([^"]+)" rel="prev"', second)
    assert back is not None
    again = text(officer_client.get("/miners/?" + back.group(1).replace("&amp;", "&")))
    assert re.findall(r"Apaza Vilca, (Ana\d\d)", again) == names and 'rel="prev"' not in again


@pytest.mark.parametrize(
    ("url", "error"),
    [
        ("/loans/?buyer=abc", True),
        ("/loans/?category=malo", True),
        ("/miners/?region=99", True),
        ("/loans/?after=not-a-cursor", False),
        ("/miners/?before=eyJ4IjoxfQ", False),
        ("/loans/applications/?page=-3", False),
        ("/loans/?q=" + "x" * 500, True),
    ],
)
def test_a_bad_parameter_is_shown_on_the_bar_never_a_500(officer_client, book, url, error) -> None:  # type: ignore[no-untyped-def]
    page = text(officer_client.get(url))
    assert ('aria-invalid="true"' in page) is error


# --- Downloads ---------------------------------------------------------------------------------------


def csv_rows(response: Any) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content)
    assert body.startswith("\ufeff".encode())  # so Excel reads the accents as UTF-8
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))


def xlsx_rows(response: Any) -> list[tuple[Any, ...]]:
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith('.xlsx"')
    sheet = load_workbook(io.BytesIO(response.content)).active
    return [tuple(cell for cell in row) for row in sheet.iter_rows()]  # type: ignore[union-attr]


def test_it_downloads_the_filtered_loans_as_csv_in_spanish(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    rows = csv_rows(officer_client.get("/loans/", {"buyer": book.chala.pk, "format": "csv"}))
    header, *data = rows
    assert header[:3] == ["Crédito", "Prestatario", "Documento"]
    assert [row[0] for row in data] == [book.late.code]
    by_name = dict(zip(header, data[0], strict=True))
    assert by_name["Capital"] == "4000.00"
    assert by_name["Desembolsado"] == book.late.disbursed_on.isoformat()
    assert by_name["Categoría"] == "Deficiente"


def test_it_downloads_xlsx_with_numbers_dates_and_no_formulas(officer_client, officer, book) -> None:  # type: ignore[no-untyped-def]
    evil = MinerFactory.create(first_names='=HYPERLINK("http://x","clic")', last_names="Eva", ubigeo="040112")
    disburse(miner=evil, product=book.equipment, officer=officer, buyer=book.orex)
    rows = xlsx_rows(officer_client.get("/loans/", {"buyer": book.orex.pk, "format": "xlsx"}))
    header = [cell.value for cell in rows[0]]
    by_code = {row[0].value: dict(zip(header, row, strict=True)) for row in rows[1:]}
    rosa = by_code[book.rosa_loan.code]
    assert rosa["Capital"].value == 10000 and rosa["Capital"].number_format == "#,##0.00"
    assert rosa["Desembolsado"].is_date and rosa["Desembolsado"].number_format == "dd/mm/yyyy"
    assert rosa["Desembolsado"].value.date() == book.rosa_loan.disbursed_on
    borrower = next(
        cells["Prestatario"] for cells in by_code.values() if "HYPERLINK" in str(cells["Prestatario"].value)
    )
    assert borrower.data_type == "s" and borrower.value.startswith("'")


def test_every_list_downloads_in_both_formats(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    for url in ("/miners/", "/loans/", "/loans/applications/", "/buyers/"):
        assert len(csv_rows(officer_client.get(url, {"format": "csv"}))) > 1, url
        assert len(xlsx_rows(officer_client.get(url, {"format": "xlsx"}))) > 1, url


def test_the_analyst_downloads_no_document_numbers(officer_client, analyst_client, book) -> None:  # type: ignore[no-untyped-def]
    def documents(client: Any) -> set[str]:
        header, *data = csv_rows(client.get("/miners/", {"q": "huaman", "format": "csv"}))
        return {row[header.index("Documento")] for row in data}

    assert documents(officer_client) == {"41234567"}
    assert documents(analyst_client) == {"••••"}
    header, *data = csv_rows(analyst_client.get("/loans/", {"format": "csv"}))
    assert {row[header.index("Documento")] for row in data} == {"••••"}


def test_the_list_links_its_downloads_with_its_filters(officer_client, book) -> None:  # type: ignore[no-untyped-def]
    page = text(officer_client.get("/loans/", {"buyer": book.orex.pk}))
    assert f"?buyer={book.orex.pk}&amp;format=csv" in page and f"?buyer={book.orex.pk}&amp;format=xlsx" in page
