"""/healthz names each dependency's state; 503 only when the database, without which nothing is
served, is down."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from config import views


@pytest.fixture
def broker_down(settings, own_redis):  # type: ignore[no-untyped-def]
    settings.CELERY_BROKER_URL = own_redis.url
    own_redis.stop()


def test_it_is_ok_with_every_dependency_up(client, db, settings, cache_on_own_redis) -> None:
    settings.CELERY_BROKER_URL = cache_on_own_redis.url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def test_it_is_degraded_but_serving_with_the_cache_down(client, db, settings, cache_on_own_redis) -> None:
    settings.CELERY_BROKER_URL = ""
    cache_on_own_redis.stop()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["cache"].startswith("down: ")
    assert body["checks"]["broker"] == "not configured"
    assert "127.0.0.1" not in body["checks"]["cache"], "a public page does not name internal hosts"


def test_it_is_degraded_but_serving_with_the_broker_down(client, db, broker_down) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["broker"].startswith("down: ")
    assert body["checks"]["cache"] == "ok"


def test_it_answers_503_with_the_database_down(client, db, settings, monkeypatch) -> None:
    settings.CELERY_BROKER_URL = ""

    def refuse() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(views, "_check_database", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] == "down: OperationalError"
