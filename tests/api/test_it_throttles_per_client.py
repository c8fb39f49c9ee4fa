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
