"""Twenty settlements for one miner posted at the same moment never withhold more than is due."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Sum

from buyers.models import Settlement
from installments.models import ScheduleLine, Withholding
from installments.services import settlement_post
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_never_withholds_more_than_is_due_when_twenty_settlements_race(officer, orex, rosa, product):
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
    start = threading.Barrier(20)
    errors: list[BaseException] = []

    def post(n: int) -> None:
        try:
            start.wait()
            # One wet tonne each: 30% of S/ 4,579.80 = S/ 1,373.94, less than either loan's due.
            settlement_post(
                buyer=orex,
                miner=rosa,
                actor=officer,
                lot_code=f"RACE-{n:02d}",
                settled_on=dt.date(2025, 2, 10),
                currency="PEN",
                exchange_rate=D("3.75"),
                **{**DOMAIN_LOT, "wet_tonnes": D("1")},
            )
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert not any(thread.is_alive() for thread in threads), "a settlement never finished"
    assert errors == []
    assert Settlement.objects.filter(miner=rosa).count() == 20
    withheld = dict(Withholding.objects.values_list("loan").annotate(total=Sum("amount")))
    # Exactly what was due on 02-10 and not a céntimo more: 1,840.40 and 917.74.
    assert withheld == {older.pk: D("1840.40"), newer.pk: D("917.74")}
    # Three settlements were enough (1,373.94 + 1,373.94 + 10.26); the other seventeen withheld nothing.
    amounts = sorted(Withholding.objects.values_list("amount", flat=True))
    assert sum(amounts) == D("2758.14") and max(amounts) == D("1373.94")
    assert ScheduleLine.objects.filter(loan__in=[older, newer], number=1, status="paid").count() == 2
    assert ScheduleLine.objects.filter(loan=older, number=2, paid_principal__gt=0).count() == 0
