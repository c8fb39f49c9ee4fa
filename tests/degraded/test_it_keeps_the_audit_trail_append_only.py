"""The audit trail is append-only in PostgreSQL itself: whatever code runs, an audit row cannot be
changed or deleted (a correction is a new event)."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction

from asmcredit.models import AuditEvent

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="the trigger is PostgreSQL's")


@pytest.fixture
def event(db) -> AuditEvent:  # type: ignore[no-untyped-def]
    return AuditEvent.objects.create(actor_label="olga.officer", action="miner.update", object_type="m", object_id="1")


def test_it_records_new_events(event) -> None:
    AuditEvent.objects.create(actor_label="job:x", action="job.x", object_type="j", object_id="2")
    assert AuditEvent.objects.count() == 2


def test_it_refuses_to_update_an_event(event) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="someone else")
    event.after = {"forged": True}
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.save()
    assert AuditEvent.objects.get(pk=event.pk).actor_label == "olga.officer"


def test_it_refuses_to_delete_an_event(event) -> None:
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        event.delete()
    assert AuditEvent.objects.filter(pk=event.pk).exists()
