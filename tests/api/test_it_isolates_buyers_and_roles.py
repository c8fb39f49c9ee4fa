"""The access matrix: every endpoint × every role × own/other buyer.

Writes are sent with an empty body, so a role that may write gets past the permission check and is
stopped by validation (400) or by the object's state (409), and a role that may not gets 403 before
anything is looked at. "ok" below means "allowed": any answer but 401, 403 or 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from installments.services import remittance_record
from loans.services import application_create
from tests.api.conftest import disbursed_loan, settlement_body, today, token_client
from tests.factories import LoanProductFactory, MinerFactory

OK = "ok"
ROLES = ("anonymous", "buyer", "officer", "approver", "analyst", "admin", "no_role")

READ_STAFF = {"anonymous": 401, "buyer": 403, "officer": OK, "approver": OK, "analyst": OK, "admin": OK, "no_role": 403}
WRITE_OFFICER = {
    "anonymous": 401,
    "buyer": 403,
    "officer": OK,
    "approver": 403,
    "analyst": 403,
    "admin": OK,
    "no_role": 403,
}
WRITE_ADMIN = {**WRITE_OFFICER, "officer": 403}
DECIDE = {**WRITE_OFFICER, "officer": 403, "approver": OK}
READ_SHARED = {**READ_STAFF, "buyer": OK}
READ_OTHER_BUYER = {**READ_STAFF, "buyer": 404}
WRITE_SHARED = {**WRITE_OFFICER, "buyer": OK}
WRITE_OTHER_BUYER = {**WRITE_OFFICER, "buyer": 404}
ANYONE = {"anonymous": 401, "buyer": OK, "officer": OK, "approver": OK, "analyst": OK, "admin": OK, "no_role": 403}


@dataclass
class World:
    clients: dict[str, APIClient]
    ids: dict[str, int]


@pytest.fixture
def world(orex, rival, officer, approver, analyst, admin_user, django_user_model) -> World:  # type: ignore[no-untyped-def]
    from installments.services.settlement_batches import settlements_post_bulk

    loan = disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    own = settlements_post_bulk(buyer=orex.buyer, rows=[settlement_body(orex.supplier, "OREX-1")], actor="test")
    other = settlements_post_bulk(buyer=rival.buyer, rows=[settlement_body(rival.supplier, "RIVAL-1")], actor="test")
    assert own.ok and other.ok, (own.errors, other.errors)
    own_remittance = remittance_record(
        buyer=orex.buyer, reference="BCP-1", amount=Decimal("100"), currency="PEN", paid_on=today(), actor="test"
    )
    other_remittance = remittance_record(
        buyer=rival.buyer, reference="BCP-9", amount=Decimal("100"), currency="PEN", paid_on=today(), actor="test"
    )
    draft = application_create(
        miner=MinerFactory(),
        product=LoanProductFactory(),
        amount=Decimal("5000"),
        term=6,
        disbursement_date=today(),
        first_due_on=today() + dt.timedelta(days=30),
        prepared_by=officer,
    )
    nobody = django_user_model.objects.create_user("sin.rol", password="correct-horse-battery-9")
    clients = {
        "anonymous": APIClient(),
        "buyer": orex.client,
        "officer": token_client(officer),
        "approver": token_client(approver),
        "analyst": token_client(analyst),
        "admin": token_client(admin_user),
        "no_role": token_client(nobody),
    }
    ids = {
        "own_supplier": orex.relationship.pk,
        "other_supplier": rival.relationship.pk,
        "own_settlement": own.outcomes[0].settlement.pk,
        "other_settlement": other.outcomes[0].settlement.pk,
        "own_remittance": own_remittance.remittance.pk,
        "other_remittance": other_remittance.remittance.pk,
        "miner": orex.supplier.pk,
        "buyer": orex.buyer.pk,
        "product": loan.product_id,
        "application": draft.pk,
        "loan": loan.pk,
    }
    return World(clients, ids)


ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    # Buyer-facing resources: own object vs another buyer's.
    ("GET", "/api/v1/suppliers/", READ_SHARED),
    ("GET", "/api/v1/suppliers/{own_supplier}/", READ_SHARED),
    ("GET", "/api/v1/suppliers/{other_supplier}/", READ_OTHER_BUYER),
    ("POST", "/api/v1/suppliers/", WRITE_OFFICER),
    ("PATCH", "/api/v1/suppliers/{own_supplier}/", WRITE_OFFICER),
    ("GET", "/api/v1/settlements/", READ_SHARED),
    ("GET", "/api/v1/settlements/{own_settlement}/", READ_SHARED),
    ("GET", "/api/v1/settlements/{other_settlement}/", READ_OTHER_BUYER),
    ("POST", "/api/v1/settlements/", WRITE_SHARED),
    ("POST", "/api/v1/settlements/bulk/", WRITE_SHARED),
    ("POST", "/api/v1/settlements/{own_settlement}/void/", WRITE_SHARED),
    ("POST", "/api/v1/settlements/{other_settlement}/void/", WRITE_OTHER_BUYER),
    ("GET", "/api/v1/remittances/", READ_SHARED),
    ("GET", "/api/v1/remittances/{own_remittance}/", READ_SHARED),
    ("GET", "/api/v1/remittances/{other_remittance}/", READ_OTHER_BUYER),
    ("POST", "/api/v1/remittances/", WRITE_SHARED),
    ("GET", "/api/v1/statement/", READ_SHARED),
    ("POST", "/api/v1/simulations/", ANYONE),
    # The lender's side.
    ("GET", "/api/v1/miners/", READ_STAFF),
    ("GET", "/api/v1/miners/{miner}/", READ_STAFF),
    ("POST", "/api/v1/miners/", WRITE_OFFICER),
    ("PATCH", "/api/v1/miners/{miner}/", WRITE_OFFICER),
    ("GET", "/api/v1/buyers/", READ_STAFF),
    ("GET", "/api/v1/buyers/{buyer}/", READ_STAFF),
    ("POST", "/api/v1/buyers/", WRITE_ADMIN),
    ("PATCH", "/api/v1/buyers/{buyer}/", WRITE_ADMIN),
    ("GET", "/api/v1/buyers/{buyer}/api-keys/", READ_STAFF),
    ("POST", "/api/v1/buyers/{buyer}/api-keys/", WRITE_ADMIN),
    ("GET", "/api/v1/loan-products/", READ_STAFF),
    ("GET", "/api/v1/loan-products/{product}/", READ_STAFF),
    ("POST", "/api/v1/loan-products/", WRITE_ADMIN),
    ("PATCH", "/api/v1/loan-products/{product}/", WRITE_ADMIN),
    ("GET", "/api/v1/loan-applications/", READ_STAFF),
    ("GET", "/api/v1/loan-applications/{application}/", READ_STAFF),
    ("GET", "/api/v1/loan-applications/{application}/schedule/", READ_STAFF),
    ("POST", "/api/v1/loan-applications/", WRITE_OFFICER),
    ("PATCH", "/api/v1/loan-applications/{application}/", WRITE_OFFICER),
    ("POST", "/api/v1/loan-applications/{application}/submit/", WRITE_OFFICER),
    ("POST", "/api/v1/loan-applications/{application}/approve/", DECIDE),
    ("POST", "/api/v1/loan-applications/{application}/reject/", DECIDE),
    ("POST", "/api/v1/loan-applications/{application}/cancel/", WRITE_OFFICER),
    ("POST", "/api/v1/loan-applications/{application}/disburse/", WRITE_OFFICER),
    ("GET", "/api/v1/loans/", READ_STAFF),
    ("GET", "/api/v1/loans/{loan}/", READ_STAFF),
    ("GET", "/api/v1/loans/{loan}/schedule/", READ_STAFF),
    ("GET", "/api/v1/loans/{loan}/payments/", READ_STAFF),
    ("POST", "/api/v1/loans/{loan}/payments/", WRITE_OFFICER),
    ("GET", "/api/v1/ratings/", READ_STAFF),
    ("GET", "/api/v1/portfolio/", READ_STAFF),
]


def _allowed(status: int) -> bool:
    return status not in (401, 403, 404)


@pytest.mark.parametrize(("method", "template", "expected"), ENDPOINTS, ids=[f"{m} {t}" for m, t, _ in ENDPOINTS])
def test_it_applies_the_access_matrix(world: World, method: str, template: str, expected: dict[str, Any]) -> None:
    path = template.format(**world.ids)
    mismatches = []
    for role in ROLES:
        client = world.clients[role]
        body = None if method == "GET" else {}
        response = getattr(client, method.lower())(path, body, format="json")
        assert response.status_code < 500, (role, response.status_code, response.content[:500])
        want = expected[role]
        got_ok = _allowed(response.status_code)
        if (want == OK and not got_ok) or (want != OK and response.status_code != want):
            mismatches.append(f"{role}: expected {want}, got {response.status_code} {response.content[:200]!r}")
        if not got_ok:
            assert set(response.json()) == {"error"}
    assert not mismatches, "\n".join(mismatches)


def test_it_lists_only_the_buyers_own_records(world: World, orex, rival) -> None:
    client = world.clients["buyer"]
    for path, own in (
        ("/api/v1/suppliers/", "own_supplier"),
        ("/api/v1/settlements/", "own_settlement"),
        ("/api/v1/remittances/", "own_remittance"),
    ):
        ids = [row["id"] for row in client.get(path).json()["results"]]
        assert ids == [world.ids[own]], path
        # Naming the other buyer in a filter changes nothing: the buyer's scope is not a filter.
        assert client.get(path, {"buyer": rival.buyer.pk}).json()["results"] == [], path


def test_it_shows_staff_every_buyers_records(world: World) -> None:
    ids = {row["id"] for row in world.clients["analyst"].get("/api/v1/settlements/").json()["results"]}
    assert ids == {world.ids["own_settlement"], world.ids["other_settlement"]}


def test_it_refuses_a_settlement_for_another_buyers_supplier(world: World, rival) -> None:
    response = world.clients["buyer"].post(
        "/api/v1/settlements/", settlement_body(rival.supplier, "OREX-2"), format="json"
    )
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["miner"]


def test_it_answers_the_same_for_a_miner_that_does_not_exist(world: World) -> None:
    body = settlement_body(MinerFactory(), "OREX-3")
    body["miner"] = 10**12
    response = world.clients["buyer"].post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"]["miner"] == ["This miner is not one of this buyer's suppliers."]


def test_it_never_links_another_buyers_settlement_to_a_remittance(world: World) -> None:
    response = world.clients["buyer"].post(
        "/api/v1/remittances/",
        {
            "reference": "BCP-77",
            "amount": "10.00",
            "currency": "PEN",
            "paid_on": today().isoformat(),
            "settlements": [world.ids["other_settlement"]],
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["settlements"] == []
    assert body["matches"] == []
    assert [e["kind"] for e in body["exceptions"]] == ["unknown_settlement", "over"]


def test_it_keeps_analysts_from_changing_anything(world: World) -> None:
    client = world.clients["analyst"]
    for path in ("/api/v1/miners/", "/api/v1/loan-applications/", "/api/v1/settlements/", "/api/v1/remittances/"):
        assert client.post(path, {}, format="json").status_code == 403
    assert client.patch(f"/api/v1/miners/{world.ids['miner']}/", {"phone": "999"}, format="json").status_code == 403
