"""Per-client API throttling. Kept apart from asmcredit/api.py because DRF imports throttle
classes while defining APIView, so this module must not import anything built on DRF views."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """One bucket per API client: a buyer company (all its keys together), a staff user, or an
    anonymous address. The rate is read per request, so a changed setting applies at once."""

    scope = "client"

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
