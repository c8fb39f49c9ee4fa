"""``Authorization: Api-Key <key>`` for buyer companies."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from buyers.models import ApiKey, Buyer, hash_api_key


class BuyerPrincipal(AnonymousUser):
    """The request's user when a buyer's key authenticated it: not a staff user, but authenticated."""

    is_buyer_key = True  # how the kernel (asmcredit.api) tells it from a User without importing this app

    def __init__(self, api_key: ApiKey) -> None:
        super().__init__()
        self.api_key = api_key
        self.buyer = api_key.buyer

    @property
    def is_authenticated(self) -> bool:  # type: ignore[override]
        return True

    def __str__(self) -> str:
        return f"buyer-key:{self.buyer.ruc}:{self.api_key.name}"


def _api_key_with_buyer(hashed_key: str) -> ApiKey | None:
    """The key with this hash and its buyer. Every buyer request starts here, so the two rows are read
    with ``Model.raw`` (see ``asmcredit.sql``): ``select_related(...).get()`` cost the ORM about 1 ms of
    CPU to build and compile, more than the rest of authenticating."""
    keys = list(ApiKey.objects.raw(f"SELECT * FROM {ApiKey._meta.db_table} WHERE hashed_key = %s", [hashed_key]))  # noqa: S608
    if not keys:
        return None
    [key] = keys  # hashed_key is unique
    [key.buyer] = Buyer.objects.raw(f"SELECT * FROM {Buyer._meta.db_table} WHERE id = %s", [key.buyer_id])  # noqa: S608
    return key


class ApiKeyAuthentication(authentication.BaseAuthentication):
    keyword = "Api-Key"

    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        parts = header.split()
        if parts[0].lower() != self.keyword.lower():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Invalid Api-Key header: expected 'Api-Key <key>'.")
        key = _api_key_with_buyer(hash_api_key(parts[1]))
        if key is None:
            raise exceptions.AuthenticationFailed("Unknown API key.")
        if key.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This API key has been revoked.")
        if not key.buyer.is_active:
            raise exceptions.AuthenticationFailed("This buyer is not active.")
        now = timezone.now()
        # Throttled write: at most once a minute per key, so a busy integration does not hammer one row.
        if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return BuyerPrincipal(key), key

    def authenticate_header(self, request: Request) -> str:
        return self.keyword
