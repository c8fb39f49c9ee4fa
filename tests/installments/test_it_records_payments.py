"""Direct payments, prepayments, voids and backdated entries: the loan is always its replayed log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from asmcredit.models import AuditEvent
from installments.models import Allocation, LoanTransaction, ScheduleLine, Withholding
from installments.services import (
    loan_recompute,
    payment_record,
    prepayment_options,
    settlement_post,
    settlement_void,
)
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal
AS_OF = dt.date(2025, 4, 1)


def line_state(loan):  # type: ignore[no-untyped-def]
    return [
        (
            line.version,
            line.number,
            line.is_current,
            line.principal,
            line.paid_principal,
            line.paid_interest,
            line.paid_moratory,
            line.moratory_accrued,
            line.status,
            line.paid_on,
        )
        for line in ScheduleLine.objects.filter(loan=loan).order_by("version", "number")
    ]


def loan_state(loan):  # type: ignore[no-untyped-def]
    loan.refresh_from_db()
    return (
        loan.outstanding_principal,
        loan.overdue_amount,
        loan.moratory_accrued,
        loan.days_past_due,
        loan.next_due_on,
        loan.schedule_version,
        loan.status,
    )


def post(buyer, miner, actor, lot, on):  # type: ignore[no-untyped-def]
    return settlement_post(
        buyer=buyer,
        miner=miner,
        actor=actor,
        lot_code=lot,
        settled_on=on,
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, "wet_tonnes": D("1")},
    )


def test_it_allocates_a_direct_payment_moratory_first_oldest_installment_first(officer, teodoro, product):
    loan = disburse(miner=teodoro, product=product, officer=officer)

    txn = payment_record(loan=loan, amount=D("2000.00"), paid_on=dt.date(2025, 3, 30), actor=officer, reference="BCP-1")

    assert txn.kind == LoanTransaction.Kind.PAYMENT
    parts = [
        (a.schedule_line.number, a.component, a.amount)
        for a in Allocation.objects.filter(transaction=txn).order_by("id")
    ]
    # Late charges linear by day (DOMAIN.md §3): moratory at 15% and compensatory at the 40% TEA on
    # 1,527.16 overdue for 41 days and 1,615.74 for 13 days, before the scheduled interest.
    assert parts == [
        (1, "moratory", D("24.31")),
        (1, "late_interest", D("58.55")),
        (1, "interest", D("313.24")),
        (1, "principal", D("1527.16")),
        (2, "moratory", D("8.16")),
        (2, "late_interest", D("19.64")),
        (2, "interest", D("48.94")),
    ]


def test_it_gives_the_same_state_when_a_payment_arrives_backdated(officer, orex, rosa, teodoro, product):
    in_order = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    backdated = disburse(miner=teodoro, product=product, officer=officer, buyer=orex)

    payment_record(loan=in_order, amount=D("1840.40"), paid_on=dt.date(2025, 2, 17), actor=officer)
    post(orex, rosa, officer, "A-1", dt.date(2025, 3, 30))
    # Teodoro's withholding reaches us first; the branch payment dated 02-17 is keyed in weeks later.
    post(orex, teodoro, officer, "B-1", dt.date(2025, 3, 30))
    payment_record(loan=backdated, amount=D("1840.40"), paid_on=dt.date(2025, 2, 17), actor=officer)

    for loan in (in_order, backdated):
        loan_recompute(loan=loan, as_of=AS_OF)
    expected = line_state(in_order)
    assert line_state(backdated) == expected
    assert loan_state(backdated) == loan_state(in_order)


def test_it_reverses_the_withholding_of_a_voided_settlement(officer, orex, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    loan_recompute(loan=loan, as_of=AS_OF)
    before_lines, before_loan = line_state(loan), loan_state(loan)
    outcome = post(orex, rosa, officer, "V-1", dt.date(2025, 2, 10))
    assert outcome.withholding_amount == D("1373.94")

    settlement_void(settlement=outcome.settlement, actor=officer, reason="Lote mal pesado")
    loan_recompute(loan=loan, as_of=AS_OF)

    withholding = Withholding.objects.get()
    assert withholding.status == Withholding.Status.REVERSED
    assert LoanTransaction.objects.filter(kind="reversal", reverses=withholding.transaction).exists()
    assert line_state(loan) == before_lines
    assert loan_state(loan) == before_loan
    assert not Allocation.objects.exists()


def test_it_applies_a_pago_anticipado_to_principal_and_keeps_the_old_schedule(officer, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer)
    payment_record(loan=loan, amount=D("1840.40"), paid_on=dt.date(2025, 2, 17), actor=officer)

    options = prepayment_options(loan=loan, amount=D("5000.00"), paid_on=dt.date(2025, 3, 1))
    assert options["kind"] == "anticipado"
    assert options["reduce_term"]["installment"] == D("1840.40")
    assert options["reduce_term"]["installments_left"] == 2
    assert options["reduce_installment"]["installments_left"] == 5
    assert options["reduce_installment"]["installment"] < D("1840.40")
    assert options["reduce_term"]["interest_saved"] > options["reduce_installment"]["interest_saved"] > 0

    txn = payment_record(
        loan=loan, amount=D("5000.00"), paid_on=dt.date(2025, 3, 1), actor=officer, prepayment_mode="reduce_installment"
    )

    loan.refresh_from_db()
    assert (txn.kind, txn.prepayment_mode) == ("payment", "reduce_installment")
    event = AuditEvent.objects.get(action="payment.prepayment", object_id=str(txn.pk))
    assert (event.after or {})["applied_as"] == "pago_anticipado"
    assert loan.schedule_version == 2
    assert loan.installment_amount == options["reduce_installment"]["installment"]
    assert loan.outstanding_principal == options["reduce_installment"]["outstanding_principal"]
    current = ScheduleLine.objects.filter(loan=loan, is_current=True)
    assert {line.version for line in current} == {2} and current.count() == 5
    assert ScheduleLine.objects.filter(loan=loan, version=1, is_current=False).count() == 6


def test_it_treats_up_to_two_installments_as_an_adelanto_de_cuotas(officer, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer)

    assert prepayment_options(loan=loan, amount=D("3680.80"), paid_on=dt.date(2025, 2, 1))["kind"] == "adelanto"
    txn = payment_record(loan=loan, amount=D("3680.80"), paid_on=dt.date(2025, 2, 1), actor=officer)

    loan.refresh_from_db()
    assert txn.kind == "payment" and loan.schedule_version == 1
    assert list(ScheduleLine.objects.filter(loan=loan, number__lte=2).values_list("status", flat=True)) == [
        "paid",
        "paid",
    ]


def test_it_refuses_payments_above_the_payoff_in_the_future_or_by_the_wrong_role(officer, analyst, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer)

    with pytest.raises(ValidationError) as error:
        payment_record(loan=loan, amount=D("20000.00"), paid_on=dt.date(2025, 3, 1), actor=officer)
    assert "amount" in error.value.message_dict
    with pytest.raises(ValidationError):
        payment_record(loan=loan, amount=D("10.00"), paid_on=dt.date.today() + dt.timedelta(days=2), actor=officer)
    with pytest.raises(PermissionDenied):
        payment_record(loan=loan, amount=D("10.00"), paid_on=dt.date(2025, 3, 1), actor=analyst)


def test_it_pays_a_loan_off_and_back_on_when_the_payoff_is_voided(officer, orex, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    payoff = prepayment_options(loan=loan, amount=D("9000.00"), paid_on=dt.date(2025, 2, 1))["payoff"]

    payment_record(loan=loan, amount=payoff, paid_on=dt.date(2025, 2, 1), actor=officer)

    loan.refresh_from_db()
    assert (loan.status, loan.outstanding_principal) == ("paid_off", D("0.00"))
