"""Applications over HTTP: prepare, submit, approve (maker–checker), reject, disburse."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tests.api.conftest import today
from tests.factories import LoanProductFactory, MinerFactory


@pytest.fixture
def application_body(db):  # type: ignore[no-untyped-def]
    # Disbursed on the day it is approved: a disbursement is never dated before its approval.
    start = today()
    miner: Any = MinerFactory()
    product: Any = LoanProductFactory()
    return {
        "miner": miner.pk,
        "product": product.pk,
        "amount": "10000.00",
        "term": 6,
        "disbursement_date": start.isoformat(),
        "first_due_on": (start + dt.timedelta(days=33)).isoformat(),
    }


def _submitted(client, body) -> int:  # type: ignore[no-untyped-def]
    created = client.post("/api/v1/loan-applications/", body, format="json")
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert client.post(f"/api/v1/loan-applications/{pk}/submit/", format="json").status_code == 200
    return pk


def test_it_takes_an_application_from_draft_to_loan(officer_api, approver_api, application_body) -> None:
    created = officer_api.post("/api/v1/loan-applications/", application_body, format="json")
    assert created.status_code == 201
    assert created.json()["status"] == "draft"
    assert created.json()["tea_pct"] == "40.0000"  # the product's rate when none is given
    pk = created.json()["id"]
    preview = officer_api.get(f"/api/v1/loan-applications/{pk}/schedule/").json()
    assert len(preview["rows"]) == 6

    assert officer_api.post(f"/api/v1/loan-applications/{pk}/submit/").json()["status"] == "submitted"
    approved = approver_api.post(f"/api/v1/loan-applications/{pk}/approve/", {"comment": "ok"}, format="json")
    assert approved.json()["status"] == "approved"
    assert approved.json()["decided_by"] == "arturo.approver"

    disbursed = officer_api.post(
        f"/api/v1/loan-applications/{pk}/disburse/",
        {"disbursed_on": application_body["disbursement_date"], "reference": "OP-1"},
        format="json",
    )
    assert disbursed.status_code == 201, disbursed.content
    loan = disbursed.json()
    assert loan["principal"] == "10000.00"
    assert loan["application"] == pk
    assert officer_api.get(f"/api/v1/loan-applications/{pk}/").json()["loan"] == loan["id"]
    schedule = officer_api.get(f"/api/v1/loans/{loan['id']}/schedule/").json()
    assert [line["number"] for line in schedule["installments"]] == [1, 2, 3, 4, 5, 6]


def test_it_never_lets_the_preparer_approve(admin_api, application_body) -> None:
    pk = _submitted(admin_api, application_body)
    response = admin_api.post(f"/api/v1/loan-applications/{pk}/approve/", {}, format="json")
    assert response.status_code == 403
    assert "maker" in response.json()["error"]["message"]


def test_it_keeps_officers_from_approving(officer_api, application_body) -> None:
    pk = _submitted(officer_api, application_body)
    assert officer_api.post(f"/api/v1/loan-applications/{pk}/approve/", {}, format="json").status_code == 403


def test_it_needs_a_reason_to_reject(officer_api, approver_api, application_body) -> None:
    pk = _submitted(officer_api, application_body)
    response = approver_api.post(f"/api/v1/loan-applications/{pk}/reject/", {}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["reason"]
    rejected = approver_api.post(f"/api/v1/loan-applications/{pk}/reject/", {"reason": "Sin capacidad"}, format="json")
    assert rejected.json()["status"] == "rejected"


def test_it_answers_409_to_an_illegal_transition(officer_api, approver_api, application_body) -> None:
    created = officer_api.post("/api/v1/loan-applications/", application_body, format="json").json()
    response = approver_api.post(f"/api/v1/loan-applications/{created['id']}/approve/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    disburse = officer_api.post(f"/api/v1/loan-applications/{created['id']}/disburse/", {}, format="json")
    assert disburse.status_code == 409


def test_it_checks_product_limits_per_field(officer_api, application_body) -> None:
    response = officer_api.post(
        "/api/v1/loan-applications/", {**application_body, "amount": "999999.00", "term": 99}, format="json"
    )
    assert response.status_code == 400
    assert {"amount", "term"} <= set(response.json()["error"]["fields"])


def test_it_edits_only_drafts(officer_api, application_body) -> None:
    pk = officer_api.post("/api/v1/loan-applications/", application_body, format="json").json()["id"]
    edited = officer_api.patch(f"/api/v1/loan-applications/{pk}/", {"amount": "12000.00"}, format="json")
    assert edited.json()["amount"] == "12000.00"
    officer_api.post(f"/api/v1/loan-applications/{pk}/submit/")
    assert officer_api.patch(f"/api/v1/loan-applications/{pk}/", {"amount": "1.00"}, format="json").status_code == 409


def test_it_registers_miners_and_refuses_bad_identifiers(officer_api) -> None:
    body = {
        "first_names": "Rosa",
        "last_names": "Huamán",
        "document_type": "DNI",
        "document_number": "4123456",
        "gender": "F",
        "ubigeo": "040112",
        "role": "pallaquera",
        "formalization_stage": "not_applicable",
    }
    bad = officer_api.post("/api/v1/miners/", body, format="json")
    assert bad.status_code == 400
    assert "document_number" in bad.json()["error"]["fields"]
    good = officer_api.post("/api/v1/miners/", {**body, "document_number": "41234567"}, format="json")
    assert good.status_code == 201, good.content
    duplicate = officer_api.post("/api/v1/miners/", {**body, "document_number": "41234567"}, format="json")
    assert duplicate.status_code == 400


def test_it_issues_and_revokes_buyer_keys_over_http(admin_api, orex) -> None:
    issued = admin_api.post(f"/api/v1/buyers/{orex.buyer.pk}/api-keys/", {"name": "ERP 2"}, format="json")
    assert issued.status_code == 201
    raw = issued.json()["key"]
    from tests.api.conftest import key_client

    assert key_client(raw).get("/api/v1/suppliers/").status_code == 200
    listed = admin_api.get(f"/api/v1/buyers/{orex.buyer.pk}/api-keys/").json()
    assert all("key" not in row for row in listed)
    revoked = admin_api.post(f"/api/v1/buyers/{orex.buyer.pk}/api-keys/{issued.json()['id']}/revoke/")
    assert revoked.status_code == 200
    assert key_client(raw).get("/api/v1/suppliers/").status_code == 401
