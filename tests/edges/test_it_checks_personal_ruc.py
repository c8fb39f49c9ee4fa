"""A personal RUC is "10" + the miner's own DNI + check digit (DOMAIN.md §2), on every write path: the
API, the officer's form and the CSV import. Check digits worked by hand (weights 5,4,3,2,7,6,5,4,3,2):
- DNI 45871236: 1045871236 → S = 159, 159 mod 11 = 5, (11 − 5) mod 10 = 6 → 10458712366;
- DNI 41234567: 1041234567 → S = 123, 123 mod 11 = 2, (11 − 2) mod 10 = 9 → 10412345679;
- 1512345678 → S = 163, 163 mod 11 = 9, (11 − 9) mod 10 = 2 → 15123456782 (no DNI inside)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from rest_framework.test import APIClient

from miners.imports import miners_import_csv
from miners.models import Miner
from tests.api.conftest import token_client

pytestmark = pytest.mark.django_db

OWN_RUC = "10458712366"  # DNI 45871236's personal RUC
OTHERS_RUC = "10412345679"  # DNI 41234567's: valid check digit, someone else's DNI
NO_DNI_RUC = "15123456782"

ROSA = {
    "first_names": "Rosa",
    "last_names": "Huamán Condori",
    "document_type": "DNI",
    "document_number": "45871236",
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


def _register(client: APIClient, **fields: Any) -> Any:
    return client.post("/api/v1/miners/", {**ROSA, **fields}, format="json")


def test_item11_personal_ruc_of_someone_elses_dni_is_a_400_naming_the_field(officer_api) -> None:
    response = _register(officer_api, ruc=OTHERS_RUC)

    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert list(error["fields"]) == ["ruc"]
    assert "10458712366" in error["fields"]["ruc"][0] and "41234567" in error["fields"]["ruc"][0]
    assert not Miner.objects.exists()

    typed = _register(officer_api, ruc="10-45871236-6")  # her own, typed with dashes
    assert typed.status_code == 201, typed.content
    assert Miner.objects.get().ruc == OWN_RUC


def test_item11_personal_ruc_is_checked_again_when_the_dni_changes(officer_api) -> None:
    created = _register(officer_api, ruc=OWN_RUC)
    assert created.status_code == 201, created.content

    # Correcting the DNI alone would leave a RUC that is now someone else's.
    response = officer_api.patch(
        f"/api/v1/miners/{created.json()['id']}/", {"document_number": "41234567"}, format="json"
    )
    assert response.status_code == 400, response.content
    assert "ruc" in response.json()["error"]["fields"]

    both = officer_api.patch(
        f"/api/v1/miners/{created.json()['id']}/", {"document_number": "41234567", "ruc": OTHERS_RUC}, format="json"
    )
    assert both.status_code == 200, both.content
    assert Miner.objects.get().ruc == OTHERS_RUC


def test_item11_personal_ruc_for_a_ce_holder_is_refused_and_a_15_ruc_accepted(officer_api) -> None:
    ce = {"document_type": "CE", "document_number": "001234567"}

    refused = _register(officer_api, ruc=OTHERS_RUC, **ce)
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["error"]["fields"]) == ["ruc"]

    accepted = _register(officer_api, ruc=NO_DNI_RUC, **ce)
    assert accepted.status_code == 201, accepted.content


def test_item11_personal_ruc_of_someone_elses_dni_is_a_form_error(client, officer) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    form = {**ROSA, "ruc": OTHERS_RUC}

    response = client.post(reverse("miners:create"), form)

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["ruc"]
    assert "41234567" in errors["ruc"][0]
    assert not Miner.objects.exists()

    saved = client.post(reverse("miners:create"), {**form, "ruc": OWN_RUC})
    assert saved.status_code == 302
    assert Miner.objects.get().ruc == OWN_RUC


def test_item11_personal_ruc_of_someone_elses_dni_is_an_import_row_error(officer) -> None:  # type: ignore[no-untyped-def]
    text = (
        "first_names,last_names,document_type,document_number,ruc,gender,ubigeo\n"
        f"Rosa,Huamán,DNI,45871236,{OWN_RUC},F,040112\n"
        f"Luz,Quispe,DNI,47000001,{OTHERS_RUC},F,040112\n"
        "Ana,Mamani,CE,001234567,10470000011,F,040112\n"  # 1047000001: S = 33, check (11 − 0) mod 10 = 1
    )

    result = miners_import_csv(text=text, actor=officer)

    assert not result.ok and result.created == 0
    assert [row.line for row in result.error_rows] == [3, 4]
    [other_dni] = result.error_rows[0].errors
    assert other_dni.startswith("ruc: ") and "41234567" in other_dni
    [ce_holder] = result.error_rows[1].errors
    assert ce_holder.startswith("ruc: ") and "15" in ce_holder
    assert not Miner.objects.exists()
