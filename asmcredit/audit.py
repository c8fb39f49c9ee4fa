"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models

from asmcredit.models import AuditEvent


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``obj`` (foreign keys as ids), JSON-ready."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {name: _jsonable(getattr(obj, name)) for name in names}


def actor_label_for(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    username = getattr(actor, "get_username", None)
    if callable(username):
        return str(username())
    return str(actor)


def audit_record(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Record one audited change. ``actor`` is a User, a label such as "job:rate_portfolio", or None."""
    from django.contrib.auth.models import AbstractBaseUser

    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id if object_id is not None else obj.pk
    user: Any = actor if isinstance(actor, AbstractBaseUser) else None
    return AuditEvent.objects.create(
        actor=user,
        actor_label=actor_label_for(actor)[:150],
        action=action,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
    )
