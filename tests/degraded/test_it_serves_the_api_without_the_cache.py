"""With the cache (the throttle's shared counters) down, the API still answers, still throttles each
worker process at the configured rate, warns once, and goes back to the shared counters after."""

from __future__ import annotations

import logging

import pytest

from asmcredit import throttling
from asmcredit.models import IdempotencyRecord
from installments.models import Remittance
from tests.api.conftest import throttle_rate, today

REMITTANCE = {"reference": "BCP-77", "amount": "50.00", "currency": "PEN", "paid_on": today().isoformat()}


@pytest.fixture
def three_per_minute(monkeypatch):  # type: ignore[no-untyped-def]
    throttle_rate(monkeypatch, "3/min")


def _outage_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == throttling.__name__ and "unreachable" in r.getMessage()]


def test_it_posts_and_reads_with_the_cache_down(cache_on_own_redis, three_per_minute, orex, caplog) -> None:
    assert orex.client.get("/api/v1/suppliers/").status_code == 200  # counted in the shared cache
    cache_on_own_redis.stop()
    caplog.set_level(logging.WARNING, logger=throttling.__name__)

    first = orex.client.post("/api/v1/remittances/", REMITTANCE, format="json", HTTP_IDEMPOTENCY_KEY="down-1")
    again = orex.client.post("/api/v1/remittances/", REMITTANCE, format="json", HTTP_IDEMPOTENCY_KEY="down-1")
    assert first.status_code == again.status_code == 201
    # Idempotency keeps to the database: the retry replays, nothing is recorded twice.
    assert again["Idempotent-Replayed"] == "true"
    assert Remittance.objects.filter(buyer=orex.buyer).count() == 1
    assert IdempotencyRecord.objects.filter(key="down-1").count() == 1

    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    refused = orex.client.get("/api/v1/suppliers/")  # the fourth in this process's window of 3/min
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert len(_outage_warnings(caplog)) == 1, "one warning per outage, not one per request"


def test_it_keeps_other_clients_apart_with_the_cache_down(
    cache_on_own_redis, three_per_minute, orex, officer_api
) -> None:
    cache_on_own_redis.stop()
    for _ in range(3):
        assert orex.client.get("/api/v1/suppliers/").status_code == 200
    assert orex.client.get("/api/v1/suppliers/").status_code == 429
    assert officer_api.get("/api/v1/miners/").status_code == 200


def test_it_returns_to_the_shared_counters_when_the_cache_answers(
    cache_on_own_redis, three_per_minute, orex, monkeypatch, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger=throttling.__name__)
    monkeypatch.setattr(throttling.cache_outage, "retry_seconds", 0.0)
    cache_on_own_redis.stop()
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    assert throttling.cache_outage.down_since is not None

    cache_on_own_redis.start()
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    assert throttling.cache_outage.down_since is None
    counters = [key for key in cache_on_own_redis.client().keys("*") if b"throttle_client_buyer" in key]
    assert counters, "the request was counted in the shared cache again"
    assert any("answers again" in r.getMessage() for r in caplog.records if r.name == throttling.__name__)

    cache_on_own_redis.stop()  # a second outage is a second warning
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    assert len(_outage_warnings(caplog)) == 2


def test_it_waits_before_trying_a_down_cache_again(cache_on_own_redis, three_per_minute, orex, monkeypatch) -> None:
    cache_on_own_redis.stop()
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    tried = []
    monkeypatch.setattr(throttling.ClientRateThrottle, "cache", _Recording(tried))
    assert orex.client.get("/api/v1/suppliers/").status_code == 200
    assert tried == [], "within retry_seconds of a failure the cache is not asked"


class _Recording:
    def __init__(self, calls: list[str]) -> None:
        self.calls = calls

    def __getattr__(self, name: str) -> object:
        self.calls.append(name)
        raise AssertionError(name)
