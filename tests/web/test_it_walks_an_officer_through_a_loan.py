"""The whole origination flow in a real browser (headless Chromium) against the live server:

register a miner, import its settlements from a CSV, prepare an equipment application with a live
schedule preview, submit it; another person approves it; the officer disburses it and sees the
cronograma; then switches the interface to English. Screenshots of the main pages are written to
test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from loans.underwriting import months_before
from tests.web.browsing import VIEWPORT, chromium
from tests.web.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def browser_page():  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(viewport=VIEWPORT, locale="es-PE")
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        context.close()


def _shot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    # Back to the top first: the header is sticky and would be painted mid-page otherwise.
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("Usuario").fill(username) if page.get_by_label("Usuario").count() else page.fill(
        "#id_username", username
    )
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit].primary")
    page.wait_for_url(f"{base}/")


def _logout(page) -> None:  # type: ignore[no-untyped-def]
    page.click("form[action$='/accounts/logout/'] button")


def _settlements_csv(dni: str, today: dt.date) -> str:
    lines = [
        "miner_document,lot_code,settled_on,exchange_rate,wet_tonnes,moisture_pct,grade_oz_tc,recovery,"
        "gold_price_usd_oz,commercial_deduction_usd_oz,maquila_usd_tc,reagents_usd_tms,freight_usd_tms"
    ]
    for n, key in enumerate(months_before(today, 12)):
        day = f"{key}-10"
        lines.append(f"{dni},HIST-{n:03d},{day},3.7500,10,8,0.5,0.84,3322.10,80,110,30.26,22")
    return "\n".join(lines) + "\n"


def test_it_walks_an_officer_through_a_loan(live_server, browser_page, officer, approver) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from loans.models import Loan, LoanApplication
    from tests.factories import BuyerFactory, EquipmentFactory, LoanProductFactory

    page = browser_page
    base = live_server.url
    today = timezone.localdate()
    buyer: Any = BuyerFactory(name="Minera Orex S.A.C.")
    product: Any = LoanProductFactory(name="Equipo libre de mercurio", requires_equipment=True)
    equipment: Any = EquipmentFactory(name="Concentrador centrífugo Knelson", price="24000.00")
    officer.first_name, officer.last_name = "Olga", "Condori"
    officer.save()

    # --- the officer signs in and registers a miner who sells ore to Orex
    _login(page, base, officer.username)
    assert "Cartera al" in page.locator(".page-head").first.inner_text()
    _shot(page, "01-dashboard")
    page.click("text=Registrar minero")
    page.fill("#id_first_names", "Rosa")
    page.fill("#id_last_names", "Huamán Quispe")
    page.fill("#id_document_number", "41234567")
    page.select_option("#id_gender", "F")
    page.fill("#id_ubigeo", "040112")
    page.fill("#id_reinfo_code", "REINFO-004512")
    page.select_option("#id_reinfo_status", "vigente")
    page.fill("#id_reinfo_date", "01/03/2022")
    page.select_option("#id_formalization_stage", "reinfo")
    page.select_option("#id_rel-buyer", str(buyer.pk))
    page.fill("#id_rel-since", (today - dt.timedelta(days=800)).strftime("%d/%m/%Y"))
    _shot(page, "02-miner-form")
    page.click("button[type=submit].primary")
    page.wait_for_selector("h1:has-text('Rosa Huamán Quispe')")

    # --- imports a year of settlements for her from Orex's CSV: preview, then confirm
    page.goto(f"{base}/miners/import/settlements/")
    page.select_option("#id_buyer", str(buyer.pk))
    page.set_input_files(
        "#id_file",
        files=[{"name": "orex.csv", "mimeType": "text/csv", "buffer": _settlements_csv("41234567", today).encode()}],
    )
    page.click("button[value=preview]")
    page.wait_for_selector("text=Confirmar importación")
    assert page.locator("table.data tbody tr").count() == 12
    _shot(page, "03-settlements-preview")
    page.click("button[value=confirm]")
    page.wait_for_selector("text=12 registros importados.")
    _shot(page, "04-import-done")

    # --- prepares an equipment application and watches the schedule preview
    page.goto(f"{base}/miners/")
    page.fill("#q", "41234567")
    page.wait_for_selector("#miner-results a:has-text('Huamán Quispe')")
    page.click("#miner-results a:has-text('Huamán Quispe')")
    page.wait_for_selector("text=Historial de liquidaciones")
    _shot(page, "05-miner-profile")
    page.click("text=Nueva solicitud")
    page.select_option("#id_product", str(product.pk))
    page.wait_for_selector("#id_equipment")
    page.select_option("#id_withholding_buyer", str(buyer.pk))
    page.select_option("#id_equipment", str(equipment.pk))
    from playwright.sync_api import expect

    # A locator assertion, not wait_for_function: the page's CSP (script-src 'self') forbids the eval that
    # a string predicate needs, as it should.
    expect(page.locator("#id_amount")).to_have_value("24000.00")
    page.fill("#id_term", "12")
    page.locator("#id_term").dispatch_event("change")
    page.wait_for_selector("#preview :text('TCEA')")
    page.wait_for_selector("#preview .recommendation")
    assert "40.00%" in page.locator("#preview").inner_text()
    _shot(page, "06-application-preview")
    page.click("button[type=submit]:has-text('Guardar borrador')")
    page.wait_for_selector("text=Enviar a aprobación")
    page.click("text=Enviar a aprobación")
    page.wait_for_selector("text=Solicitud enviada al comité de créditos.")
    application = LoanApplication.objects.get(miner__document_number="41234567")
    assert application.status == LoanApplication.Status.SUBMITTED
    assert application.underwriting["recommendation"] == "approve"
    _shot(page, "07-application-submitted")
    _logout(page)

    # --- another person, the credit approver, approves it
    _login(page, base, approver.username)
    page.goto(f"{base}/loans/applications/{application.pk}/")
    page.fill("#id_comment", "Historial regular con Orex; capacidad holgada.")
    _shot(page, "08-approval")
    page.click("button[value=approve]")
    page.wait_for_selector("text=Solicitud aprobada.")
    _logout(page)

    # --- the officer disburses: the loan and its cronograma appear
    _login(page, base, officer.username)
    page.goto(f"{base}/loans/applications/{application.pk}/")
    page.fill("#id_reference", "TRF-000123")
    page.click("button:has-text('Desembolsar')")
    page.wait_for_selector("text=Cronograma")
    loan = Loan.objects.get(application=application)
    assert loan.payee == Loan.Payee.SUPPLIER
    assert page.locator("table.data").first.locator("tbody tr").count() == 12
    assert "S/ 24,000.00" in page.content()
    _shot(page, "09-loan")
    page.goto(f"{base}/buyers/{buyer.pk}/")
    _shot(page, "10-buyer")

    # --- and switches the interface to English
    page.goto(f"{base}/loans/{loan.pk}/")
    page.click("button[value=en]")
    page.wait_for_selector("text=Record payment")
    assert page.locator("html").get_attribute("lang") == "en"
    assert "Schedule (cronograma)" in page.content()
    assert "S/ 24,000.00" in page.content()
    _shot(page, "11-loan-english")
    page.goto(f"{base}/")
    _shot(page, "12-dashboard-english")
