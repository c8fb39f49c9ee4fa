"""The loans list in a browser (headless Chromium against the live server): Olga filters by buyer and
category from the bar, the choice survives the next page, the XLSX link downloads the filtered list, and
on a phone (390×844) the bar is one column of labelled controls. Screenshots in test-artifacts/lists/."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from installments.services import loan_recompute
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import disburse, make_product
from tests.web.browsing import chromium
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "lists"


@pytest.fixture
def browser() -> Iterator[Any]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as launched:
        yield launched


def test_olga_filters_the_loans_pages_on_and_downloads_them(live_server, browser, officer) -> None:  # type: ignore[no-untyped-def]
    orex = BuyerFactory.create(name="Minera Orex S.A.C.")
    chala = BuyerFactory.create(name="Chala Gold S.A.C.", region="21")
    product = make_product()
    today = dt.date.today()
    late = []
    for n in range(27):  # Orex's late loans fill more than a page
        loan = disburse(
            miner=MinerFactory.create(first_names=f"Ana{n:02d}", last_names="Huamán Apaza"),
            product=product,
            officer=officer,
            buyer=orex,
            amount=Decimal("2000.00"),
            disbursed_on=today - dt.timedelta(days=80),
            first_due_on=today - dt.timedelta(days=45),
        )
        late.append(loan_recompute(loan=loan))
    disburse(miner=MinerFactory.create(), product=product, officer=officer, buyer=chala)

    page = browser.new_context(viewport={"width": 1280, "height": 900}, locale="es-PE").new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", officer.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{live_server.url}/")

    page.goto(f"{live_server.url}/loans/")
    page.select_option("#buyer", label="Minera Orex S.A.C.")
    page.select_option("#category", value="deficiente")
    page.click(".filter-bar button[type=submit]")
    page.wait_for_url("**/loans/?*buyer=*")
    assert page.locator("table.data tbody tr").count() == 25
    assert set(page.locator("table.data tbody td:nth-child(2)").all_inner_texts()) == {
        f"Ana{n:02d} Huamán Apaza" for n in range(2, 27)
    }
    page.screenshot(path=str(SHOTS / "loans-filtered.png"), full_page=True)

    page.click("a[rel=next]")
    page.wait_for_url("**after=*")
    assert page.locator("table.data tbody tr").count() == 2
    assert page.locator("#buyer").input_value() == str(orex.pk)
    assert page.locator("#category").input_value() == "deficiente"

    with page.expect_download() as download:
        page.click(".export-links a:has-text('XLSX')")
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
    assert sheet is not None and sheet.max_row == 1 + 27  # the whole filtered list, not the page

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, locale="es-PE")
    phone.add_cookies(page.context.cookies())
    small = phone.new_page()
    small.goto(page.url)
    boxes = [small.locator(f"#{name}").bounding_box() for name in ("q", "status", "buyer")]
    assert all(box is not None for box in boxes)
    # One column: each control under the previous one, each as wide as the bar.
    assert boxes[0]["y"] < boxes[1]["y"] < boxes[2]["y"]  # type: ignore[index]
    assert {round(box["x"]) for box in boxes} == {round(boxes[0]["x"])}  # type: ignore[index]
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    small.screenshot(path=str(SHOTS / "loans-filtered-phone.png"), full_page=True)
