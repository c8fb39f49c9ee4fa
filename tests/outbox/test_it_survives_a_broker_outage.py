"""A remittance posted while the broker is down is answered at once and committed with its
reconciliation waiting in the outbox; once the broker is back, a drain publishes it exactly once."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command

from asmcredit.models import JobRun, OutboxMessage
from asmcredit.outbox import outbox_dispatch, outbox_enqueue
from installments.models import Remittance
from tests.api.conftest import today
from tests.outbox.conftest import queued_tasks

RECONCILE = "installments.tasks.reconcile_remittances"


def remittance(reference: str = "BCP-1") -> dict[str, str]:
    return {"reference": reference, "amount": "10.00", "currency": "PEN", "paid_on": today().isoformat()}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_a_remittance_while_the_broker_is_down(orex, broker) -> None:
    broker.stop()
    started = time.monotonic()
    response = orex.client.post("/api/v1/remittances/", remittance(), format="json")
    elapsed = time.monotonic() - started
    print(f"\nremittance POST with the broker down: {elapsed:.2f} s")

    assert response.status_code == 201, response.content
    assert elapsed < 2
    assert Remittance.objects.filter(reference="BCP-1").exists()
    [message] = OutboxMessage.objects.all()
    assert (message.task_name, message.dispatched_at, message.attempts) == (RECONCILE, None, 1)
    assert message.kwargs == {"as_of": today().isoformat(), "buyer_id": orex.buyer.pk}
    assert "Connection refused" in message.last_error

    # The buyer's retry is told the reference is recorded: the first answer was the true one.
    again = orex.client.post("/api/v1/remittances/", remittance(), format="json")
    assert again.status_code == 400

    broker.start()
    call_command("drain_outbox")
    call_command("drain_outbox")
    assert queued_tasks(broker) == [RECONCILE]
    message.refresh_from_db()
    assert message.dispatched_at is not None


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_publishes_at_once_when_the_broker_is_up(orex, broker) -> None:
    response = orex.client.post("/api/v1/remittances/", remittance(), format="json")
    assert response.status_code == 201, response.content
    assert queued_tasks(broker) == [RECONCILE]
    assert OutboxMessage.objects.get().dispatched_at is not None
    assert outbox_dispatch().published == 0


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_keeps_the_order_and_publishes_the_rest_after_an_outage(broker) -> None:
    broker.stop()
    for day in ["2025-06-28", "2025-06-29", "2025-06-30"]:
        outbox_enqueue(RECONCILE, as_of=day)
    assert OutboxMessage.objects.filter(dispatched_at__isnull=True).count() == 3
    failed = outbox_dispatch()
    assert (failed.published, failed.failed) == (0, 3)

    broker.start()
    assert outbox_dispatch().published == 3
    assert outbox_dispatch().published == 0
    raw = [m.kwargs["as_of"] for m in OutboxMessage.objects.order_by("id")]
    assert raw == ["2025-06-28", "2025-06-29", "2025-06-30"]
    assert queued_tasks(broker) == [RECONCILE] * 3


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_never_publishes_a_rolled_back_message(broker) -> None:
    from django.db import transaction

    with pytest.raises(RuntimeError), transaction.atomic():
        outbox_enqueue(RECONCILE, as_of="2025-06-30")
        raise RuntimeError("the work failed")
    assert not OutboxMessage.objects.exists()
    assert queued_tasks(broker) == []


def test_it_runs_in_process_without_a_broker(orex, django_capture_on_commit_callbacks) -> None:
    """The demo (no CELERY_BROKER_URL): nothing is written, the reconciliation runs after commit."""
    with django_capture_on_commit_callbacks(execute=True):
        response = orex.client.post("/api/v1/remittances/", remittance(), format="json")
    assert response.status_code == 201, response.content
    assert not OutboxMessage.objects.exists()
    assert JobRun.objects.filter(name="reconcile_remittances", status="succeeded").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_a_remittance_while_the_broker_hangs(orex, monkeypatch) -> None:
    """A broker that accepts the connection and never answers (a stuck host, a dead NAT entry): the
    publish gives up after OUTBOX_PUBLISH_TIMEOUT instead of waiting for TCP."""
    import socket

    from config.celery import app

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        monkeypatch.setattr(app.conf, "task_always_eager", False)
        monkeypatch.setenv("CELERY_BROKER_URL", url)
        monkeypatch.setattr(app.conf, "broker_url", url)
        started = time.monotonic()
        response = orex.client.post("/api/v1/remittances/", remittance(), format="json")
        elapsed = time.monotonic() - started
    print(f"\nremittance POST with a silent broker: {elapsed:.2f} s")
    assert response.status_code == 201, response.content
    assert elapsed < 3
    message = OutboxMessage.objects.get()
    assert (message.dispatched_at, message.attempts) == (None, 1)
