"""Issue 14, items 1–3: each money event posts one balanced entry, checked against an entry written by
hand from DOMAIN.md §3's example loan (S/ 10,000 at TEA 40%, disbursed 2025-01-15, due on the 17th:
first installment 1,840.40 of which 313.24 interest; a payment of 1,838.45 leaves 1.95 of its principal)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import Sum

from accounting.models import JournalLine
from accounting.posting import journal_post
from installments.services import payment_record, remittance_record, settlement_post, transaction_reverse
from tests.accounting.conftest import entries, entry_lines
from tests.installments.conftest import DISBURSED, DOMAIN_LOT, FIRST_DUE, disburse

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def loan(officer, rosa, product):  # type: ignore[no-untyped-def]
    return disburse(miner=rosa, product=product, officer=officer)


def test_a_disbursement_debits_vigentes_and_credits_the_bank(loan):  # type: ignore[no-untyped-def]
    journal_post(as_of=DISBURSED)

    (entry,) = entries(event="disbursement")
    assert entry.value_date == DISBURSED and entry.currency == "PEN" and entry.loan == loan
    assert entry_lines(entry) == [("1411", D("10000.00"), D("0")), ("1113", D("0"), D("10000.00"))]


def test_interest_accrues_by_day_within_the_installment_period(loan):  # type: ignore[no-untyped-def]
    as_of = dt.date(2025, 2, 1)  # 17 of the first period's 33 days: 313.24 × 17 / 33 = 161.37
    journal_post(as_of=as_of)

    (entry,) = entries(event="accrual")
    assert entry.value_date == as_of
    assert entry_lines(entry) == [("1418", D("161.37"), D("0")), ("5114.01", D("0"), D("161.37"))]


def test_a_payment_on_its_due_date_pays_principal_and_the_accrued_interest(loan, officer):  # type: ignore[no-untyped-def]
    journal_post(as_of=dt.date(2025, 2, 1))
    payment_record(loan=loan, amount=D("1838.45"), paid_on=FIRST_DUE, actor=officer, reference="CAJA-1")
    journal_post(as_of=FIRST_DUE)

    (payment,) = entries(event="payment")
    assert payment.value_date == FIRST_DUE and payment.memo == "CAJA-1"
    assert entry_lines(payment) == [
        ("1113", D("1838.45"), D("0")),
        ("1411", D("0"), D("1525.21")),
        ("1418", D("0"), D("313.24")),
    ]
    # The rest of the period's interest is recognised on the due date: 313.24 − 161.37.
    accruals = entries(event="accrual")
    assert [entry_lines(e) for e in accruals] == [
        [("1418", D("161.37"), D("0")), ("5114.01", D("0"), D("161.37"))],
        [("1418", D("151.87"), D("0")), ("5114.01", D("0"), D("151.87"))],
    ]


def test_a_withholding_is_a_receivable_from_the_buyer_until_remitted(loan, orex, rosa, officer):  # type: ignore[no-untyped-def]
    from buyers.models import SupplierRelationship

    SupplierRelationship.objects.get_or_create(miner=rosa, buyer=orex, defaults={"since": DISBURSED})
    outcome = settlement_post(
        buyer=orex,
        miner=rosa,
        actor=officer,
        lot_code="L-1",
        settled_on=FIRST_DUE,
        currency="PEN",
        exchange_rate=D("1"),
        **DOMAIN_LOT,
    )
    assert outcome.withholding_amount == D("1840.40")
    remittance_record(
        buyer=orex, reference="BCP-77", amount=D("1840.40"), currency="PEN", paid_on=dt.date(2025, 2, 20), actor=officer
    )
    journal_post(as_of=dt.date(2025, 2, 20))

    (withholding,) = entries(event="withholding")
    assert withholding.value_date == FIRST_DUE
    assert entry_lines(withholding) == [
        ("1518.01", D("1840.40"), D("0")),
        ("1411", D("0"), D("1527.16")),
        ("1418", D("0"), D("313.24")),
    ]
    (remittance,) = entries(event="remittance")
    assert remittance.value_date == dt.date(2025, 2, 20) and remittance.memo == "BCP-77"
    assert entry_lines(remittance) == [("1113", D("1840.40"), D("0")), ("1518.01", D("0"), D("1840.40"))]


def test_a_reversal_undoes_the_payment_on_its_own_date(loan, officer):  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("1838.45"), paid_on=FIRST_DUE, actor=officer)
    journal_post(as_of=FIRST_DUE)
    reversal = transaction_reverse(original=payment, actor=officer, reason="recorded twice")
    journal_post(as_of=reversal.value_date)

    (entry,) = entries(event="reversal")
    assert entry.value_date == reversal.value_date
    assert entry_lines(entry) == [
        ("1411", D("1525.21"), D("0")),
        ("1418", D("313.24"), D("0")),
        ("1113", D("0"), D("1838.45")),
    ]


def test_posting_again_posts_nothing_and_every_entry_balances(loan, officer):  # type: ignore[no-untyped-def]
    payment_record(loan=loan, amount=D("1838.45"), paid_on=FIRST_DUE, actor=officer)
    first = journal_post(as_of=dt.date(2025, 3, 1))

    assert first > 0
    assert journal_post(as_of=dt.date(2025, 3, 1)) == 0
    for row in JournalLine.objects.values("entry_id").annotate(debit=Sum("debit"), credit=Sum("credit")):
        assert row["debit"] == row["credit"]
