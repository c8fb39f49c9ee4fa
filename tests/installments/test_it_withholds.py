"""Withholding on each ore settlement (DOMAIN.md §5), to the céntimo.

The loans are the DOMAIN.md §3 example on fixed day 17: S/ 10,000 at TEA 40% from 2025-01-15, six
installments of S/ 1,840.40 due on the 17th (interest 313.24, 224.66, 201.58, …). Moratory TEA 15%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from asmcredit.models import AuditEvent
from buyers.models import Settlement
from installments.models import LoanTransaction, ScheduleLine, Withholding
from installments.services import miner_amount_due, settlement_post
from tests.factories import MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal


def post(buyer, miner, actor, lot_code, settled_on, currency="PEN", **lot):  # type: ignore[no-untyped-def]
    return settlement_post(
        buyer=buyer,
        miner=miner,
        actor=actor,
        lot_code=lot_code,
        settled_on=settled_on,
        currency=currency,
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, **lot},
    )


def installment(number, due_on, *, moratory="0.00", late_interest="0.00", interest="0.00", principal="0.00"):  # type: ignore[no-untyped-def]
    return {
        "number": number,
        "due_on": due_on,
        "moratory": D(moratory),
        "late_interest": D(late_interest),
        "interest": D(interest),
        "insurance": D("0.00"),
        "fees": D("0.00"),
        "principal": D(principal),
    }


def test_it_withholds_the_next_installment_from_an_on_time_miner(officer, orex, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer, buyer=orex)

    outcome = post(orex, rosa, officer, "OREX-0001", dt.date(2025, 2, 10))

    assert outcome.settlement.payable_usd == D("12212.83")
    assert outcome.settlement.dry_tonnes == D("9.200")
    assert outcome.withholding_amount == D("1840.40")
    assert outcome.withholding_currency == "PEN"
    assert outcome.net_to_miner == D("43957.71")  # 12,212.83 × 3.75 = 45,798.11 − 1,840.40
    assert outcome.breakdown == [
        {
            "loan": loan.code,
            "loan_id": loan.pk,
            "amount": D("1840.40"),
            "installments": [installment(1, dt.date(2025, 2, 17), interest="313.24", principal="1527.16")],
        }
    ]
    withholding = Withholding.objects.get()
    assert (withholding.amount, withholding.status, withholding.withheld_on) == (
        D("1840.40"),
        "unremitted",
        dt.date(2025, 2, 10),
    )
    assert withholding.transaction.kind == LoanTransaction.Kind.WITHHOLDING
    assert withholding.transaction.value_date == dt.date(2025, 2, 10)
    first = ScheduleLine.objects.get(loan=loan, number=1)
    assert (first.status, first.paid_on) == ("paid", dt.date(2025, 2, 10))
    assert AuditEvent.objects.filter(action="withholding.record", object_id=str(withholding.pk)).exists()
    # DOMAIN.md §4 lot: (3,322.10 − 80) / 3,322.10 = 0.9759, above the 95% reference: no fair-price flag.
    assert (outcome.settlement.price_share, outcome.settlement.fair_price_flags) == (D("0.9759"), [])

    # Ten days later the next due date is 03-17: that installment is withheld, nothing more.
    second = post(orex, rosa, officer, "OREX-0002", dt.date(2025, 2, 20))
    assert second.breakdown[0]["installments"] == [
        installment(2, dt.date(2025, 3, 17), interest="224.66", principal="1615.74")
    ]
    # …and once it is paid, nothing is due by the next due date: nothing is withheld.
    third = post(orex, rosa, officer, "OREX-0003", dt.date(2025, 2, 25))
    assert third.withholdings == [] and third.withholding_amount == D("0")
    assert third.net_to_miner == D("45798.11")


def test_it_withholds_arrears_with_moratory_interest_from_an_overdue_miner(officer, orex, teodoro, product):
    loan = disburse(miner=teodoro, product=product, officer=officer, buyer=orex)
    [due] = miner_amount_due(miner=teodoro, as_of=dt.date(2025, 3, 30))
    # Installments 1 (41 days late) and 2 (13 days late) plus the one due 04-17.
    # Linear by day on the overdue principal 1,527.16 (41 days) and 1,615.74 (13 days): moratory at 15%
    # 24.31 and 8.16, compensatory at the 40% TEA 58.55 and 19.64 (DOMAIN.md §3).
    assert due.amount_due == D("5631.86")
    assert due.next_due_on == dt.date(2025, 4, 17)

    outcome = post(orex, teodoro, officer, "OREX-0100", dt.date(2025, 3, 30))

    assert outcome.withholding_amount == D("5631.86")
    assert outcome.breakdown[0]["installments"] == [
        installment(
            1, dt.date(2025, 2, 17), moratory="24.31", late_interest="58.55", interest="313.24", principal="1527.16"
        ),
        installment(
            2, dt.date(2025, 3, 17), moratory="8.16", late_interest="19.64", interest="224.66", principal="1615.74"
        ),
        installment(3, dt.date(2025, 4, 17), interest="201.58", principal="1638.82"),
    ]
    lines = {line.number: line for line in ScheduleLine.objects.filter(loan=loan)}
    assert (lines[1].moratory_accrued, lines[1].paid_moratory) == (D("24.31"), D("24.31"))
    assert (lines[1].late_interest_accrued, lines[1].paid_late_interest) == (D("58.55"), D("58.55"))
    assert lines[3].status == "paid"


def test_it_caps_the_withholding_at_the_products_share_of_a_small_settlement(officer, orex, rosa, product):
    disburse(miner=rosa, product=product, officer=officer, buyer=orex)

    # One wet tonne: US$ 1,221.28 payable = S/ 4,579.80; 30% = S/ 1,373.94 < the 1,840.40 due.
    outcome = post(orex, rosa, officer, "OREX-0200", dt.date(2025, 2, 10), wet_tonnes=D("1"))

    assert outcome.settlement.payable_usd == D("1221.28")
    assert outcome.withholding_amount == D("1373.94")
    assert outcome.net_to_miner == D("3205.86")
    assert outcome.breakdown[0]["installments"] == [
        installment(1, dt.date(2025, 2, 17), interest="313.24", principal="1060.70")
    ]
    # Charges above the gold's value: nothing is payable, so nothing can be withheld.
    worthless = post(orex, rosa, officer, "OREX-0201", dt.date(2025, 2, 11), grade_oz_tc=D("0.01"))
    assert worthless.settlement.payable_usd == D("0.00")
    assert worthless.withholdings == [] and worthless.net_to_miner == D("0.00")


def test_it_withholds_for_two_loans_oldest_first_within_one_cap(officer, orex, rosa, product):
    older = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    newer = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        amount=D("5000.00"),
        disbursed_on=dt.date(2025, 2, 1),
        first_due_on=dt.date(2025, 3, 1),
    )
    [older_due, newer_due] = miner_amount_due(miner=rosa, as_of=dt.date(2025, 2, 10))
    assert (older_due.loan, older_due.amount_due) == (older, D("1840.40"))
    assert (newer_due.loan, newer_due.amount_due) == (newer, D("917.74"))

    # Two wet tonnes: US$ 2,442.57 = S/ 9,159.64; 30% = S/ 2,747.89 < 1,840.40 + 917.74.
    outcome = post(orex, rosa, officer, "OREX-0300", dt.date(2025, 2, 10), wet_tonnes=D("2"))

    assert [(item["loan"], item["amount"]) for item in outcome.breakdown] == [
        (older.code, D("1840.40")),
        (newer.code, D("907.49")),
    ]
    assert outcome.withholding_amount == D("2747.89")
    assert outcome.net_to_miner == D("6411.75")
    assert outcome.breakdown[1]["installments"] == [
        installment(1, dt.date(2025, 3, 1), interest="132.58", principal="774.91")
    ]


def test_it_converts_a_dollar_settlement_into_the_soles_loan(officer, orex, rosa, product):
    disburse(miner=rosa, product=product, officer=officer, buyer=orex)

    outcome = post(orex, rosa, officer, "OREX-0400", dt.date(2025, 2, 10), currency="USD")

    assert outcome.withholding_amount == D("1840.40")  # soles, the loan's currency
    withholding = outcome.withholdings[0]
    assert (withholding.currency, withholding.amount_settlement_currency) == ("PEN", D("490.77"))
    assert outcome.net_to_miner == D("11722.06")  # US$ 12,212.83 − 490.77

    # The cap is taken in soles: 30% of US$ 1,221.28 × 3.75 = S/ 1,373.94 = US$ 366.38.
    small = post(orex, rosa, officer, "OREX-0401", dt.date(2025, 2, 20), currency="USD", wet_tonnes=D("1"))
    assert small.withholding_amount == D("1373.94")
    assert small.withholdings[0].amount_settlement_currency == D("366.38")
    assert small.net_to_miner == D("854.90")


def test_it_records_a_settlement_without_withholding_for_a_miner_without_loans(officer, orex):
    miner = MinerFactory()

    outcome = post(orex, miner, officer, "OREX-0500", dt.date(2025, 2, 10))

    stored = Settlement.objects.get(buyer=orex, lot_code="OREX-0500")
    assert (stored.pk, stored.miner, stored.status) == (outcome.settlement.pk, miner, Settlement.Status.POSTED)
    assert outcome.withholdings == [] and outcome.net_to_miner == D("45798.11")
    assert not Withholding.objects.filter(settlement=stored).exists()


def test_it_refuses_a_lot_code_the_buyer_already_used(officer, orex, rosa):
    post(orex, rosa, officer, "OREX-0600", dt.date(2025, 2, 10))

    with pytest.raises(ValidationError) as error:
        post(orex, rosa, officer, "OREX-0600", dt.date(2025, 2, 11))

    assert "lot_code" in error.value.message_dict


def test_it_flags_a_declared_payable_that_differs_from_the_recomputed_one(officer, orex, rosa):
    outcome = post(orex, rosa, officer, "OREX-0700", dt.date(2025, 2, 10), declared_payable_usd=D("12300.00"))

    assert "declared_payable_differs" in outcome.settlement.fair_price_flags
    assert outcome.settlement.declared_payable_usd == D("12300.00")


def test_it_withholds_only_for_loans_the_buyer_collects(officer, orex, rosa, product):
    from tests.factories import BuyerFactory

    other = BuyerFactory.create(name="Minera Sur S.A.C.")
    disburse(miner=rosa, product=product, officer=officer, buyer=orex)

    outcome = post(other, rosa, officer, "SUR-0001", dt.date(2025, 2, 10))

    assert outcome.withholdings == []
    assert post(orex, rosa, officer, "OREX-0800", dt.date(2025, 2, 10)).withholding_amount == D("1840.40")
