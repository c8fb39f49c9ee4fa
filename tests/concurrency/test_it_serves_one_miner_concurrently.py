"""A void, a post, a payment and a remittance for the same miner and buyer at the same moment all
succeed (no deadlock, no 500) and leave exactly what doing them one after the other leaves."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from asmcredit.models import AuditEvent
from buyers.models import Buyer, Settlement
from installments.models import (
    LoanTransaction,
    ReconciliationException,
    Remittance,
    RemittanceMatch,
    ScheduleLine,
    Withholding,
)
from installments.services import (
    payment_record,
    reconcile_remittances,
    remittance_record,
    settlement_post,
    settlement_void,
)
from installments.services.common import servicing_today
from loans.models import Loan, LoanProduct
from miners.models import Miner
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal
ROUNDS = 20
SETTLED_ON = dt.date(2025, 2, 10)


@dataclass
class World:
    """One buyer, one miner with one loan collected by that buyer, and settlement A already posted
    (one wet tonne: 30% of S/ 4,579.80 = S/ 1,373.94 withheld from the S/ 1,840.40 due)."""

    buyer: Buyer
    miner: Miner
    loan: Loan
    a: Settlement
    officer: Any


def _post(world: World, lot_code: str) -> Settlement:
    return settlement_post(
        buyer=world.buyer,
        miner=world.miner,
        actor=world.officer,
        lot_code=lot_code,
        settled_on=SETTLED_ON,
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, "wet_tonnes": D("1")},
    ).settlement


def _world(officer: Any, product: LoanProduct) -> World:
    # A buyer of its own per world: the reconciliation matches a buyer's credit across its miners.
    buyer = BuyerFactory.create(remittance_days=7)
    miner = MinerFactory.create()
    loan = disburse(miner=miner, product=product, officer=officer, buyer=buyer)
    world = World(buyer=buyer, miner=miner, loan=loan, a=Settlement(), officer=officer)
    world.a = _post(world, "LOT-A")
    return world


def void_a(world: World) -> None:
    settlement_void(settlement=world.a, actor=world.officer, reason="Lote mal pesado.")


def post_b(world: World) -> None:
    _post(world, "LOT-B")


def pay(world: World) -> None:
    payment_record(loan=world.loan, amount=D("500.00"), paid_on=dt.date(2025, 2, 5), actor=world.officer)


def remit_a(world: World) -> None:
    remittance_record(
        buyer=world.buyer,
        reference="TRF-0001",
        amount=D("1373.94"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 20),
        actor=world.officer,
        settlement_ids=[world.a.pk],
    )


Operation = Callable[[World], None]


def _state(world: World) -> dict[str, Any]:
    """What a person checks afterwards, with no ids (worlds are compared with each other), after the
    hourly reconciliation has run once more for the buyer (what it does is a function of the rows)."""
    reconcile_remittances(as_of=servicing_today(), buyer_ids=[world.buyer.pk])
    loan = Loan.objects.get(pk=world.loan.pk)
    return {
        "settlements": sorted(Settlement.objects.filter(buyer=world.buyer).values_list("lot_code", "status")),
        "withholdings": sorted(
            Withholding.objects.filter(buyer=world.buyer).values_list(
                "settlement__lot_code", "amount", "status", "remitted_amount"
            )
        ),
        "transactions": sorted(
            LoanTransaction.objects.filter(loan=loan).values_list(
                "kind", "value_date", "amount", "settlement__lot_code"
            )
        ),
        "loan": (
            loan.status,
            loan.outstanding_principal,
            loan.overdue_amount,
            loan.moratory_accrued,
            loan.next_due_on,
            loan.schedule_version,
            loan.installment_amount,
        ),
        "cronograma": list(
            ScheduleLine.objects.filter(loan=loan)
            .order_by("version", "number")
            .values_list(
                "version",
                "number",
                "is_current",
                "status",
                "paid_principal",
                "paid_interest",
                "paid_insurance",
                "paid_fees",
                "paid_moratory",
                "moratory_accrued",
            )
        ),
        "remittances": sorted(
            Remittance.objects.filter(buyer=world.buyer).values_list("reference", "amount", "unmatched_amount")
        ),
        "matches": sorted(
            RemittanceMatch.objects.filter(remittance__buyer=world.buyer).values_list(
                "withholding__settlement__lot_code", "amount"
            )
        ),
        # What the void's audit row says it gave back to remittances: nothing if it came before them.
        "released_by_void": [
            sorted(after["released_to_remittances"].values())
            for after in AuditEvent.objects.filter(
                action="settlement.void", object_id=str(world.a.pk), object_type=Settlement._meta.label
            ).values_list("after", flat=True)
            if after is not None
        ],
        "open_exceptions": sorted(
            ReconciliationException.objects.filter(
                buyer=world.buyer, status=ReconciliationException.Status.OPEN
            ).values_list("kind", "amount")
        ),
    }


def _race(world: World, first: Operation, second: Operation) -> list[BaseException]:
    """``first`` and ``second`` released at the same instant, each on its own connection."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(operation: Operation) -> None:
        try:
            start.wait()
            operation(world)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller's assertion
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(op,)) for op in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a call never finished"
    return errors


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.slow
@pytest.mark.parametrize(
    ("first", "second"),
    [(void_a, post_b), (post_b, pay), (remit_a, void_a)],
    ids=["void-vs-post", "post-vs-payment", "remittance-vs-void"],
)
def test_it_serves_two_writes_for_one_miner_at_once_as_if_one_after_the_other(
    officer: Any, product: LoanProduct, first: Operation, second: Operation
) -> None:
    serial = []
    for order in ((first, second), (second, first)):
        world = _world(officer, product)
        for operation in order:
            operation(world)
        serial.append(_state(world))
    # The two orders must tell apart, or the comparison below would prove nothing.
    assert serial[0] != serial[1]

    failures = []
    for n in range(ROUNDS):
        world = _world(officer, product)
        errors = _race(world, first, second)
        if errors:
            failures.append((n, [f"{type(e).__name__}: {e}" for e in errors]))
            continue
        assert _state(world) in serial, f"round {n}: the result is neither order's"
    assert failures == [], f"{len(failures)} of {ROUNDS} rounds failed"
