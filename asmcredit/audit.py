"""Writing the audit trail. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import models
from django.db.models.fields.files import FieldFile
from django.utils.functional import Promise

from asmcredit.models import AuditEvent


def jsonable(value: Any) -> Any:
    """``value`` as JSON can hold it: Decimals as strings, dates in ISO 8601, model rows as their id, files
    as their stored name."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, Promise):  # a lazy translation
        return str(value)
    if isinstance(value, FieldFile):  # an uploaded file: its stored name, never its bytes
        return value.name or ""
    return value


def snapshot(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``obj`` (foreign keys as ids), JSON-ready."""
    names = fields or [f.attname for f in obj._meta.concrete_fields]
    return {name: jsonable(getattr(obj, name)) for name in names}


def actor_label_for(actor: Any) -> str:
    if actor is None:
        return "system"
    if isinstance(actor, str):
        return actor
    username = getattr(actor, "get_username", None)
    if callable(username):
        return str(username())
    return str(actor)


def audit_event(
    *,
    actor: Any,
    action: str,
    obj: models.Model | None = None,
    object_type: str | None = None,
    object_id: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """The audit row for one change, unsaved: ``audit_record`` saves it; a batch inserts many at once."""
    from django.contrib.auth.models import AbstractBaseUser

    if obj is not None:
        object_type = object_type or obj._meta.label
        object_id = object_id if object_id is not None else obj.pk
    user: Any = actor if isinstance(actor, AbstractBaseUser) else None
    return AuditEvent(
        actor=user,
        actor_label=actor_label_for(actor)[:150],
        action=action,
        object_type=object_type or "",
        object_id=str(object_id if object_id is not None else ""),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )


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
    event = audit_event(
        actor=actor,
        action=action,
        obj=obj,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
    )
    event.save(force_insert=True)
    return event
