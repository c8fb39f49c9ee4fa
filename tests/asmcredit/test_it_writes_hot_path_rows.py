"""``asmcredit.sql``: the settlement post's INSERT and UPDATE helpers write what the ORM would."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from asmcredit.models import AuditEvent, JobRun
from asmcredit.sql import insert_rows, update_rows

pytestmark = pytest.mark.django_db


def test_it_inserts_rows_in_order_with_their_keys_and_stamps() -> None:
    events = [
        AuditEvent(actor_label=f"job:{n}", action="test.insert", object_type="t", object_id=str(n)) for n in range(3)
    ]
    insert_rows(events)
    stored = {event.pk: event for event in AuditEvent.objects.filter(action="test.insert")}
    assert [stored[event.pk].object_id for event in events] == ["0", "1", "2"]
    assert all(event.at is not None and stored[event.pk].at == event.at for event in events)
    assert not any(event._state.adding for event in events)


def test_it_takes_the_key_of_a_related_object_saved_after_it_was_assigned() -> None:
    user = User(username="asignada.antes")
    event = AuditEvent(
        actor=user, actor_label="x", action="test.fk", object_type="t", object_id="1", after={"a": "1.10"}
    )
    user.save()
    insert_rows([event])
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_id == user.pk
    assert stored.after == {"a": "1.10"}


def test_it_refuses_a_related_object_that_was_never_saved() -> None:
    event = AuditEvent(actor=User(username="nunca"), actor_label="x", action="test.fk", object_type="t", object_id="1")
    with pytest.raises(ValueError, match="unsaved"):
        insert_rows([event])
    assert not AuditEvent.objects.filter(action="test.fk").exists()


def test_it_updates_only_the_named_fields_of_each_row() -> None:
    # JobRun, not AuditEvent: the audit table refuses UPDATE (append-only at the database level).
    runs = [JobRun(name="antes", task_id=str(n)) for n in range(2)]
    insert_rows(runs)
    update_rows(JobRun, [(runs[0].pk, {"name": "después", "task_id": "ignored"})], ["name"])
    first, second = (JobRun.objects.get(pk=run.pk) for run in runs)
    assert (first.name, first.task_id) == ("después", "0")
    assert second.name == "antes"
