"""The buyer's upload page takes the files buyers have: Excel's Latin-1 CSV with semicolons, decimal commas
and dd/mm/aaaa dates, a UTF-8 CSV with a BOM, an XLSX workbook — and the template it offers, as it comes.
Results show in es-PE format; bad rows are reported by the row number Excel shows, nothing saved."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from buyers.models import BuyerUser, Settlement
from tests.factories import BuyerFactory, MinerFactory, RelationshipFactory
from tests.inputs.workbooks import xlsx

URL = "/buyer/settlements/upload/"
SETTLED_ON = timezone.localdate() - dt.timedelta(days=30)
SPANISH_HEADER = "Documento;Lote;Fecha;Tipo de cambio;TMH;H2O %;Ley oz/TC;Recuperación;INTER;RC;Maquila;Consumos;Flete"


@pytest.fixture
def orex(db):  # type: ignore[no-untyped-def]
    """Minera Orex with its supplier Ñusta Peña (DNI 41234567) and its user, Ana."""
    from django.contrib.auth import get_user_model

    miner = MinerFactory(first_names="Ñusta", last_names="Peña Huamán", document_number="41234567")
    buyer = RelationshipFactory(buyer=BuyerFactory(name="Minera Orex S.A.C."), miner=miner).buyer
    user = get_user_model().objects.create_user("ana.orex", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=buyer)
    client = Client()
    client.force_login(user)
    return client


def _spanish_row(lot: str, **changes: str) -> str:
    values = {
        "document": "41234567",
        "lot": lot,
        "date": SETTLED_ON.strftime("%d/%m/%Y"),
        "rate": "3,75",
        "tonnes": "10",
        "moisture": "8",
        "grade": "0,5",
        "recovery": "0,84",
        "price": "3.322,10",
        "rc": "80",
        "maquila": "110",
        "reagents": "30,26",
        "freight": "22",
    }
    values.update(changes)
    return ";".join(values.values())


def _upload(client: Client, name: str, content: bytes, **data: str):  # type: ignore[no-untyped-def]
    return client.post(URL, {"file": SimpleUploadedFile(name, content), **data})


def test_it_saves_excels_latin1_semicolon_csv_with_dates_and_decimal_commas(orex: Client) -> None:
    content = "\r\n".join([SPANISH_HEADER, _spanish_row("L-Ñ1"), _spanish_row("L-Ñ2")]).encode("latin-1")
    response = _upload(orex, "liquidaciones.csv", content)
    assert response.status_code == 200
    saved = Settlement.objects.order_by("lot_code")
    assert [s.lot_code for s in saved] == ["L-Ñ1", "L-Ñ2"]
    assert {s.payable_usd for s in saved} == {Decimal("12212.83")}
    assert saved[0].settled_on == SETTLED_ON and saved[0].gold_price_usd_oz == Decimal("3322.10")
    page = response.content.decode()
    assert "Ñusta Peña Huamán" in page
    assert SETTLED_ON.strftime("%d/%m/%Y") in page  # dates and amounts as Peru writes them
    assert "12,212.83" in page and "9.200" in page


def test_it_saves_a_utf8_csv_with_a_bom_iso_dates_and_a_decimal_point(orex: Client) -> None:
    content = (
        "\ufeffminer_document,lot_code,settled_on,exchange_rate,wet_tonnes,moisture_pct,grade_oz_tc,recovery,"
        "gold_price_usd_oz,commercial_deduction_usd_oz,maquila_usd_tc,reagents_usd_tms,freight_usd_tms\n"
        f'41234567,L-1,{SETTLED_ON.isoformat()},3.75,10.000,8,0.5,0.84,"3,322.10",80,110,30.26,22\n'
    ).encode()
    assert _upload(orex, "s.csv", content).status_code == 200
    assert Settlement.objects.get().payable_usd == Decimal("12212.83")


def test_it_saves_an_xlsx_with_date_and_number_cells(orex: Client) -> None:
    header = SPANISH_HEADER.split(";")
    row = ["41234567", "L-X1", SETTLED_ON, 3.75, 10, 8, 0.5, 0.84, 3322.1, 80, 110, 30.26, 22]
    content = xlsx([header, row, [], [*row[:1], "L-X2", *row[2:]]], title="Liquidaciones")
    response = _upload(orex, "liquidaciones.xlsx", content, check_only="on")
    assert response.status_code == 200
    assert "Revisado: todas las filas son válidas (no se guardó nada)" in response.content.decode()
    assert not Settlement.objects.exists()  # a check only
    assert _upload(orex, "liquidaciones.xlsx", content).status_code == 200
    assert sorted(Settlement.objects.values_list("lot_code", "payable_usd")) == [
        ("L-X1", Decimal("12212.83")),
        ("L-X2", Decimal("12212.83")),
    ]


def test_it_reports_every_bad_row_by_its_excel_row_and_column_and_saves_nothing(orex: Client) -> None:
    content = "\r\n".join(
        [
            SPANISH_HEADER,
            _spanish_row("L-1"),
            "",
            _spanish_row("L-2", tonnes="1.250"),  # thousands or decimals? the file writes "3,75"
            _spanish_row("L-3", date="31/02/2025", rate="tres"),
        ]
    ).encode("cp1252")
    response = _upload(orex, "s.csv", content)
    assert response.status_code == 400
    page = response.content.decode()
    assert '<td class="num">4</td><td class="nowrap">TMH <code>wet_tonnes</code></td>' in page
    assert "1.250 es ambiguo" in page and "Escriba 1250 si es un número entero, o 1,250 si tiene decimales." in page
    row_5 = '<td class="num">5</td><td class="nowrap">Fecha <code>settled_on</code></td>'
    assert row_5 + "<td>31/02/2025 no es una fecha válida.</td>" in page
    assert "tres no es un número." in page
    assert not Settlement.objects.exists()


def test_a_binary_file_is_refused_with_what_to_do(orex: Client) -> None:
    response = _upload(orex, "foto.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert response.status_code == 400
    assert "no es un archivo CSV ni un libro XLSX" in response.content.decode()


# --- The template ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloaded_template_uploads_as_it_comes(orex: Client, fmt: str) -> None:
    response = orex.get(f"/buyer/settlements/template.{fmt}")
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="plantilla-liquidaciones.{fmt}"'
    upload = _upload(orex, f"plantilla.{fmt}", response.content)
    assert upload.status_code == 200, upload.content.decode()
    settlement = Settlement.objects.get()
    assert settlement.lot_code == "L-0001" and settlement.settled_on == timezone.localdate()
    assert settlement.wet_tonnes == Decimal("10.25") and settlement.gold_price_usd_oz == Decimal("3322.10")


def test_the_xlsx_template_explains_each_column_in_a_sheet_of_instructions(orex: Client) -> None:
    workbook = load_workbook(io.BytesIO(orex.get("/buyer/settlements/template.xlsx").content), read_only=True)
    assert workbook.sheetnames == ["Liquidaciones", "Instrucciones"]
    guide = list(workbook["Instrucciones"].iter_rows(values_only=True))
    assert guide[0] == ("Columna", "Obligatoria", "Formato")
    rows = {row[0]: row for row in guide[1:]}
    assert rows["Documento"][1] == "Sí" and rows["Ley g/t"][1] == "No"
    assert "dd/mm/aaaa" in rows["Fecha"][2]
    assert rows["TMH"][2] == (
        "Toneladas métricas húmedas (TMH). Un número de 0.001 a 1000, con hasta 3 decimales, con punto o coma decimal."
    )
    header = next(workbook["Liquidaciones"].iter_rows(values_only=True))
    assert header[:4] == ("Documento", "Tipo de documento", "Lote", "Fecha")


def test_the_template_is_for_buyer_users_and_staff_only(django_user_model, officer) -> None:  # type: ignore[no-untyped-def]
    assert Client().get("/buyer/settlements/template.csv").status_code == 302
    stranger = django_user_model.objects.create_user("someone", password="correct-horse-battery-9")
    client = Client()
    client.force_login(stranger)
    assert client.get("/buyer/settlements/template.csv").status_code == 403
    client.force_login(officer)
    assert client.get("/buyer/settlements/template.xlsx").status_code == 200
    assert client.get("/buyer/settlements/template.pdf").status_code == 404


def test_the_upload_page_links_the_template(orex: Client) -> None:
    page = orex.get(URL).content.decode()
    assert 'href="/buyer/settlements/template.xlsx"' in page and 'href="/buyer/settlements/template.csv"' in page
    assert 'accept=".csv,.xlsx,' in page
