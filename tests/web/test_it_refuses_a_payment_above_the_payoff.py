"""The payment preview says at once that an amount above the day's payoff cannot be recorded, and
disables the confirmation; the server refuses it on confirmation all the same."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from installments.models import LoanTransaction
from installments.services import payoff_quote
from tests.web.test_it_walks_an_officer_through_a_loan import _login, _shot, browser_page  # noqa: F401

CONFIRM = 'name="action" value="confirm"'


def _form(loan: Any, amount: Decimal, action: str) -> dict[str, str]:
    return {"amount": str(amount), "paid_on": loan.disbursed_on.strftime("%d/%m/%Y"), "action": action}


def _confirm_button(page: str) -> str:
    start = page.rindex("<button", 0, page.index(CONFIRM))
    return page[start : page.index(">", start) + 1]


@pytest.mark.django_db
def test_it_refuses_the_amount_in_the_preview(officer_client: Client, loan: Any) -> None:
    payoff = payoff_quote(loan=loan, on=loan.disbursed_on).total
    url = reverse("installments:payment", args=[loan.pk])

    page = officer_client.post(url, _form(loan, payoff + Decimal("0.01"), "preview"), HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert 'role="alert"' in html
    assert (
        f"El monto supera la cancelación total del {loan.disbursed_on:%d/%m/%Y} (S/ {payoff:,.2f}): "
        "ningún pago puede ser mayor." in html
    )
    assert " disabled" in _confirm_button(html)

    exact = officer_client.post(url, _form(loan, payoff, "preview"), HTTP_HX_REQUEST="true").content.decode()
    assert "El monto supera" not in exact and " disabled" not in _confirm_button(exact)
    assert "Este monto cancela el crédito" in exact


@pytest.mark.django_db
def test_it_refuses_the_amount_on_confirmation_too(officer_client: Client, loan: Any) -> None:
    payoff = payoff_quote(loan=loan, on=loan.disbursed_on).total
    url = reverse("installments:payment", args=[loan.pk])

    response = officer_client.post(url, _form(loan, payoff + Decimal("1.00"), "confirm"))

    assert response.status_code == 200
    assert "El monto excede lo que el crédito adeuda" in response.content.decode()
    assert not LoanTransaction.objects.filter(loan=loan, kind=LoanTransaction.Kind.PAYMENT).exists()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_it_disables_the_confirmation_as_the_amount_is_typed(
    live_server: Any,
    browser_page: Any,  # noqa: F811 - the fixture imported above
    loan: Any,
) -> None:
    page = browser_page
    payoff = payoff_quote(loan=loan, on=loan.disbursed_on).total
    _login(page, live_server.url, "olga.officer")
    page.goto(f"{live_server.url}{reverse('installments:payment', args=[loan.pk])}")
    page.fill("#id_paid_on", loan.disbursed_on.strftime("%d/%m/%Y"))

    page.locator("#id_amount").press_sequentially(str(payoff + Decimal("500")))  # typed: htmx previews on keyup
    alert = page.locator("#payment-over-limit")
    alert.wait_for()
    assert "ningún pago puede ser mayor" in alert.inner_text()
    assert page.locator(f"button[{CONFIRM.replace(' ', '][')}]").is_disabled()
    _shot(page, "payment-above-payoff")

    page.locator("#id_amount").fill("")
    page.locator("#id_amount").press_sequentially("500.00")
    page.locator("#payment-over-limit").wait_for(state="detached")
    assert page.locator(f"button[{CONFIRM.replace(' ', '][')}]").is_enabled()
