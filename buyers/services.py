"""Buyer-side writes: API keys."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from asmcredit.audit import audit_record
from buyers.models import ApiKey, Buyer


@transaction.atomic
def api_key_issue(*, buyer: Buyer, name: str = "default", actor: Any = None) -> tuple[str, ApiKey]:
    """Issue a key for ``buyer``. Returns the raw key (to show once) and the stored record."""
    raw, prefix, hashed = ApiKey.generate()
    key = ApiKey.objects.create(buyer=buyer, name=name, prefix=prefix, hashed_key=hashed)
    audit_record(
        actor=actor,
        action="api_key.issue",
        obj=key,
        after={"buyer": buyer.ruc, "name": name, "prefix": prefix},
    )
    return raw, key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated"])
        audit_record(actor=actor, action="api_key.revoke", obj=key)
    return key
