"""Item 9 of issue #11 (dashboard half): the dashboard's PAR and categories follow the loans' current
state, so a payment that clears the arrears shows at once; the nightly rating stays the dated record
and the source of the provisions (DOMAIN.md §6)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from installments.models import LoanRating
from installments.services import loan_recompute, payment_record, portfolio_rate
from loans.models import Loan
from tests.factories import MinerFactory
from tests.installments.conftest import disburse, make_product

D = Decimal
AS_OF = dt.date(2025, 9, 30)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def late_by(days: int, *, officer, product):  # type: ignore[no-untyped-def]
    first_due = AS_OF - dt.timedelta(days=days)
    return disburse(
        miner=MinerFactory.create(),
        product=product,
        officer=officer,
        amount=D("10000.00"),
        disbursed_on=first_due - dt.timedelta(days=30),
        first_due_on=first_due,
        term=12,
    )


def test_item9_dashboard_par30_drops_as_soon_as_a_payment_clears_the_arrears(officer, client, monkeypatch) -> None:
    product = make_product()
    late = late_by(40, officer=officer, product=product)
    late_by(0, officer=officer, product=product)
    for loan in Loan.objects.all():
        loan_recompute(loan=loan, as_of=AS_OF)
    portfolio_rate(as_of=AS_OF)  # the nightly record: 40 dpd, Deficiente
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: AS_OF)
    client.force_login(officer)

    def par30_card() -> str:
        page = client.get("/").content.decode()
        start = page.index('id="kpi-par30"')
        return page[start : page.index("</div></div>", start)]

    # S/ 10,000 of S/ 20,000 are more than 30 days past due.
    assert "50.00%" in par30_card()

    late.refresh_from_db()
    overdue = late.overdue_amount
    assert overdue > 0 and late.days_past_due == 40
    payment_record(loan=late, amount=overdue, paid_on=AS_OF, actor=officer, reference="CAJA-1")

    # No nightly run in between: the dashboard reads the loan's own, current state.
    late.refresh_from_db()
    assert late.days_past_due == 0
    assert "0.00%" in par30_card()
    # The rating of the day is still the dated record of what the night saw.
    assert LoanRating.objects.get(loan=late, as_of=AS_OF).days_past_due == 40


def test_item9_dashboard_shows_provisions_as_of_the_last_rating(officer, client, monkeypatch) -> None:
    product = make_product()
    late_by(40, officer=officer, product=product)
    portfolio_rate(as_of=AS_OF - dt.timedelta(days=1))
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: AS_OF)
    client.force_login(officer)

    page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    # On 29/09 the loan was 39 days late: Deficiente, 25% of S/ 10,000.
    assert "S/ 2,500.00" in page and "29/09/2025" in page
