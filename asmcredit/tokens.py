"""Staff API tokens: ``Authorization: Token <key>`` for the lender's users and systems.

Stored like the buyers' API keys (``buyers.models.ApiKey``): a random 256-bit key, shown once when
issued, of which only the SHA-256 hash is kept — a fast hash is enough for a random key, there is no
dictionary to defend against. Unlike DRF's ``authtoken``, whose key sits in the database in plain
text and never expires, a token here expires after ``STAFF_TOKEN_DAYS`` and can be revoked.
The header keeps DRF's ``Token`` keyword, so clients only need a new key, not new code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from asmcredit.audit import audit_record
from asmcredit.models import StaffToken

KEY_PREFIX = "asmt_"


def hash_staff_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@transaction.atomic
def staff_token_issue(
    *, user: Any, actor: Any, days: int | None = None, name: str = "default"
) -> tuple[str, StaffToken]:
    """Issue a token for ``user``, valid ``days`` (``STAFF_TOKEN_DAYS`` by default). Returns the raw
    key — the only time it exists outside the client — and the stored record."""
    days = settings.STAFF_TOKEN_DAYS if days is None else days
    if days < 1:
        raise ValueError("A token must be valid for at least one day.")
    raw = KEY_PREFIX + secrets.token_urlsafe(32)
    token = StaffToken.objects.create(
        user=user,
        name=name,
        prefix=raw[:12],
        hashed_key=hash_staff_token(raw),
        expires_at=timezone.now() + dt.timedelta(days=days),
    )
    audit_record(
        actor=actor,
        action="api_token.issue",
        obj=token,
        after={"user": user.get_username(), "name": name, "prefix": token.prefix, "expires_at": str(token.expires_at)},
    )
    return raw, token


@transaction.atomic
def staff_token_revoke(*, token: StaffToken, actor: Any) -> StaffToken:
    # A conditional UPDATE, so two concurrent revocations write one audit row between them.
    now = timezone.now()
    if StaffToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now):
        token.revoked_at = now
        audit_record(actor=actor, action="api_token.revoke", obj=token)
    return token


def staff_tokens_revoke(*, user: Any, actor: Any) -> int:
    """Revoke every live token of ``user``; returns how many were revoked."""
    with transaction.atomic():
        tokens = list(StaffToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True))
        for token in tokens:
            staff_token_revoke(token=token, actor=actor)
    return len(tokens)


class StaffTokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``Token`` header, checked against hashed, expiring, revocable ``StaffToken`` rows.

    Subclassing DRF's class keeps the header parsing and the OpenAPI scheme (``tokenAuth``)."""

    keyword = "Token"

    def authenticate_credentials(self, key: str) -> tuple[Any, StaffToken]:
        token = StaffToken.objects.select_related("user").filter(hashed_key=hash_staff_token(key)).first()
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        now = timezone.now()
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This token has been revoked."))
        if token.expires_at <= now:
            raise exceptions.AuthenticationFailed(_("This token has expired; ask for a new one."))
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        # Throttled write: at most once a minute per token, so a busy client does not hammer one row.
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
            StaffToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token
