"""Buyer-side writes: API keys and supplier relationships."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from buyers.models import ApiKey, Buyer, SupplierRelationship
from miners.imports import require_officer
from miners.models import Miner


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


@transaction.atomic
def relationship_add(
    *, miner: Miner, buyer: Any, since: dt.date, actor: Any, agreement_kind: str = "supply_contract"
) -> Any:
    """Record that ``miner`` sells ore to ``buyer`` (the channel installments are withheld through)."""
    require_officer(actor)
    if SupplierRelationship.objects.filter(buyer=buyer, miner=miner).exists():
        raise ValidationError({"buyer": _("This miner is already a supplier of this buyer.")})
    relationship = SupplierRelationship(buyer=buyer, miner=miner, since=since, agreement_kind=agreement_kind)
    relationship.full_clean()
    relationship.save()
    audit_record(actor=actor, action="relationship.create", obj=relationship, after=snapshot(relationship))
    return relationship
