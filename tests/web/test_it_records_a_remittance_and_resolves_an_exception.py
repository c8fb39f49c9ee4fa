"""Treasury in a real browser (headless Chromium) against the live server: Tania, the treasurer, records
Minera Orex's transfer after seeing what Orex owes; the transfer is S/ 252.12 more than the withholdings,
which leaves one over-remittance exception; she resolves it from the exceptions queue and finds it among
the resolved ones. Screenshots go to test-artifacts/screenshots/treasury-*.png.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from installments.models import ReconciliationException, Remittance
from tests.installments import treasury_personas as personas
from tests.web import test_it_walks_an_officer_through_a_loan as walk

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


# Minera Orex withheld S/ 1,373.94 from Rosa (10/02/2025) and from Teodoro (12/02/2025); Tania is the treasurer.
orex, rosa, teodoro, product = personas.orex, personas.rosa, personas.teodoro, personas.product
withholdings, treasurer = personas.withholdings, personas.treasurer
browser_page, _login, _shot = walk.browser_page, walk._login, walk._shot


def test_it_records_a_remittance_and_resolves_its_exception(  # type: ignore[no-untyped-def]
    live_server,
    browser_page,
    orex,
    withholdings,
    treasurer,
):
    page = browser_page
    base = live_server.url

    # --- Tania opens "Registrar remesa" and chooses the buyer: what Orex owes is on screen, oldest first
    _login(page, base, treasurer.username)
    page.click("nav >> text=Registrar remesa")
    _shot(page, "treasury-00-choose-the-buyer")
    page.select_option("#choose-buyer", str(orex.pk))
    page.click("text=Ver lo que adeuda")
    owed = page.locator("#owed")
    owed.wait_for()
    assert "S/ 2,747.88" in owed.inner_text()
    rows = owed.locator("tbody tr")
    assert rows.count() == 2 and "R-1" in rows.nth(0).inner_text() and "T-1" in rows.nth(1).inner_text()
    _shot(page, "treasury-01-what-orex-owes")

    # --- she types the transfer as the bank statement shows it
    page.fill("#id_paid_on", "14/02/2025")
    page.fill("#id_amount", "3000.00")
    page.fill("#id_reference", "BCP-000123")
    page.fill("#id_note", "Transferencia semanal de Orex")
    _shot(page, "treasury-02-the-transfer")
    page.click("button:has-text('Registrar la remesa')")
    page.wait_for_selector("text=Remesa BCP-000123 registrada.")
    detail = page.content()
    assert "S/ 2,747.88" in detail and "S/ 252.12" in detail and "remesa en exceso" in detail
    assert page.locator("section[aria-labelledby=match-title] tbody tr").count() == 2
    _shot(page, "treasury-03-what-it-matched")
    remittance = Remittance.objects.get(reference="BCP-000123")
    assert remittance.unmatched_amount == Decimal("252.12") and remittance.created_by == treasurer

    # --- the over-remittance waits in the queue; she resolves it from its row
    page.click("text=Resolver en la cola")
    page.wait_for_selector("h1:has-text('Excepciones de conciliación')")
    assert page.locator("table.data tbody tr").count() == 1
    row = page.locator("table.data tbody tr").first
    assert "BCP-000123" in row.inner_text() and "S/ 252.12" in row.inner_text()
    row.locator("summary").click()
    row.locator("select[name=resolution]").select_option("kept_as_credit")
    row.locator("textarea[name=note]").fill("Orex pidió aplicarlo a las retenciones de la próxima semana.")
    _shot(page, "treasury-04-resolving")
    row.locator("button[type=submit]").click()
    page.wait_for_selector("text=Excepción resuelta.")
    assert "Ninguna excepción coincide con estos filtros." in page.content()
    _shot(page, "treasury-05-queue-empty")

    # --- the resolved one shows with the filter: what was done, the note, who and when
    page.select_option("#status", "resolved")
    page.click("button:has-text('Filtrar')")
    page.wait_for_selector("text=se mantiene como crédito para retenciones siguientes")
    assert "Tania Ríos" in page.locator("table.data tbody").inner_text()
    _shot(page, "treasury-06-resolved")
    exception = ReconciliationException.objects.get(remittance=remittance)
    assert (exception.status, exception.resolution, exception.resolved_by) == ("resolved", "kept_as_credit", treasurer)

    # --- the remittance heads the list of every buyer's remittances, reconciled by now
    page.click("nav >> text=Remesas")
    first = page.locator("table.data tbody tr").first
    assert "BCP-000123" in first.inner_text() and "S/ 252.12" in first.inner_text()
    _shot(page, "treasury-07-remittances")

    # --- on a phone the form reads in one column
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}/treasury/remittances/new/?buyer={orex.pk}")
    _shot(page, "treasury-08-phone-form")
