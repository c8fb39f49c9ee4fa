"""Signed, expiring links to a miner's statement page (DOMAIN.md §10: no password).

The URL carries ``<link id>.<signature>``, signed with ``django.core.signing`` under the salt
``notices.statement``: the signature proves the lender issued it, and the row it names says whether it
is still alive — it expires (``STATEMENT_LINK_DAYS``, default 30) and an officer can revoke it at once.
The token is deterministic, so the URL of a live link can be shown again to the officer at any time;
the id alone opens nothing without the lender's secret key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from miners.models import Miner
from notices.models import StatementLink

SALT = "notices.statement"
# "." rather than ":" between id and signature: SMS and WhatsApp apps end a link at some punctuation.
SEPARATOR = "."
# A link sent in a message is reused only while it has at least this long to live, so a miner who
# opens a message a few days later still finds the page.
REUSE_MIN_REMAINING = dt.timedelta(days=7)


class StatementLinkInvalid(PermissionDenied):
    """The link is tampered, unknown, expired or revoked. ``reason`` says which (for the friendly page)."""

    TAMPERED = "tampered"
    EXPIRED = "expired"
    REVOKED = "revoked"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _signer() -> signing.Signer:
    return signing.Signer(salt=SALT, sep=SEPARATOR)


def statement_link_token(link: StatementLink) -> str:
    return _signer().sign(str(link.pk))


def statement_link_path(link: StatementLink) -> str:
    return reverse("notices:statement", args=[statement_link_token(link)])


def statement_link_absolute_url(link: StatementLink) -> str:
    return settings.SITE_URL.rstrip("/") + statement_link_path(link)


def _days(days: int | None) -> int:
    chosen = settings.STATEMENT_LINK_DAYS if days is None else days
    if chosen < 1:
        raise TransitionError(_("A statement link must last at least one day."))
    return int(chosen)


def statement_link_create(*, miner: Miner, actor: Any = None, days: int | None = None) -> tuple[StatementLink, str]:
    """A new link to ``miner``'s statement, valid ``days`` (default STATEMENT_LINK_DAYS); the row and its
    absolute URL. Earlier links stay valid until they expire or are revoked."""
    lifetime = _days(days)
    with transaction.atomic():
        link = StatementLink.objects.create(
            miner=miner,
            expires_at=timezone.now() + dt.timedelta(days=lifetime),
            created_by=actor if getattr(actor, "pk", None) else None,
        )
        audit_record(
            actor=actor,
            action="statement_link.create",
            obj=link,
            after=snapshot(link, ["miner_id", "expires_at", "created_by_id"]),
        )
    return link, statement_link_absolute_url(link)


def statement_link_url(*, miner: Miner) -> str:
    """The URL of ``miner``'s newest live link with at least REUSE_MIN_REMAINING to live, creating one
    (by the system) if there is none — what the messages carry."""
    link = (
        StatementLink.objects.filter(
            miner=miner, revoked_at__isnull=True, expires_at__gt=timezone.now() + REUSE_MIN_REMAINING
        )
        .order_by("-expires_at", "-pk")
        .first()
    )
    if link is None:
        link, url = statement_link_create(miner=miner, actor=None)
        return url
    return statement_link_absolute_url(link)


def statement_link_revoke(*, link: StatementLink, actor: Any) -> StatementLink:
    """Kill ``link`` now (a lost phone, a shared message). Revoking twice is refused."""
    with transaction.atomic():
        now = timezone.now()
        # Conditional update: two officers revoking at once make one revocation and one audit row.
        changed = StatementLink.objects.filter(pk=link.pk, revoked_at__isnull=True).update(revoked_at=now)
        if not changed:
            raise TransitionError(_("This link was already revoked."))
        link.revoked_at = now
        audit_record(
            actor=actor,
            action="statement_link.revoke",
            obj=link,
            before={"revoked_at": None},
            after={"revoked_at": now},
        )
    return link


def statement_link_resolve(token: str) -> StatementLink:
    """The live link ``token`` names, with its miner; ``StatementLinkInvalid`` (a PermissionDenied) for a
    tampered or unknown token, an expired link or a revoked one."""
    try:
        pk = int(_signer().unsign(token))
    except (signing.BadSignature, ValueError):
        raise StatementLinkInvalid(StatementLinkInvalid.TAMPERED) from None
    link = StatementLink.objects.select_related("miner").filter(pk=pk).first()
    if link is None:
        raise StatementLinkInvalid(StatementLinkInvalid.TAMPERED)
    if link.revoked_at is not None:
        raise StatementLinkInvalid(StatementLinkInvalid.REVOKED)
    if link.expires_at < timezone.now():
        raise StatementLinkInvalid(StatementLinkInvalid.EXPIRED)
    return link


def statement_link_opened(link: StatementLink) -> None:
    """Note when the miner last opened the page (one UPDATE, no audit: reading is not a change)."""
    now = timezone.now()
    StatementLink.objects.filter(pk=link.pk).update(last_opened_at=now)
    link.last_opened_at = now
