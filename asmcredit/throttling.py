"""Per-client API throttling. Kept apart from asmcredit/api.py because DRF imports throttle
classes while defining APIView, so this module must not import anything built on DRF views."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle


class ClientRateThrottle(SimpleRateThrottle):
    """One bucket per API client: a buyer's key, a staff user, or an anonymous address."""

    scope = "client"

    def get_cache_key(self, request: Request, view: Any) -> str:
        auth = request.auth
        if auth is not None and getattr(auth, "buyer_id", None) is not None:
            ident = f"buyer-key:{auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user:{request.user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
