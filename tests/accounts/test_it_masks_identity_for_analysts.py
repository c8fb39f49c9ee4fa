"""NGO analysts work with aggregates: over the API, as on the web and on their PDFs, a miner's DNI and
RUC reach them masked (``*****567``) wherever a miner appears. Officers, and a buyer for its own
suppliers, read them whole."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.conftest import _buyer_persona, settlement_body, token_client

DNI, RUC = "41234567", "10412345671"


@pytest.fixture
def orex(db):  # type: ignore[no-untyped-def]
    cache.clear()  # fresh throttle buckets
    persona = _buyer_persona("Minera Orex S.A.C.")
    persona.supplier.document_number, persona.supplier.ruc = DNI, RUC
    persona.supplier.save()
    response = persona.client.post("/api/v1/settlements/", settlement_body(persona.supplier, "L-1"), format="json")
    assert response.status_code == 201, response.content
    return persona


def _miner_rows(client, orex) -> list[dict]:  # type: ignore[no-untyped-def]
    listed = client.get("/api/v1/miners/", {"document_number": DNI}).json()["results"]
    return [*listed, client.get(f"/api/v1/miners/{orex.supplier.pk}/").json()]


def test_it_masks_an_analysts_miners(orex, analyst) -> None:
    rows = _miner_rows(token_client(analyst), orex)
    assert [(row["document_number"], row["ruc"]) for row in rows] == [("*****567", "********671")] * 2


def test_it_shows_an_officer_the_miners_whole(orex, officer) -> None:
    rows = _miner_rows(token_client(officer), orex)
    assert [(row["document_number"], row["ruc"]) for row in rows] == [(DNI, RUC)] * 2


def _documents_in_buyer_resources(client, orex) -> list[str]:  # type: ignore[no-untyped-def]
    suppliers = client.get("/api/v1/suppliers/").json()["results"]
    supplier = client.get(f"/api/v1/suppliers/{orex.relationship.pk}/").json()
    settlements = client.get("/api/v1/settlements/").json()["results"]
    settlement = client.get(f"/api/v1/settlements/{settlements[0]['id']}/").json()
    return [
        *(row["miner"]["document_number"] for row in suppliers),
        supplier["miner"]["document_number"],
        *(row["miner_document"] for row in settlements),
        settlement["miner_document"],
    ]


def test_it_masks_the_miner_in_suppliers_and_settlements_for_an_analyst(orex, analyst) -> None:
    assert _documents_in_buyer_resources(token_client(analyst), orex) == ["*****567"] * 4


@pytest.mark.parametrize("who", ["officer", "buyer"])
def test_it_shows_the_miner_whole_to_an_officer_and_to_the_buyer(orex, officer, who) -> None:
    client = token_client(officer) if who == "officer" else orex.client
    assert _documents_in_buyer_resources(client, orex) == [DNI] * 4
