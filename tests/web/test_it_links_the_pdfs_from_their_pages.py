"""Each document is a click away from the page it belongs to, for the roles that may open it: the miner
and buyer statements, the application's offer, the loan's cronograma and, once paid off, its
certificate. An NGO analyst gets the documents with the borrowers' document numbers masked, and no
certificate (it names the borrower's document)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from installments.services import payment_record, payoff_quote
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db


def _links(page: str) -> set[str]:
    """Where the page's links and GET forms lead."""
    return set(re.findall(r'<a [^>]*href="([^"#?]+)', page)) | set(
        re.findall(r'<form method="get" action="([^"]+)"', page)
    )


def _page(client: Client, name: str, pk: int) -> str:
    response = client.get(reverse(name, args=[pk]))
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize("persona", ["officer_client", "analyst_client"])
def test_it_links_each_document_from_its_page(
    request: Any, persona: str, world: Any, loan: Any, tmp_path: Path
) -> None:
    client: Client = request.getfixturevalue(persona)
    miner_statement = reverse("reports:miner-statement", args=[world.miner.pk])
    buyer_statement = reverse("reports:buyer-statement", args=[world.buyer.pk])
    offer = reverse("reports:offer-cronograma", args=[loan.application_id])
    cronograma = reverse("reports:loan-cronograma", args=[loan.pk])

    assert miner_statement in _links(_page(client, "miners:detail", world.miner.pk))
    assert buyer_statement in _links(_page(client, "installments:buyer-detail", world.buyer.pk))
    assert offer in _links(_page(client, "loans:application-detail", loan.application_id))
    assert cronograma in _links(_page(client, "loans:detail", loan.pk))

    for url in (miner_statement, buyer_statement, offer, cronograma):
        response = client.get(url)
        assert response.status_code == 200 and response["Content-Type"] == "application/pdf", url
    # The borrower's document number: in full for the lender's staff, masked for the NGO analyst.
    dni = world.miner.document_number
    for url in (miner_statement, offer, cronograma):
        text = pdf_text(client.get(url).content, tmp_path)
        assert (dni in text) == (persona == "officer_client"), url


def test_it_sends_the_statement_period_chosen_on_the_page(officer_client: Client, world: Any) -> None:
    page = _page(officer_client, "miners:detail", world.miner.pk)
    assert re.search(r'<input type="date" id="statement-from" name="from" value="\d{4}-\d\d-01" required>', page)
    assert re.search(r'<input type="date" id="statement-to" name="to" value="\d{4}-\d\d-\d\d" required>', page)
    response = officer_client.get(
        reverse("reports:miner-statement", args=[world.miner.pk]), {"from": "2025-01-01", "to": "2025-06-30"}
    )
    assert response.status_code == 200
    assert "2025-01-01-2025-06-30" in response["Content-Disposition"]


def test_it_links_the_certificate_of_a_paid_off_loan_for_the_lenders_staff_only(
    officer_client: Client, analyst: Any, officer: Any, loan: Any
) -> None:
    certificate = reverse("reports:loan-paid-off-certificate", args=[loan.pk])
    assert certificate not in _links(_page(officer_client, "loans:detail", loan.pk))  # not paid off yet

    payoff = payoff_quote(loan=loan, on=loan.disbursed_on).total
    payment_record(loan=loan, amount=payoff, paid_on=loan.disbursed_on, actor=officer)

    assert certificate in _links(_page(officer_client, "loans:detail", loan.pk))
    assert officer_client.get(certificate)["Content-Type"] == "application/pdf"

    analyst_client = Client()
    analyst_client.force_login(analyst)
    assert certificate not in _links(_page(analyst_client, "loans:detail", loan.pk))
    assert analyst_client.get(certificate).status_code == 403
