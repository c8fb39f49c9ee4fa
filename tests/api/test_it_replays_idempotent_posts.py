"""Idempotency-Key: a retry replays the first answer; a reused key with another body is refused."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from django.db import connection, transaction

from asmcredit import idempotency
from asmcredit.idempotency import lock_id
from asmcredit.models import IdempotencyRecord
from buyers.models import Settlement
from installments.models import Remittance, Withholding
from tests.api.conftest import disbursed_loan, key_client, settlement_body, today


def _post(client, path, body, key):  # type: ignore[no-untyped-def]
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_it_replays_a_settlement_without_withholding_twice(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    body = settlement_body(orex.supplier, "L-1")
    first = _post(orex.client, "/api/v1/settlements/", body, "retry-1")
    second = _post(orex.client, "/api/v1/settlements/", body, "retry-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Settlement.objects.filter(buyer=orex.buyer).count() == 1
    assert Withholding.objects.filter(buyer=orex.buyer).count() == 1
    assert first.json()["withholding"]["status"] == "withheld"


def test_it_replays_a_remittance_without_recording_it_twice(orex) -> None:
    body = {"reference": "BCP-1", "amount": "50.00", "currency": "PEN", "paid_on": today().isoformat()}
    first = _post(orex.client, "/api/v1/remittances/", body, "r-1")
    second = _post(orex.client, "/api/v1/remittances/", body, "r-1")
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert Remittance.objects.filter(buyer=orex.buyer).count() == 1


def test_it_treats_reordered_json_as_the_same_request(orex) -> None:
    body = {"reference": "BCP-2", "amount": "50.00", "currency": "PEN", "paid_on": today().isoformat()}
    _post(orex.client, "/api/v1/remittances/", body, "r-2")
    again = _post(orex.client, "/api/v1/remittances/", dict(reversed(list(body.items()))), "r-2")
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"


def test_it_refuses_a_key_reused_with_another_body(orex) -> None:
    _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), "k")
    response = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-2"), "k")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "idempotency_key_reused"
    assert "'k'" in error["message"] and "different request body" in error["message"]
    assert Settlement.objects.filter(buyer=orex.buyer).count() == 1


def test_it_refuses_a_key_reused_on_another_endpoint(orex) -> None:
    _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), "k")
    body = {"reference": "BCP-3", "amount": "5.00", "currency": "PEN", "paid_on": today().isoformat()}
    response = _post(orex.client, "/api/v1/remittances/", body, "k")
    assert response.status_code == 422
    assert "/api/v1/settlements/" in response.json()["error"]["message"]


def test_it_scopes_keys_to_the_client(orex, rival) -> None:
    mine = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), "same")
    theirs = _post(rival.client, "/api/v1/settlements/", settlement_body(rival.supplier, "L-1"), "same")
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert "Idempotent-Replayed" not in theirs
    assert set(IdempotencyRecord.objects.values_list("client", flat=True)) == {
        f"buyer:{orex.buyer.pk}",
        f"buyer:{rival.buyer.pk}",
    }


def test_it_shares_keys_between_a_buyers_keys(orex) -> None:
    from buyers.services import api_key_issue

    raw, _ = api_key_issue(buyer=orex.buyer, name="second system")
    body = settlement_body(orex.supplier, "L-1")
    first = _post(orex.client, "/api/v1/settlements/", body, "shared")
    second = _post(key_client(raw), "/api/v1/settlements/", body, "shared")
    assert second.json() == first.json()


def test_it_forgets_a_key_whose_request_failed(orex) -> None:
    bad = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1", wet_tonnes="-1"), "fix")
    assert bad.status_code == 400
    good = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), "fix")
    assert good.status_code == 201
    assert "Idempotent-Replayed" not in good


def test_it_validates_the_key(orex) -> None:
    response = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), "x" * 256)
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["Idempotency-Key"]


def test_it_works_for_staff_actions_too(officer_api, orex) -> None:
    body = {
        "buyer": orex.buyer.ruc,
        "reference": "BCP-4",
        "amount": "5.00",
        "currency": "PEN",
        "paid_on": today().isoformat(),
    }
    first = _post(officer_api, "/api/v1/remittances/", body, "staff-1")
    second = _post(officer_api, "/api/v1/remittances/", body, "staff-1")
    assert first.status_code == 201
    assert second.json() == first.json()


@contextmanager
def first_request_in_flight(client_key: str, key: str, work: Callable[[threading.Event], None]) -> Iterator[None]:
    """Another connection holds the key's lock in an open transaction — the first request, mid-flight —
    and does ``work`` in it (given an event set when the with-block ends) before its transaction ends."""
    locked, block_done = threading.Event(), threading.Event()

    def first_request() -> None:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [lock_id(client_key, key)])
                locked.set()
                work(block_done)
        finally:
            connection.close()

    thread = threading.Thread(target=first_request)
    thread.start()
    try:
        assert locked.wait(timeout=10)
        yield
    finally:
        block_done.set()
        thread.join(timeout=30)
    assert not thread.is_alive(), "the first request never finished"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_409_while_the_first_request_is_still_running(orex) -> None:
    def runs_until_told_then_gives_up(block_done: threading.Event) -> None:
        block_done.wait(timeout=10)
        transaction.set_rollback(True)

    with first_request_in_flight(f"buyer:{orex.buyer.pk}", "slow", runs_until_told_then_gives_up):
        response = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-9"), "slow")
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "idempotency_in_progress"
        assert not Settlement.objects.filter(lot_code="L-9").exists()
    # The first one gave up (rolled back): the retry now goes through.
    retry = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-9"), "slow")
    assert retry.status_code == 201


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_duplicate_waits_briefly_for_the_first_request_and_answers_from_its_outcome(orex, monkeypatch) -> None:
    """The first request finishes within the wait: the duplicate reads what it stored — here a record
    of another body, so 422 — instead of running again."""
    client_key = f"buyer:{orex.buyer.pk}"
    duplicate_waiting = threading.Event()

    def sleep(seconds: float) -> None:
        # The duplicate found the key locked and is about to poll again.
        duplicate_waiting.set()
        time.sleep(seconds)

    monkeypatch.setattr(idempotency, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep))

    def finishes_once_the_duplicate_waits(_block_done: threading.Event) -> None:
        # Finish only after the duplicate has started waiting, so it must wait and then read the outcome
        # (a fixed pause here let a slow test runner send the duplicate after the first had finished).
        duplicate_waiting.wait(timeout=10)
        IdempotencyRecord.objects.create(
            client=client_key,
            key="quick",
            method="POST",
            path="/api/v1/settlements/",
            request_hash="another body",
            status_code=201,
            response_body={},
        )

    with first_request_in_flight(client_key, "quick", finishes_once_the_duplicate_waits):
        response = _post(orex.client, "/api/v1/settlements/", settlement_body(orex.supplier, "L-8"), "quick")
    assert duplicate_waiting.is_set()
    assert response.status_code == 422, response.content
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert not Settlement.objects.filter(lot_code="L-8").exists()


def test_every_post_endpoint_honours_the_key() -> None:
    from config import api_urls

    checked, missing = set(), []
    for pattern in api_urls.urlpatterns:
        callback = pattern.callback
        actions = getattr(callback, "actions", None) or {}
        view_class = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        handler_name = actions.get("post") if actions else ("post" if hasattr(view_class, "post") else None)
        if handler_name is None:
            continue
        checked.add(str(pattern.pattern))
        handler = getattr(view_class, handler_name)
        # api-keys and terms mix GET and POST in one action: their POST goes through a decorated method.
        if handler_name == "api_keys":
            handler = view_class._issue_key
        if handler_name == "terms":
            handler = view_class._add_terms
        if not getattr(handler, "idempotent", False):
            missing.append(str(pattern.pattern))
    assert not missing, missing
    # The loop really reached the POST endpoints (a change in how routes are built must not leave it
    # checking nothing): the buyers' writes, master data, the loan actions.
    expected = {
        "^settlements/$",
        "^settlements/bulk/$",
        "^settlements/(?P<pk>[^/.]+)/void/$",
        "^remittances/$",
        "^miners/$",
        "^loan-applications/(?P<pk>[^/.]+)/disburse/$",
        "^loans/(?P<loan_pk>[^/.]+)/payments/$",
    }
    assert expected <= checked, expected - checked
