"""In a real browser (headless Chromium): an officer imports a buyer's settlements from the CSV that
Excel in Spanish saves — Latin-1, semicolon-separated, dd/mm/aaaa dates, decimal commas. One row's
amount is ambiguous: the page names its row and column and saves nothing; with the row fixed, the preview
shows the rows in es-PE format and the import runs. Screenshots in test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.web.test_it_walks_an_officer_through_a_loan import _login, _shot, browser_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = "Documento;Lote;Fecha;Tipo de cambio;TMH;H2O %;Ley oz/TC;Recuperación;INTER;RC;Maquila;Consumos;Flete"


def _csv(day: dt.date, tonnes_of_lot_2: str) -> bytes:
    date = day.strftime("%d/%m/%Y")
    rows = [
        f"41234567;LOTE-Ñ{n};{date};3,75;{tonnes};8;0,5;0,84;3.322,10;80;110;30,26;22"
        for n, tonnes in ((1, "10"), (2, tonnes_of_lot_2), (3, "12,5"))
    ]
    return "\r\n".join([HEADER, *rows]).encode("latin-1")


def test_an_officer_uploads_excels_latin1_settlements(live_server, browser_page, officer) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    from django.utils import timezone

    from buyers.models import Settlement
    from tests.factories import BuyerFactory, MinerFactory, RelationshipFactory

    page = browser_page
    base = live_server.url
    day = timezone.localdate() - dt.timedelta(days=20)
    miner = MinerFactory(first_names="Ñusta", last_names="Peña Huamán", document_number="41234567")
    buyer: Any = RelationshipFactory(buyer=BuyerFactory(name="Minera Añaños S.A.C."), miner=miner).buyer

    _login(page, base, officer.username)
    page.goto(f"{base}/miners/import/settlements/")
    page.select_option("#id_buyer", str(buyer.pk))
    page.set_input_files(
        "#id_file", files=[{"name": "liquidaciones.csv", "mimeType": "text/csv", "buffer": _csv(day, "1.250")}]
    )
    page.click("button[value=preview]")
    report = page.locator("table.data tbody tr")
    report.first.wait_for()
    assert report.count() == 1  # one row error, in the row Excel shows
    cells = report.first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "TMH wet_tonnes"]
    assert cells[2] == (
        "1.250 es ambiguo (¿miles o decimales?): este archivo escribe los decimales con «,». "
        "Escriba 1250 si es un número entero, o 1,250 si tiene decimales."
    )
    assert page.locator("button[value=confirm]").count() == 0
    _shot(page, "import-latin1-01-row-error")
    assert not Settlement.objects.exists()

    page.set_input_files(
        "#id_file", files=[{"name": "liquidaciones.csv", "mimeType": "text/csv", "buffer": _csv(day, "1,250")}]
    )
    page.select_option("#id_buyer", str(buyer.pk))
    page.click("button[value=preview]")
    page.wait_for_selector("text=Confirmar importación")
    rows = [row.locator("td").all_inner_texts() for row in page.locator("table.data tbody tr").all()]
    assert [row[:3] for row in rows] == [
        [day.strftime("%d/%m/%Y"), "Ñusta Peña Huamán", f"LOTE-Ñ{n}"] for n in (1, 2, 3)
    ]
    assert [(row[3], row[4]) for row in rows] == [
        ("9.200", "US$ 12,212.83"),
        ("1.150", "US$ 1,526.60"),
        ("11.500", "US$ 15,266.04"),
    ]
    _shot(page, "import-latin1-02-preview")
    page.click("button[value=confirm]")
    page.wait_for_selector("text=3 registros importados.")
    _shot(page, "import-latin1-03-done")
    assert sorted(Settlement.objects.values_list("lot_code", flat=True)) == ["LOTE-Ñ1", "LOTE-Ñ2", "LOTE-Ñ3"]
