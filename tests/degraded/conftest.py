"""Degraded operation: a Redis of the test's own, which the test stops (by its PID) to play an outage.
Never the shared Redis on 6379. The API personas come from tests/api."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from tests.api.conftest import officer_api, orex  # noqa: F401 - fixtures shared with the API tests


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class OwnRedis:
    """A throwaway ``redis-server`` on a free port, without persistence."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, socket_connect_timeout=0.5)


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis(_free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def cache_on_own_redis(settings, own_redis: OwnRedis) -> OwnRedis:  # type: ignore[no-untyped-def]
    """The default cache (the throttle's counters) on the test's own Redis."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": own_redis.url}}
    return own_redis


@pytest.fixture(autouse=True)
def _fresh_throttle_state() -> Iterator[None]:
    """Each test starts with the cache believed up and empty per-process counters."""
    from asmcredit import throttling

    def reset() -> None:
        throttling.local_counters.clear()
        throttling.cache_outage.down_since = None
        throttling.cache_outage._retry_at = 0.0

    reset()
    yield
    reset()
