"""The outbox's tests: the API personas (tests/api) and a Redis of the test's own (tests/degraded),
which a test stops by its PID to play a broker outage. Never the shared Redis on 6379."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import orex  # noqa: F401 - fixtures shared with the API tests
from tests.degraded.conftest import OwnRedis, _free_port


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch) -> OwnRedis:
    """Celery publishes to the test's own Redis, for real (not in-process)."""
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    # Celery reads CELERY_BROKER_URL from the environment before its configuration.
    monkeypatch.setenv("CELERY_BROKER_URL", own_redis.url)
    monkeypatch.setattr(app.conf, "broker_url", own_redis.url)
    return own_redis


def queued_tasks(server: OwnRedis, queue: str = "celery") -> list[str]:
    """The task names waiting in ``queue`` of the test's Redis, oldest first."""
    import json

    raw = server.client().lrange(queue, 0, -1)
    return [json.loads(item)["headers"]["task"] for item in reversed(raw)]
