"""Remittances matched to withholdings, the exceptions a person resolves, and what a buyer owes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from installments.models import ReconciliationException, Withholding
from installments.selectors import buyer_balance_owed, buyer_statement
from installments.services import (
    exception_resolve,
    reconcile_remittances,
    remittance_record,
    settlement_post,
    settlement_void,
)
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal


@pytest.fixture
def withholdings(officer, orex, rosa, teodoro, product):  # type: ignore[no-untyped-def]
    """Orex withheld S/ 1,373.94 from Rosa on 02-10 and from Teodoro on 02-12."""
    made = []
    for miner, lot, day in ((rosa, "R-1", dt.date(2025, 2, 10)), (teodoro, "T-1", dt.date(2025, 2, 12))):
        disburse(miner=miner, product=product, officer=officer, buyer=orex)
        outcome = settlement_post(
            buyer=orex,
            miner=miner,
            actor=officer,
            lot_code=lot,
            settled_on=day,
            currency="PEN",
            exchange_rate=D("3.75"),
            **{**DOMAIN_LOT, "wet_tonnes": D("1")},
        )
        made.append(outcome.withholdings[0])
    return made


def test_it_matches_a_remittance_to_the_oldest_withholdings_first(officer, orex, withholdings):
    outcome = remittance_record(
        buyer=orex,
        reference="BCP-001",
        amount=D("2000.00"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 14),
        actor=officer,
    )

    assert [(m.withholding_id, m.amount) for m in outcome.matches] == [
        (withholdings[0].pk, D("1373.94")),
        (withholdings[1].pk, D("626.06")),
    ]
    assert outcome.exceptions == [] and outcome.remittance.unmatched_amount == D("0.00")
    statuses = dict(Withholding.objects.values_list("pk", "status"))
    assert statuses == {withholdings[0].pk: "remitted", withholdings[1].pk: "partial"}
    assert buyer_balance_owed(buyer=orex, as_of=dt.date(2025, 2, 28)) == {"PEN": D("747.88")}
    statement = buyer_statement(buyer=orex, date_from=dt.date(2025, 2, 1), date_to=dt.date(2025, 2, 28))
    assert statement["withheld"] == {"PEN": D("2747.88")} and statement["remitted"] == {"PEN": D("2000.00")}
    assert [row["kind"] for row in statement["rows"]] == ["withholding", "withholding", "remittance"]


def test_it_raises_short_and_unknown_settlement_exceptions_for_a_listed_remittance(officer, orex, withholdings):
    listed = [withholdings[1].settlement_id, 999999]

    outcome = remittance_record(
        buyer=orex,
        reference="BCP-002",
        amount=D("1000.00"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 14),
        actor=officer,
        settlement_ids=listed,
    )

    assert [(m.withholding_id, m.amount) for m in outcome.matches] == [(withholdings[1].pk, D("1000.00"))]
    kinds = sorted((e.kind, e.amount) for e in outcome.exceptions)
    assert kinds == [("short", D("373.94")), ("unknown_settlement", D("0.00"))]
    with pytest.raises(ValidationError) as error:
        remittance_record(
            buyer=orex,
            reference="BCP-002",
            amount=D("1.00"),
            currency="PEN",
            paid_on=dt.date(2025, 2, 14),
            actor=officer,
        )
    assert "reference" in error.value.message_dict


def test_it_keeps_an_over_remittance_as_credit_until_later_withholdings_absorb_it(officer, orex, rosa, withholdings):
    outcome = remittance_record(
        buyer=orex,
        reference="BCP-003",
        amount=D("3000.00"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 14),
        actor=officer,
    )
    [over] = outcome.exceptions
    assert (over.kind, over.amount) == ("over", D("252.12"))
    assert buyer_balance_owed(buyer=orex, as_of=dt.date(2025, 2, 14)) == {"PEN": D("-252.12")}

    settlement_post(
        buyer=orex,
        miner=rosa,
        actor=officer,
        lot_code="R-2",
        settled_on=dt.date(2025, 2, 20),
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, "wet_tonnes": D("1")},
    )
    reconcile_remittances(as_of=dt.date(2025, 2, 21))

    over.refresh_from_db()
    assert over.status == "resolved" and over.resolved_by is None
    assert Withholding.objects.get(settlement__lot_code="R-2").remitted_amount == D("252.12")


def test_it_flags_withholdings_unremitted_past_the_agreed_days_once(officer, orex, withholdings):
    on_time = reconcile_remittances(as_of=dt.date(2025, 2, 17))  # Rosa's is 7 days old: still on time
    assert not ReconciliationException.objects.exists() and on_time.rows_touched == 0

    first = reconcile_remittances(as_of=dt.date(2025, 2, 18))
    second = reconcile_remittances(as_of=dt.date(2025, 2, 18))

    [late] = ReconciliationException.objects.all()
    assert (late.kind, late.withholding, late.amount) == ("overdue_unremitted", withholdings[0], D("1373.94"))
    assert first.rows_touched == 1 and second.rows_touched == 0

    remittance_record(
        buyer=orex,
        reference="BCP-004",
        amount=D("1373.94"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 19),
        actor=officer,
    )
    reconcile_remittances(as_of=dt.date(2025, 2, 19))
    late.refresh_from_db()
    assert late.status == "resolved"


def test_it_lets_staff_resolve_an_exception_with_a_note(officer, analyst, orex, withholdings):
    outcome = remittance_record(
        buyer=orex,
        reference="BCP-005",
        amount=D("5000.00"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 14),
        actor=officer,
    )
    [over] = outcome.exceptions

    resolved = exception_resolve(exception=over, actor=officer, note="Anticipo acordado con Orex")

    assert (resolved.status, resolved.resolved_by, resolved.resolution_note) == (
        "resolved",
        officer,
        "Anticipo acordado con Orex",
    )
    reconcile_remittances(as_of=dt.date(2025, 2, 15))  # a resolved over-remittance is not raised again
    assert ReconciliationException.objects.filter(kind="over").count() == 1


def test_it_releases_remitted_money_when_the_settlement_is_voided(officer, orex, withholdings):
    remittance_record(
        buyer=orex,
        reference="BCP-006",
        amount=D("1373.94"),
        currency="PEN",
        paid_on=dt.date(2025, 2, 14),
        actor=officer,
    )

    settlement_void(settlement=withholdings[0].settlement, actor=officer, reason="Lote duplicado")
    reconcile_remittances(as_of=dt.date(2025, 2, 15))

    # The money now pays Teodoro's withholding, the oldest still open.
    teodoro = Withholding.objects.get(pk=withholdings[1].pk)
    assert (teodoro.remitted_amount, teodoro.status) == (D("1373.94"), "remitted")
    assert Withholding.objects.get(pk=withholdings[0].pk).status == "reversed"
    assert buyer_balance_owed(buyer=orex, as_of=dt.date(2025, 2, 28)) == {"PEN": D("0.00")}
