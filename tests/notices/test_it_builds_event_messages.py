"""The event builders give the miner the figures of DOMAIN.md's worked examples to the céntimo: S/ 10,000
at TEA 40% disbursed 15/01/2025, due on the 17th from 17/02/2025 (the cronograma tests/installments pins:
C = S/ 1,840.40, interest 1 = 313.24; later interest = balance × ((1.40)^(d/360) − 1)), repaid from the §4
lot (US$ 12,212.83 at 3.75 = S/ 45,798.11; INTER 3,322.10, RC 80 → price share 97.59%)."""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

import pytest

from installments.models import ScheduleLine
from installments.services import payment_record, payoff_quote, settlement_post
from notices.events import arrears_event, payment_event, reminder_event, withholding_event
from notices.rendering import money_es
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal
URL = "https://asmcredit.pe/s/1.EJEMPLO/"


def interest(balance: Decimal, days: int) -> Decimal:
    """DOMAIN.md §3: balance × ((1 + TEA)^(d/360) − 1), half-up to the céntimo."""
    return (balance * (D("1.40") ** (D(days) / 360) - 1)).quantize(D("0.01"), ROUND_HALF_UP)


@pytest.fixture
def loan(officer, orex, rosa, product, settings):  # type: ignore[no-untyped-def]
    settings.SETTLEMENT_MAX_AGE_DAYS = 5000
    return disburse(miner=rosa, product=product, officer=officer, buyer=orex)


@pytest.fixture
def withholding(loan, orex, rosa, officer):  # type: ignore[no-untyped-def]
    outcome = settlement_post(
        buyer=orex,
        miner=rosa,
        actor=officer,
        lot_code="L250217-00001",
        settled_on=dt.date(2025, 2, 17),
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    return outcome.withholdings[0]


def test_the_withholding_receipt_has_every_figure_to_the_centimo(withholding, loan) -> None:  # type: ignore[no-untyped-def]
    message = withholding_event(withholding, statement_url=URL)
    assert (message.event, message.event_key) == ("withholding", f"withholding:{withholding.pk}")
    assert message.miner == loan.miner and message.loan == loan
    c = message.context
    assert (c["buyer_name"], c["lot_code"], c["settled_on"]) == ("Minera Orex S.A.C.", "L250217-00001", "17/02/2025")
    # US$ 12,212.83 × 3.75 = 45,798.1125; installment 1 withheld (it falls due that day); the rest paid.
    assert (c["gross_payable"], c["withheld"], c["net_paid"]) == ("S/ 45,798.11", "S/ 1,840.40", "S/ 43,957.71")
    assert c["withheld_loan_currency"] == "S/ 1,840.40"
    assert (c["paid_installments"], c["paid_interest"], c["paid_principal"]) == (
        "la cuota 1",
        "S/ 313.24",
        "S/ 1,527.16",
    )
    assert (c["paid_late_charges"], c["paid_other"], c["paid_to_credit"]) == ("", "", "")
    # 10,000 − 1,527.16; installment 2 due 17/03/2025.
    assert c["outstanding_principal"] == "S/ 8,472.84"
    assert (c["next_due_date"], c["next_due_amount"]) == ("17/03/2025", "S/ 1,840.40")
    # (3,322.10 − 80) / 3,322.10 = 0.97592 → 97.6%.
    assert c["price_share"] == "97.6%"
    assert c["price_phrase"] == "Le pagaron el 97.6% del precio internacional del oro."
    assert c["payoff_today"] == money_es(payoff_quote(loan=loan, on=dt.date.today()).total)
    assert c["overpayment_credit"] == ""
    assert (c["miner_name"], c["loan_code"], c["statement_url"]) == ("Rosa", loan.code, URL)


def test_the_payment_receipt_and_the_reminder_follow_the_schedule(withholding, loan, officer) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=D("1840.40"), paid_on=dt.date(2025, 3, 17), actor=officer)
    c = payment_event(payment, statement_url=URL).context
    assert (c["paid_amount"], c["paid_on"], c["paid_installments"]) == ("S/ 1,840.40", "17/03/2025", "la cuota 2")
    # 28 days on 8,472.84: 224.66 of interest, 1,840.40 − 224.66 = 1,615.74 of principal; 6,857.10 left.
    assert interest(D("8472.84"), 28) == D("224.66")
    assert (c["paid_interest"], c["paid_principal"]) == ("S/ 224.66", "S/ 1,615.74")
    assert c["outstanding_principal"] == "S/ 6,857.10"
    assert (c["next_due_date"], c["next_due_amount"]) == ("17/04/2025", "S/ 1,840.40")

    line = ScheduleLine.objects.get(loan=loan, is_current=True, number=3)
    reminder = reminder_event(loan, line, statement_url=URL)
    assert reminder.event_key == f"reminder:{loan.pk}:2025-04-17"
    assert (reminder.context["installment_number"], reminder.context["due_date"]) == ("3", "17/04/2025")
    assert reminder.context["due_amount"] == "S/ 1,840.40"


def test_the_arrears_notice_counts_the_late_charges_of_its_day(withholding, loan, officer) -> None:  # type: ignore[no-untyped-def]
    payment_record(loan=loan, amount=D("1840.40"), paid_on=dt.date(2025, 3, 17), actor=officer)
    message = arrears_event(loan, dt.date(2025, 4, 25), statement_url=URL)
    # Installment 3 (due 17/04, the first due date's day; 31 days on 6,857.10) unpaid for 8 days: its principal accrues
    # compensatory interest at TEA 40% and moratory at 15%, p × ((1 + TEA)^(1/360) − 1) × d.
    p, days = D("1840.40") - interest(D("6857.10"), 31), 8
    late = p * (D("1.40") ** (D(1) / 360) - 1) * days
    moratory = p * (D("1.15") ** (D(1) / 360) - 1) * days
    cent = D("0.01")
    overdue = D("1840.40") + late.quantize(cent, ROUND_HALF_UP) + moratory.quantize(cent, ROUND_HALF_UP)
    assert message.event_key == f"arrears:{loan.pk}:8"  # the 8-day notice
    c = message.context
    assert (c["days_past_due"], c["overdue_since"]) == ("8", "17/04/2025")
    assert c["overdue_amount"] == money_es(overdue)
