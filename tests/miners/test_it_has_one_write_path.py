"""One write path for miners: the API, the officer's form and the CSV import store identifiers the same
way (no blanks, no dashes in a DNI, CE or RUC, upper case), so a buyer's settlement finds the miner by
the number as printed on the carné, and ``ab12345`` and ``AB12345`` are one miner, not two."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from asmcredit.models import AuditEvent
from buyers.models import Buyer
from buyers.services import api_key_issue
from miners.imports import miners_import_csv
from miners.models import Miner
from tests.api.conftest import key_client, settlement_body, token_client
from tests.factories import BuyerFactory, RelationshipFactory

pytestmark = pytest.mark.django_db

ROSA = {
    "first_names": "Rosa",
    "last_names": "Huamán Condori",
    "gender": "F",
    "ubigeo": "040112",
    "role": "owner_operator",
    "formalization_stage": "informal",
}


@pytest.fixture(autouse=True)
def _fresh_throttle():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def officer_api(officer) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(officer)


@pytest.fixture
def orex(db) -> tuple[Buyer, APIClient]:  # type: ignore[no-untyped-def]
    """A buyer posting settlements with its API key."""
    buyer = BuyerFactory.create(name="Minera Orex S.A.C.")
    raw, _ = api_key_issue(buyer=buyer, name="ERP")
    return buyer, key_client(raw)


def register(client: APIClient, **fields: Any) -> Any:
    return client.post("/api/v1/miners/", {**ROSA, **fields}, format="json")


def settle_by_document(orex: tuple[Buyer, APIClient], miner: Miner, document: str) -> Any:
    """Orex posts a settlement naming the miner by document only (after making her its supplier)."""
    buyer, client = orex
    RelationshipFactory(buyer=buyer, miner=miner)
    body = settlement_body(miner, "L-1")
    del body["miner"]
    body["miner_document"] = document
    return client.post("/api/v1/settlements/", body, format="json")


def test_it_stores_a_lower_case_ce_upper_case_and_a_settlement_finds_it(officer_api, orex) -> None:
    response = register(officer_api, document_type="CE", document_number="ab12345")
    assert response.status_code == 201, response.content
    assert response.json()["document_number"] == "AB12345"
    miner = Miner.objects.get(pk=response.json()["id"])
    assert miner.document_number == "AB12345"
    # Still audited as the API always did, by the same service the form uses.
    assert AuditEvent.objects.filter(action="miner.create", object_id=str(miner.pk)).count() == 1

    settlement = settle_by_document(orex, miner, "AB12345")
    assert settlement.status_code == 201, settlement.content
    assert settlement.json()["miner"] == miner.pk


@pytest.mark.parametrize("typed", ["4567 8912", "45-678-912", " 45 678-912 "])
def test_it_stores_a_dni_typed_with_blanks_or_dashes_compact(officer_api, orex, typed) -> None:
    response = register(officer_api, document_type="DNI", document_number=typed)
    assert response.status_code == 201, response.content
    assert response.json()["document_number"] == "45678912"
    miner = Miner.objects.get(pk=response.json()["id"])
    assert miner.document_number == "45678912"

    settlement = settle_by_document(orex, miner, "45678912")
    assert settlement.status_code == 201, settlement.content
    assert settlement.json()["miner"] == miner.pk


@pytest.mark.parametrize("named", ["45-678-912", "4567 8912", "45678912"])
def test_a_settlement_finds_the_miner_by_a_dni_typed_with_dashes_or_blanks(officer_api, orex, named) -> None:
    response = register(officer_api, document_type="DNI", document_number="45678912")
    assert response.status_code == 201, response.content
    miner = Miner.objects.get(pk=response.json()["id"])
    settlement = settle_by_document(orex, miner, named)
    assert settlement.status_code == 201, settlement.content
    assert settlement.json()["miner"] == miner.pk


@pytest.mark.parametrize("typed", ["10 45678912 4", "10-45678912-4", "1045-678-9124"])
def test_it_stores_a_ruc_typed_with_blanks_or_dashes_compact(officer_api, typed) -> None:
    response = register(officer_api, document_number="45678912", ruc=typed)
    assert response.status_code == 201, response.content
    assert response.json()["ruc"] == "10456789124"
    assert Miner.objects.get(pk=response.json()["id"]).ruc == "10456789124"


def test_it_still_refuses_a_ruc_with_a_wrong_check_digit_once_compacted(officer_api) -> None:
    response = register(officer_api, document_number="45678912", ruc="10-45678912-5")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "ruc" in response.json()["error"]["fields"]
    assert not Miner.objects.exists()


def test_it_refuses_the_same_ce_in_another_case_as_a_duplicate(officer_api) -> None:
    first = register(officer_api, document_type="CE", document_number="ab12345")
    assert first.status_code == 201, first.content

    other_case = register(officer_api, document_type="CE", document_number="AB12345", first_names="Otra")
    verbatim = register(officer_api, document_type="CE", document_number="ab12345", first_names="Otra")
    # The duplicate error, exactly what repeating the first request gives, and still one miner.
    assert other_case.status_code == verbatim.status_code == 400
    assert other_case.json() == verbatim.json()
    assert other_case.json()["error"]["code"] == "invalid"
    assert Miner.objects.filter(document_type="CE").count() == 1


def test_it_normalizes_a_correction_sent_with_patch(officer_api) -> None:
    created = register(officer_api, document_type="CE", document_number="ab12345")
    pk = created.json()["id"]
    response = officer_api.patch(f"/api/v1/miners/{pk}/", {"document_number": "cd-987 65"}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["document_number"] == "CD98765"
    assert Miner.objects.get(pk=pk).document_number == "CD98765"
    assert AuditEvent.objects.filter(action="miner.update", object_id=str(pk)).count() == 1


def test_the_form_and_the_import_store_what_the_api_stores(client, officer) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    response = client.post(reverse("miners:create"), {**ROSA, "document_type": "DNI", "document_number": "45-678-912"})
    assert response.status_code == 302
    assert Miner.objects.filter(document_number="45678912").count() == 1

    text = "first_names,last_names,document_type,document_number,gender,ubigeo\nAna,Quispe,CE,ab-123 46,F,040112\n"
    result = miners_import_csv(text=text, actor=officer)
    assert result.ok, result.as_dict()
    assert Miner.objects.filter(document_type="CE", document_number="AB12346").count() == 1
