"""In a real browser (headless Chromium) against the live server: the loan's history shows earlier
events in place; the portfolio report's form shows a mistake beside its field, then prepares the
report; a missing page is the lender's own. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from installments.services import payment_record
from reports.loan_history import PAGE_SIZE
from tests.web.test_it_walks_an_officer_through_a_loan import _login, _shot, browser_page  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_earlier_history_in_place(
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported above
    officer: Any,
    loan: Any,
) -> None:
    for n in range(PAGE_SIZE):
        payment_record(loan=loan, amount=Decimal("25.00"), paid_on=loan.disbursed_on, actor=officer, reference=f"P-{n}")
    page = browser_page
    _login(page, live_server.url, officer.username)
    page.goto(f"{live_server.url}{reverse('loans:detail', args=[loan.pk])}#history")
    rows = page.locator("#history tbody tr")
    assert rows.count() == PAGE_SIZE + 1  # and the row of the button
    _shot(page, "loan-history")

    page.get_by_role("link", name="Ver eventos anteriores").click()
    page.get_by_text("Solicitud creada").wait_for()
    # 20 payments and the application's 3 steps and the disbursement, each once, without a reload.
    assert rows.count() == PAGE_SIZE + 4
    assert page.get_by_role("link", name="Ver eventos anteriores").count() == 0
    assert page.url.endswith("#history")


def test_it_prepares_the_portfolio_report_from_its_form(
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported above
    analyst: Any,
    settings: Any,
    tmp_path: Any,
) -> None:
    settings.MEDIA_ROOT = tmp_path
    page = browser_page
    _login(page, live_server.url, analyst.username)
    page.get_by_role("link", name="Reporte de cartera").click()
    page.get_by_label("Fecha de corte").fill("2025-06-30")
    page.get_by_label("Periodo desde").fill("2025-07-01")
    page.get_by_role("button", name="Preparar el reporte").click()
    page.get_by_text("El periodo debe empezar antes de la fecha de corte.").wait_for()
    _shot(page, "portfolio-form-error")

    page.get_by_label("Periodo desde").fill("2025-01-01")
    page.get_by_role("button", name="Preparar el reporte").click()
    page.get_by_role("link", name="Descargar PDF").first.wait_for(timeout=60_000)
    assert page.get_by_text("El periodo debe empezar").count() == 0
    _shot(page, "portfolio-form-ready")


def test_it_shows_the_lenders_own_page_for_a_missing_one(
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported above
    officer: Any,
) -> None:
    page = browser_page
    _login(page, live_server.url, officer.username)
    response = page.goto(f"{live_server.url}/no-such-page/")
    assert response is not None and response.status == 404
    assert page.get_by_role("heading", name="Página no encontrada").is_visible()
    _shot(page, "error-404")
    page.get_by_role("link", name="Ir a la página de inicio").click()
    page.wait_for_url(f"{live_server.url}/")


def test_it_downloads_the_miners_statement_from_the_miner_page(
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported above
    officer: Any,
    world: Any,
    loan: Any,
) -> None:
    page = browser_page
    _login(page, live_server.url, officer.username)
    page.goto(f"{live_server.url}{reverse('miners:detail', args=[world.miner.pk])}")
    statement = page.locator("#statement-pdf")
    statement.scroll_into_view_if_needed()
    _shot(page, "miner-statement-form")
    with page.expect_response(lambda response: "/statement.pdf" in response.url) as answer:
        statement.get_by_role("button", name="Descargar estado de cuenta (PDF)").click()
    response = answer.value
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    assert f"estado-cuenta-{world.miner.pk}-" in response.headers["content-disposition"]
