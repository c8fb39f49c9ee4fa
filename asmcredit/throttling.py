"""Per-client API throttling. Kept apart from asmcredit/api.py because DRF imports throttle
classes while defining APIView, so this module must not import anything built on DRF views."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """One bucket per API client: a buyer company (all its keys together), a staff user, or an
    anonymous address. The rate is read per request, so a changed setting applies at once.

    Counted as a sliding window from two counters (this period's and the last one's, weighted by how
    much of it still falls within a period of now) instead of DRF's log of every request's time: the
    log is read and rewritten whole on each request, which at a busy integration's rate (thousands a
    minute) meant pickling tens of kilobytes per request through the shared cache. A counter is one
    ``incr``, atomic on Redis, so all workers share it. Only allowed requests are counted.
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
        now = self.timer()
        period, elapsed = divmod(now, self.duration)
        current, previous = f"{key}:{int(period)}", f"{key}:{int(period) - 1}"
        counts = self.cache.get_many([current, previous])
        in_current, in_previous = counts.get(current, 0), counts.get(previous, 0)
        weight = 1 - elapsed / self.duration
        if in_previous * weight + in_current + 1 > self.num_requests:
            self._retry_after = self._seconds_until_room(in_current, in_previous, elapsed)
            return False
        if not self.cache.add(current, 1, 2 * self.duration):
            try:
                self.cache.incr(current)
            except ValueError:  # expired between add and incr
                self.cache.add(current, 1, 2 * self.duration)
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
