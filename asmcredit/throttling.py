"""Per-client API throttling. Kept apart from asmcredit/api.py because DRF imports throttle
classes while defining APIView, so this module must not import anything built on DRF views."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from django.core.cache.backends.base import BaseCache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

try:
    from redis.exceptions import RedisError
except ImportError:  # pragma: no cover - redis is a dependency; the demo's locmem cache never raises
    RedisError = OSError  # type: ignore[assignment,misc]

logger = logging.getLogger(__name__)

# What a cache that cannot be reached raises: redis-py's errors (its ConnectionError and TimeoutError
# are not the built-in ones) and socket errors from other backends.
CACHE_ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


def _local_counters() -> Any:
    """Django's per-process memory cache (thread-safe, same ``get_many``/``add``/``incr``): the throttle's
    counters while the shared cache is down. Each worker process then limits on its own, so a client may
    get up to the rate times the number of workers; that beats refusing every request with a 500."""
    from django.core.cache.backends.locmem import LocMemCache

    return LocMemCache("asmcredit-throttle-fallback", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


class CacheOutage:
    """Whether the shared cache is known to be down, so the warning is logged once per outage and,
    while it lasts, the cache is tried again at most every ``retry_seconds`` (a cache that times out
    instead of refusing would otherwise add its timeout to every request)."""

    retry_seconds = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.down_since: float | None = None
        self._retry_at = 0.0

    def worth_trying(self) -> bool:
        return self.down_since is None or time.monotonic() >= self._retry_at

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._retry_at = now + self.retry_seconds
            if self.down_since is not None:
                return
            self.down_since = now
        logger.warning(
            "API throttle: the cache is unreachable (%s: %s); limiting each worker process on its own "
            "until it answers again.",
            type(exc).__name__,
            exc,
        )

    def answered(self) -> None:
        if self.down_since is None:
            return
        with self._lock:
            since, self.down_since = self.down_since, None
        if since is not None:
            logger.warning(
                "API throttle: the cache answers again after %.0f s; back to the shared counters.",
                time.monotonic() - since,
            )


local_counters = _local_counters()
cache_outage = CacheOutage()


class ClientRateThrottle(SimpleRateThrottle):
    """One bucket per API client: a buyer company (all its keys together), a staff user, or an
    anonymous address. The rate is read per request, so a changed setting applies at once.

    Counted as a sliding window from two counters (this period's and the last one's, weighted by how
    much of it still falls within a period of now) instead of DRF's log of every request's time: the
    log is read and rewritten whole on each request, which at a busy integration's rate (thousands a
    minute) meant pickling tens of kilobytes per request through the shared cache. A counter is one
    ``incr``, atomic on Redis, so all workers share it. Only allowed requests are counted.

    When the cache cannot be reached the same window is counted in this process (``local_counters``, a LocMemCache)
    rather than failing every request: the API keeps serving, each worker still refuses a client past
    the rate, and the shared counters take over again once the cache answers.
    """

    scope = "client"
    num_requests: int | None
    duration: int | None

    def get_rate(self) -> str | None:
        rate = api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
        return str(rate) if rate is not None else None

    def get_cache_key(self, request: Request, view: Any) -> str:
        auth = request.auth
        buyer_id = getattr(auth, "buyer_id", None) if auth is not None else None
        if buyer_id is not None:
            ident = f"buyer:{buyer_id}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None or self.num_requests is None or self.duration is None:
            return True
        key = self.get_cache_key(request, view)
        if cache_outage.worth_trying():
            try:
                allowed = self._count(self.cache, key)
            except CACHE_ERRORS as exc:
                cache_outage.failed(exc)
            else:
                cache_outage.answered()
                return allowed
        return self._count(local_counters, key)

    def _count(self, counters: BaseCache, key: str) -> bool:
        """Whether one more request fits the sliding window kept in ``counters``; counts it if so."""
        assert self.num_requests is not None and self.duration is not None  # checked by allow_request
        now = self.timer()
        period, elapsed = divmod(now, self.duration)
        current, previous = f"{key}:{int(period)}", f"{key}:{int(period) - 1}"
        counts = counters.get_many([current, previous])
        in_current, in_previous = counts.get(current, 0), counts.get(previous, 0)
        weight = 1 - elapsed / self.duration
        if in_previous * weight + in_current + 1 > self.num_requests:
            self._retry_after = self._seconds_until_room(in_current, in_previous, elapsed)
            return False
        if not counters.add(current, 1, 2 * self.duration):
            try:
                counters.incr(current)
            except ValueError:  # expired between add and incr
                counters.add(current, 1, 2 * self.duration)
        return True

    def _seconds_until_room(self, in_current: int, in_previous: int, elapsed: float) -> float:
        assert self.num_requests is not None and self.duration is not None  # checked by allow_request
        room = self.num_requests - in_current - 1
        if room < 0 or in_previous == 0:
            # This period alone is full: wait for the next one.
            return self.duration - elapsed
        # The last period's share must fall to ``room``: in_previous × (1 − t/duration) ≤ room.
        return max(self.duration * (1 - room / in_previous) - elapsed, 1.0)

    def wait(self) -> float | None:
        return max(getattr(self, "_retry_after", 1.0), 1.0)
