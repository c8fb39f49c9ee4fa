"""Issue #15 item 5: the miner's statement page, opened through the signed link, shows the loan's own
figures — the payoff today, the principal still owed, what is paid on each installment — every
withholding explained, and, once the loan is paid off, the constancia de no adeudo as a PDF. Loans are
built through the real origination, disbursement and settlement services."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from asmcredit.templatetags.money import format_money
from installments.models import ScheduleLine
from installments.services import payment_record, payoff_quote, settlement_post
from loans.models import Loan
from notices.links import statement_link_create
from notices.models import StatementLink
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse, make_product
from tests.reports.conftest import pdf_text
from tests.web.browsing import chromium

D = Decimal
TODAY = timezone.localdate()
DISBURSED = TODAY - dt.timedelta(days=75)
FIRST_DUE = DISBURSED + dt.timedelta(days=30)
SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"


@pytest.fixture
def orex(db):  # type: ignore[no-untyped-def]
    return BuyerFactory.create(name="Minera Orex S.A.C.", remittance_days=7)


@pytest.fixture
def product(db):  # type: ignore[no-untyped-def]
    return make_product()


@pytest.fixture
def rosa(db):  # type: ignore[no-untyped-def]
    return MinerFactory.create(first_names="Rosa", last_names="Huamán Condori", gender="F")


def _post(buyer, miner, actor, lot_code, settled_on, **lot):  # type: ignore[no-untyped-def]
    return settlement_post(
        buyer=buyer,
        miner=miner,
        actor=actor,
        lot_code=lot_code,
        settled_on=settled_on,
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, **lot},
    )


def _loan_with_history(officer, orex, rosa, product, settlements: int = 2) -> Loan:  # type: ignore[no-untyped-def]
    loan = disburse(
        miner=rosa, product=product, officer=officer, buyer=orex, disbursed_on=DISBURSED, first_due_on=FIRST_DUE
    )
    for n in range(settlements):
        _post(orex, rosa, officer, f"L-{n + 1}", FIRST_DUE + dt.timedelta(days=n))
    loan.refresh_from_db()
    return loan


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def _figure(html: str, name: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>|✓", "", m).strip()
        for m in re.findall(rf'data-figure="{name}">(.*?)</(?:dd|div|td)>', html, re.S)
    ]


@pytest.mark.django_db
def test_it_shows_the_loans_own_figures(client, officer, orex, rosa, product) -> None:  # type: ignore[no-untyped-def]
    loan = _loan_with_history(officer, orex, rosa, product)
    _link, url = statement_link_create(miner=rosa, actor=officer)
    response = client.get(_path(url))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Hola, Rosa Huamán Condori" in html and "Su estado de cuenta" in html

    payoff = payoff_quote(loan=loan, on=TODAY).total
    assert payoff > 0
    assert _figure(html, "payoff") == [format_money(payoff, "PEN")]
    assert _figure(html, "outstanding") == [format_money(loan.outstanding_principal, "PEN")]
    lines = list(ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number"))
    paid = [
        line.paid_principal
        + line.paid_interest
        + line.paid_insurance
        + line.paid_fees
        + line.paid_moratory
        + line.paid_late_interest
        for line in lines
    ]
    assert sum(paid) > 0
    assert _figure(html, "paid") == [format_money(amount, "PEN") for amount in paid]

    # Each withholding explained: buyer, lot, what the ore was worth, withheld, paid to the miner.
    assert "Minera Orex S.A.C." in html and "Lote L-1" in html and "Lote L-2" in html
    assert "Le pagaron" in html and "del precio internacional del oro" in html
    assert "Cuota 1:" in html
    assert "olga.officer" in html  # the officer who prepared the application
    assert StatementLink.objects.get(pk=_link.pk).last_opened_at is not None
    assert "English" in html
    assert "Your account statement" in client.get(_path(url), {"lang": "en"}).content.decode()


@pytest.mark.django_db
def test_it_reads_the_page_in_a_constant_number_of_queries(  # type: ignore[no-untyped-def]
    client, officer, orex, rosa, product, django_assert_max_num_queries
) -> None:
    _loan_with_history(officer, orex, rosa, product, settlements=6)
    _link, url = statement_link_create(miner=rosa, actor=officer)
    # Link, last opened, loans, cronograma, withholdings, their allocations, payments; the payoff quote
    # (log and plan) of the active loan. However many settlements and installments.
    with django_assert_max_num_queries(9):
        assert client.get(_path(url)).status_code == 200


@pytest.mark.django_db
def test_it_gives_the_paid_off_certificate_to_the_miner_and_staff(  # type: ignore[no-untyped-def]
    client, officer, analyst, orex, rosa, product, tmp_path
) -> None:
    loan = _loan_with_history(officer, orex, rosa, product, settlements=1)
    # Before it is paid off: no certificate anywhere.
    client.force_login(officer)
    assert client.get(f"/reports/loans/{loan.pk}/constancia.pdf").status_code == 404
    client.logout()

    quote = payoff_quote(loan=loan, on=TODAY)
    payment_record(loan=loan, amount=quote.total, paid_on=TODAY, actor=officer, reference="CANCELACION")
    loan.refresh_from_db()
    assert loan.status == Loan.Status.PAID_OFF

    _link, url = statement_link_create(miner=rosa, actor=officer)
    html = client.get(_path(url)).content.decode()
    assert "No debe nada de este crédito." in html
    certificate_path = f"{_path(url)}constancia/{loan.pk}.pdf"
    assert certificate_path in html
    response = client.get(certificate_path)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = " ".join(pdf_text(response.content, tmp_path, "miner").split())
    assert "Constancia de no adeudo" in text
    assert "Rosa Huamán Condori" in text and rosa.document_number in text and loan.code in text
    assert "S/ 10,000.00" in text
    assert "desembolsado el" in text.lower() and f"{DISBURSED:%d/%m/%Y}" in text
    assert f"canceló el crédito {loan.code} el {TODAY:%d/%m/%Y} y no adeuda monto alguno" in text

    # Only the miner's own loans through their link.
    stranger_link, stranger_url = statement_link_create(miner=MinerFactory.create(), actor=officer)
    assert client.get(f"{_path(stranger_url)}constancia/{loan.pk}.pdf").status_code == 404

    # Staff from the loan page; the NGO analyst (no document numbers) may not.
    client.force_login(officer)
    assert f"/reports/loans/{loan.pk}/constancia.pdf" in client.get(f"/loans/{loan.pk}/").content.decode()
    staff_pdf = client.get(f"/reports/loans/{loan.pk}/constancia.pdf")
    assert staff_pdf.status_code == 200
    assert loan.code in pdf_text(staff_pdf.content, tmp_path, "staff")
    client.force_login(analyst)
    assert client.get(f"/reports/loans/{loan.pk}/constancia.pdf").status_code == 403


@pytest.mark.browser
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_reads_well_on_a_phone(live_server, officer, orex, rosa, product) -> None:  # type: ignore[no-untyped-def]
    loan = _loan_with_history(officer, orex, rosa, product)
    _link, url = statement_link_create(miner=rosa, actor=officer)
    payoff = format_money(payoff_quote(loan=loan, on=TODAY).total, "PEN")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, locale="es-PE", java_script_enabled=False, is_mobile=True
        )
        page = context.new_page()
        page.goto(live_server.url + _path(url))
        assert page.locator('[data-figure="payoff"]').inner_text().strip() == payoff
        assert page.locator('[data-figure="outstanding"]').inner_text().strip() == format_money(
            loan.outstanding_principal, "PEN"
        )
        # Nothing wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.screenshot(path=str(SHOTS / "statement-phone.png"), full_page=True)
        context.close()
