"""remittances/ and statement/: the buyer pays what it withheld and reads where it stands."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.api.conftest import disbursed_loan, settlement_body, today


def _withheld(orex, officer, approver) -> dict:  # type: ignore[no-untyped-def]
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    return orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json").json()


def test_it_matches_a_remittance_to_the_withholding(orex, officer, approver) -> None:
    settlement = _withheld(orex, officer, approver)
    owed = settlement["withholding"]["amount"]
    body = {
        "reference": "BCP-1",
        "amount": owed,
        "currency": "PEN",
        "paid_on": today().isoformat(),
        "settlements": [settlement["id"]],
    }
    response = orex.client.post("/api/v1/remittances/", body, format="json")
    assert response.status_code == 201, response.content
    remittance = response.json()
    assert remittance["unmatched_amount"] == "0.00"
    assert [(m["settlement"], m["amount"]) for m in remittance["matches"]] == [(settlement["id"], owed)]
    assert remittance["exceptions"] == []
    assert orex.client.get("/api/v1/remittances/").json()["count"] == 1


def test_it_raises_a_short_remittance(orex, officer, approver) -> None:
    settlement = _withheld(orex, officer, approver)
    body = {
        "reference": "BCP-1",
        "amount": "10.00",
        "currency": "PEN",
        "paid_on": today().isoformat(),
        "settlements": [settlement["id"]],
    }
    remittance = orex.client.post("/api/v1/remittances/", body, format="json").json()
    [exception] = remittance["exceptions"]
    assert exception["kind"] == "short"
    assert Decimal(exception["amount"]) == Decimal(settlement["withholding"]["amount"]) - Decimal("10.00")


def test_it_refuses_a_reference_twice(orex) -> None:
    body = {"reference": "BCP-1", "amount": "10.00", "currency": "PEN", "paid_on": today().isoformat()}
    orex.client.post("/api/v1/remittances/", body, format="json")
    again = orex.client.post("/api/v1/remittances/", body, format="json")
    assert again.status_code == 400
    assert list(again.json()["error"]["fields"]) == ["reference"]


def test_it_states_withheld_remitted_and_owed(orex, officer, approver) -> None:
    settlement = _withheld(orex, officer, approver)
    withheld = Decimal(settlement["withholding"]["amount"])
    orex.client.post(
        "/api/v1/remittances/",
        {"reference": "BCP-1", "amount": "100.00", "currency": "PEN", "paid_on": today().isoformat()},
        format="json",
    )
    start = (today() - dt.timedelta(days=1)).isoformat()
    response = orex.client.get("/api/v1/statement/", {"from": start, "to": today().isoformat()})
    assert response.status_code == 200, response.content
    statement = response.json()
    assert Decimal(statement["withheld"]["PEN"]) == withheld
    assert statement["remitted"] == {"PEN": "100.00"}
    assert Decimal(statement["owed"]["PEN"]) == withheld - 100
    assert [row["kind"] for row in statement["rows"]] == ["withholding", "remittance"]


def test_it_refuses_a_backwards_period(orex) -> None:
    response = orex.client.get("/api/v1/statement/", {"from": "2025-02-01", "to": "2025-01-01"})
    assert response.status_code == 400


def test_it_makes_staff_name_the_buyer(officer_api, orex) -> None:
    assert officer_api.get("/api/v1/statement/").status_code == 400
    assert officer_api.get("/api/v1/statement/", {"buyer": orex.buyer.ruc}).status_code == 200
