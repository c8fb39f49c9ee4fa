"""Estado de cuenta of a miner and of a buyer, and who may download them."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from installments.models import ReconciliationException
from installments.selectors import buyer_balance_owed
from reports import services
from tests.reports.conftest import AS_OF, pdf_text, save_artifact

pytestmark = pytest.mark.django_db

INSTALLMENT = Decimal("1838.45")
# Closing balances of the worked example after each installment (DOMAIN.md §3).
BALANCES = ("8,474.79", "6,861.05", "5,211.11", "3,520.84")


def test_it_lists_a_miners_transactions_between_opening_and_closing_balances(portfolio, tmp_path, spanish):
    statement = services.miner_statement(miner=portfolio.rosa_loan.miner, date_from=dt.date(2025, 3, 1), date_to=AS_OF)
    document = services.miner_statement_pdf(statement)
    save_artifact(document, "miner-statement-es")
    text = pdf_text(document, tmp_path)
    (loan,) = statement.loans
    assert loan.opening_balance == Decimal("8474.79")  # only February's installment paid before March
    assert [entry.balance for entry in loan.entries] == [Decimal("6861.05"), Decimal("5211.11"), Decimal("3520.84")]
    assert loan.closing_balance == Decimal("3520.84")
    assert loan.paid_principal == Decimal("8474.79") - Decimal("3520.84")
    assert re.search(r"Saldo inicial\s+8,474\.79", text)
    for lot, balance in zip(("OREX-2", "OREX-3", "OREX-4"), BALANCES[1:], strict=True):
        assert re.search(rf"Liquidación {lot}\s+1,838\.45\s+[\d,.]+\s+[\d,.]+\s+0\.00\s+{re.escape(balance)}", text)
    assert re.search(r"Saldo final \(PEN\)\s+4,953\.95\s+561\.40\s+0\.00\s+3,520\.84", text)
    # Installment 5 (16/06) is overdue at the end of June; 6 (15/07) is next.
    assert [(line.number, line.overdue) for line in loan.next_installments] == [(5, True), (6, False)]
    assert "16/06/2025" in text and "vencida" in text and "15/07/2025" in text


def test_it_starts_a_statement_at_zero_before_disbursement(portfolio):
    statement = services.miner_statement(
        miner=portfolio.rosa_loan.miner, date_from=dt.date(2025, 1, 1), date_to=dt.date(2025, 2, 28)
    )
    (loan,) = statement.loans
    assert loan.opening_balance == Decimal("0.00")
    assert [entry.kind for entry in loan.entries] == ["disbursement", "withholding"]
    assert loan.entries[0].balance == Decimal("10000.00")
    assert loan.closing_balance == Decimal("8474.79")


def test_it_serves_the_miner_statement_to_staff_and_masks_it_for_analysts(
    client, officer, analyst, buyer_user, portfolio, tmp_path
):
    url = reverse("reports:miner-statement", args=[portfolio.rosa_loan.miner.pk]) + "?from=2025-01-01&to=2025-06-30"
    client.force_login(officer)
    response = client.get(url)
    assert response.status_code == 200
    assert "41234567" in pdf_text(response.content, tmp_path)
    client.force_login(analyst)
    text = pdf_text(client.get(url + "&lang=en").content, tmp_path)
    assert "41234567" not in text and "*****567" in text
    assert "Account statement" in text
    client.force_login(buyer_user)
    assert client.get(url).status_code == 403


def test_it_refuses_a_bad_period(client, officer, portfolio):
    client.force_login(officer)
    url = reverse("reports:miner-statement", args=[portfolio.rosa_loan.miner.pk])
    assert client.get(url + "?from=2025-13-01").status_code == 400
    assert client.get(url + "?from=2025-06-01&to=2025-01-01").status_code == 400


def test_it_states_what_a_buyer_withheld_remitted_and_owes(portfolio, tmp_path, spanish):
    ReconciliationException.objects.create(
        buyer=portfolio.orex,
        kind=ReconciliationException.Kind.OVERDUE_UNREMITTED,
        withholding=portfolio.orex_withholdings[3],
        amount=INSTALLMENT,
        detected_on=dt.date(2025, 5, 23),
        detail="OREX-4",
    )
    statement = services.buyer_statement(buyer=portfolio.orex, date_from=dt.date(2025, 1, 1), date_to=AS_OF)
    document = services.buyer_statement_pdf(statement)
    save_artifact(document, "buyer-statement-es")
    text = pdf_text(document, tmp_path)
    (balance,) = statement.balances
    assert balance.opening_owed == Decimal("0.00")
    assert balance.withheld == 4 * INSTALLMENT
    assert balance.remitted == 3 * INSTALLMENT
    assert balance.closing_owed == INSTALLMENT == buyer_balance_owed(buyer=portfolio.orex, as_of=AS_OF)["PEN"]
    assert re.search(r"PEN\s+S/ 0\.00\s+S/ 7,353\.80\s+S/ 5,515\.35\s+S/ 1,838\.45", text)
    assert [row.lot_code for row in statement.settlements] == ["OREX-1", "OREX-2", "OREX-3", "OREX-4"]
    assert statement.settlements[3].overdue and not statement.settlements[0].overdue
    assert "BCP-0001" in text and "fuera del plazo pactado" in text
    assert "retención sin remesar fuera del plazo pactado" in text


def test_it_shows_the_balance_before_the_period(portfolio):
    statement = services.buyer_statement(buyer=portfolio.orex, date_from=dt.date(2025, 5, 1), date_to=AS_OF)
    (balance,) = statement.balances
    assert balance.opening_owed == 3 * INSTALLMENT  # three withheld by April, nothing remitted yet
    assert balance.closing_owed == balance.opening_owed + balance.withheld - balance.remitted


def test_it_serves_a_buyer_statement_to_staff_and_to_the_buyers_own_users(
    client, officer, analyst, buyer_user, other_buyer_user, portfolio, tmp_path
):
    url = reverse("reports:buyer-statement", args=[portfolio.orex.pk]) + "?from=2025-01-01&to=2025-06-30"
    for user in (officer, analyst, buyer_user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, user
    assert "Minera Orex S.A.C." in pdf_text(response.content, tmp_path)
    client.force_login(other_buyer_user)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302
