"""The next due date ("próximo vencimiento") is the first installment not fully paid: one paid early is
skipped, one paid in part is not. The same on the loan page, the miner page and the API."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from installments.models import ScheduleLine
from installments.services import payment_record

pytestmark = pytest.mark.django_db


def _lines(loan: Any) -> list[ScheduleLine]:
    return list(ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number"))


def _shown_next_due(client: Client, loan: Any) -> dict[str, str]:
    """The next due date each place shows: the loan page, the miner page and the API's loan."""
    loan_page = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    miner_page = client.get(reverse("miners:detail", args=[loan.miner_id])).content.decode()
    api = client.get(f"/api/v1/loans/{loan.pk}/").json()
    return {"loan page": _marked(loan_page), "miner page": _marked(miner_page), "api": api["next_due_on"]}


def _marked(page: str) -> str | None:
    found = re.search(r"data-next-due>([^<]*)<", page)
    return found.group(1) if found else None


def _expected(line: ScheduleLine) -> dict[str, str]:
    return {
        "loan page": line.due_on.strftime("%d/%m/%Y"),
        "miner page": line.due_on.strftime("%d/%m/%Y"),
        "api": line.due_on.isoformat(),
    }


def test_it_skips_an_installment_paid_early(officer_client: Client, officer: Any, loan: Any) -> None:
    first, second = _lines(loan)[:2]
    assert _shown_next_due(officer_client, loan) == _expected(first)

    payment_record(loan=loan, amount=first.total, paid_on=loan.disbursed_on, actor=officer, treatment="adelanto")

    first.refresh_from_db()
    assert first.status == ScheduleLine.Status.PAID and first.due_on > loan.disbursed_on
    assert _shown_next_due(officer_client, loan) == _expected(second)


def test_it_keeps_an_installment_paid_in_part(officer_client: Client, officer: Any, loan: Any) -> None:
    first = _lines(loan)[0]
    payment_record(loan=loan, amount=Decimal("100.00"), paid_on=loan.disbursed_on, actor=officer)

    first.refresh_from_db()
    assert first.status == ScheduleLine.Status.PARTIAL
    assert _shown_next_due(officer_client, loan) == _expected(first)


def test_it_shows_no_next_due_once_everything_is_paid(officer_client: Client, officer: Any, loan: Any) -> None:
    from installments.services import payoff_quote

    payoff = payoff_quote(loan=loan, on=loan.disbursed_on).total
    payment_record(loan=loan, amount=payoff, paid_on=loan.disbursed_on, actor=officer)

    assert _shown_next_due(officer_client, loan) == {"loan page": None, "miner page": "—", "api": None}
