"""Cronograma de pagos (hoja resumen) for a loan and for an offer: DOMAIN.md §3's figures, read back
from the PDF as a borrower would read them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse

from asmcredit.money import ZERO
from loans.models import LoanApplication
from reports import services
from tests.factories import LoanProductFactory
from tests.reports.conftest import pdf_text, save_artifact

pytestmark = pytest.mark.django_db

WORKED_EXAMPLE_INTEREST = ("313.24", "224.71", "188.51", "148.18", "106.89", "49.16")


def _independent_tcea(net: Decimal, flows: list[tuple[int, Decimal]]) -> Decimal:
    """Bisection on Σ T_k (1 + r)^(−DA_k/360) = net, in floats — a different method from loans.tcea."""
    lo, hi = 0.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2
        value = sum(float(t) * (1 + mid) ** (-days / 360) for days, t in flows) - float(net)
        lo, hi = (mid, hi) if value > 0 else (lo, mid)
    return Decimal(str(round(lo * 100, 2))).quantize(Decimal("0.01"))


def test_it_prints_the_worked_example(worked_example_loan, tmp_path):
    document = services.cronograma_pdf(services.loan_cronograma(loan=worked_example_loan), lang="es")
    text = pdf_text(document, tmp_path)
    save_artifact(document, "cronograma-loan-es")
    assert "Cronograma de pagos" in text
    assert "S/ 10,000.00" in text
    assert "S/ 1,838.45" in text
    for interest in WORKED_EXAMPLE_INTEREST:
        assert interest in text
    # Totals per column: principal is the amount lent exactly; interest is the sum of the six.
    totals = [line for line in text.splitlines() if line.strip().startswith("Totales")][0]
    assert "10,000.00" in totals
    assert "1,030.69" in totals  # 313.24 + 224.71 + 188.51 + 148.18 + 106.89 + 49.16
    assert "11,030.69" in totals
    assert "TCEA" in text and "40.00%" in text  # no insurance or fees: the TCEA is the TEA
    assert "15.00%" in text  # moratory TEA


def test_it_prints_an_offer_with_insurance_fees_and_its_tcea(miner, officer, buyer, tmp_path):
    product = LoanProductFactory(
        code="equipo-seguro",
        name="Equipo con seguro",
        insurance_monthly_rate_pct=Decimal("0.08"),
        fee_per_installment=Decimal("5.00"),
        upfront_fee=Decimal("150.00"),
    )
    application = LoanApplication.objects.create(
        miner=miner,
        product=product,
        withholding_buyer=buyer,
        amount=Decimal("24000.00"),
        term=12,
        tea_pct=Decimal("36"),
        disbursement_date=dt.date(2025, 3, 3),
        first_due_on=dt.date(2025, 4, 3),
        prepared_by=officer,
    )
    cronograma = services.offer_cronograma(application=application)
    document = services.cronograma_pdf(cronograma, lang="es")
    text = pdf_text(document, tmp_path)
    save_artifact(document, "cronograma-offer-es")

    flows = [((line.due_on - cronograma.disbursed_on).days, line.total) for line in cronograma.lines]
    expected_tcea = _independent_tcea(Decimal("24000.00") - Decimal("150.00"), flows)
    assert cronograma.tcea_pct == expected_tcea
    assert f"{expected_tcea}%" in text
    assert "36.00%" in text  # TEA
    assert "S/ 23,850.00" in text  # net amount received
    assert sum((line.principal for line in cronograma.lines), ZERO) == Decimal("24000.00")
    totals = [line for line in text.splitlines() if line.strip().startswith("Totales")][0].split()
    columns = ("principal", "interest", "insurance", "fees", "total")
    expected = [f"{sum((getattr(line, c) for line in cronograma.lines), ZERO):,.2f}" for c in columns]
    assert totals[-5:] == expected
    assert "5.00" in text and "12" in text


def test_it_prints_in_english_on_request(worked_example_loan, tmp_path):
    document = services.cronograma_pdf(services.loan_cronograma(loan=worked_example_loan), lang="en")
    text = pdf_text(document, tmp_path)
    save_artifact(document, "cronograma-loan-en", pages=False)
    assert "Payment schedule" in text
    assert "Totals" in text and "S/ 1,838.45" in text


def test_it_builds_a_cronograma_within_a_query_budget(worked_example_loan, django_assert_max_num_queries):
    # Speed is measured in bench/; the suite keeps the query count flat (no query per line).
    with django_assert_max_num_queries(2):
        document = services.cronograma_pdf(services.loan_cronograma(loan=worked_example_loan))
    assert document.startswith(b"%PDF")


def test_it_serves_the_loan_cronograma_to_an_officer(client, officer, worked_example_loan, tmp_path):
    client.force_login(officer)
    response = client.get(reverse("reports:loan-cronograma", args=[worked_example_loan.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "41234567" in pdf_text(response.content, tmp_path)


def test_it_masks_the_dni_for_an_ngo_analyst(client, analyst, worked_example_loan, tmp_path):
    client.force_login(analyst)
    response = client.get(reverse("reports:loan-cronograma", args=[worked_example_loan.pk]) + "?lang=en")
    text = pdf_text(response.content, tmp_path)
    assert response.status_code == 200
    assert "41234567" not in text
    assert "*****567" in text


def test_it_serves_the_offer_cronograma(client, approver, miner, product, officer, tmp_path):
    application = LoanApplication.objects.create(
        miner=miner,
        product=product,
        amount=Decimal("10000.00"),
        term=6,
        tea_pct=Decimal("40"),
        disbursement_date=dt.date(2025, 1, 15),
        first_due_on=dt.date(2025, 2, 15),
        prepared_by=officer,
    )
    client.force_login(approver)
    response = client.get(reverse("reports:offer-cronograma", args=[application.pk]))
    assert response.status_code == 200
    assert "S/ 10,000.00" in pdf_text(response.content, tmp_path)


def test_it_refuses_a_buyer_and_sends_a_stranger_to_log_in(client, buyer_user, worked_example_loan):
    url = reverse("reports:loan-cronograma", args=[worked_example_loan.pk])
    assert client.get(url).status_code == 302
    client.force_login(buyer_user)
    assert client.get(url).status_code == 403
