"""Throttling: one bucket per client (a buyer's key, a staff user), 429 past the rate."""

from __future__ import annotations

import pytest

from tests.api.conftest import throttle_rate


@pytest.fixture
def three_per_minute(monkeypatch):  # type: ignore[no-untyped-def]
    throttle_rate(monkeypatch, "3/min")


def test_it_answers_429_past_the_rate(three_per_minute, orex, rival) -> None:
    for _ in range(3):
        assert orex.client.get("/api/v1/suppliers/").status_code == 200
    response = orex.client.get("/api/v1/suppliers/")
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another buyer has its own bucket.
    assert rival.client.get("/api/v1/suppliers/").status_code == 200


def test_it_throttles_staff_users_separately(three_per_minute, officer_api, approver_api) -> None:
    for _ in range(3):
        assert officer_api.get("/api/v1/miners/").status_code == 200
    assert officer_api.get("/api/v1/miners/").status_code == 429
    assert approver_api.get("/api/v1/miners/").status_code == 200


def test_it_carries_the_last_periods_requests_across_the_boundary(three_per_minute, orex, monkeypatch) -> None:
    from asmcredit.throttling import ClientRateThrottle

    clock = [600.0 + 58]  # two seconds before a period ends
    monkeypatch.setattr(ClientRateThrottle, "timer", lambda self: clock[0])
    for _ in range(3):
        assert orex.client.get("/api/v1/suppliers/").status_code == 200
    clock[0] = 600.0 + 61  # a new period has begun, but the three requests were a few seconds ago
    refused = orex.client.get("/api/v1/suppliers/")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    clock[0] = 600.0 + 60 + 59  # most of the last period has slid out of the window
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
