"""Every amount and date a page shows reads the Peruvian way in both languages — S/ 1,234.50 and
dd/mm/aaaa — never as a raw number (1234.50) or an ISO date (2025-06-30)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from installments.services import payment_record

pytestmark = pytest.mark.django_db

# A number of four or more digits before its decimals, without the thousands comma.
RAW_AMOUNT = re.compile(r"(?<![\d,.])\d{4,}\.\d{2}(?!\d)")
ISO_DATE = re.compile(r"(?<!\d)\d{4}-\d{2}-\d{2}(?!\d)")


def _visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts or styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.parametrize("language", ["es", "en"])
def test_it_writes_amounts_and_dates_the_peruvian_way(
    officer_client: Client, officer: Any, world: Any, loan: Any, language: str
) -> None:
    payment_record(loan=loan, amount=Decimal("1234.56"), paid_on=loan.disbursed_on, actor=officer, reference="R-1")
    officer_client.post(reverse("set_language"), {"language": language, "next": "/"})
    pages = {
        "loan": reverse("loans:detail", args=[loan.pk]),
        "miner": reverse("miners:detail", args=[world.miner.pk]),
        "buyer": reverse("installments:buyer-detail", args=[world.buyer.pk]),
        "application": reverse("loans:application-detail", args=[loan.application_id]),
        "payment": reverse("installments:payment", args=[loan.pk]),
        "portfolio report": reverse("reports:portfolio"),
    }
    for name, url in pages.items():
        text = _visible_text(officer_client.get(url).content.decode())
        assert not RAW_AMOUNT.findall(text), (name, RAW_AMOUNT.findall(text))
        assert not ISO_DATE.findall(text), (name, ISO_DATE.findall(text))

    loan_page = _visible_text(officer_client.get(pages["loan"]).content.decode())
    assert "S/ 20,000.00" in loan_page and "1,234.56" in loan_page
    assert loan.disbursed_on.strftime("%d/%m/%Y") in loan_page
