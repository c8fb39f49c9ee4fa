"""The transactional outbox: a task is queued by writing a row in the same transaction as the work.

``outbox_enqueue`` writes an ``OutboxMessage``; after commit one bounded attempt publishes it at once
(``OUTBOX_PUBLISH_TIMEOUT`` seconds, no retries), and whatever that attempt could not publish is left
for ``outbox_dispatch``, run every half minute by beat and by ``manage.py drain_outbox``. A broker
outage therefore costs a request nothing (the remittance is answered 201 and its reconciliation
waits in the outbox), and committed work is never left without its follow-up task.

Delivery is at least once: a message published just before its row's update is lost with the
database connection is published again by the next drain. Every task queued here is idempotent.

Without a broker (the demo: ``task_always_eager``) nothing is written; the task runs in-process after
commit, as ``task.delay`` inside ``transaction.on_commit`` would.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

from celery import Celery, current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from asmcredit.models import OutboxMessage

logger = logging.getLogger(__name__)

BATCH = 200


@dataclasses.dataclass(frozen=True)
class DispatchOutcome:
    published: int
    failed: int
    error: str = ""


def outbox_enqueue(task_name: str, *args: Any, **kwargs: Any) -> OutboxMessage | None:
    """Queue ``task_name(*args, **kwargs)`` with the current transaction: it is published only if the
    transaction commits, and it survives a broker that is down at that moment. Arguments must be JSON."""
    app = _app()
    if app.conf.task_always_eager:
        # No broker: run in-process after commit; errors propagate as they always did in the demo.
        transaction.on_commit(lambda: _task(app, task_name).apply_async(args=args, kwargs=kwargs))
        return None
    message = OutboxMessage.objects.create(task_name=task_name, args=list(args), kwargs=kwargs)
    # robust: this runs after the response's transaction committed, so nothing may raise into it.
    transaction.on_commit(lambda: outbox_dispatch(ids=[message.pk]), robust=True)
    return message


def outbox_dispatch(*, ids: list[int] | None = None) -> DispatchOutcome:
    """Publish the pending messages (only ``ids``, when given), oldest first; stop at the first broker
    error and leave the rest pending, with the error and a failed attempt recorded."""
    published = 0
    while True:
        with transaction.atomic():
            # A locked row is being published by another drain (or by the request that wrote it):
            # skipped, never sent twice. The row stays locked until its dispatched_at is committed.
            pending = OutboxMessage.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True)
            if ids is not None:
                pending = pending.filter(pk__in=ids)
            batch = list(pending.order_by("id")[:BATCH])
            if not batch:
                return DispatchOutcome(published=published, failed=0)
            sent, error = _publish(batch)
            now = timezone.now()
            OutboxMessage.objects.filter(pk__in=[m.pk for m in sent]).update(dispatched_at=now, last_error="")
            published += len(sent)
            if error:
                unsent = [m.pk for m in batch[len(sent) :]]
                OutboxMessage.objects.filter(pk__in=unsent).update(attempts=F("attempts") + 1, last_error=error)
                logger.warning("outbox: %d message(s) left pending, broker unavailable: %s", len(unsent), error)
                return DispatchOutcome(published=published, failed=len(unsent), error=error)
        if len(batch) < BATCH:
            return DispatchOutcome(published=published, failed=0)


def outbox_purge(*, older_than: dt.timedelta = dt.timedelta(days=7)) -> int:
    """Forget dispatched messages older than ``older_than``; pending ones are always kept."""
    cutoff = timezone.now() - older_than
    deleted, _ = OutboxMessage.objects.filter(dispatched_at__lt=cutoff).delete()
    return deleted


def _publish(batch: list[OutboxMessage]) -> tuple[list[OutboxMessage], str]:
    """Send ``batch`` over one connection; the messages sent before the first error, and the error."""
    app = _app()
    timeout = float(getattr(settings, "OUTBOX_PUBLISH_TIMEOUT", 1.0))
    sent: list[OutboxMessage] = []
    try:
        # Bounded: one connection attempt (no kombu retries) with socket timeouts, and no publish
        # retry. Celery's defaults retry for ~6 s on the broker and, with a Redis result backend,
        # ~19 s subscribing to the result; ``ignore_result`` skips that subscription (JobRun records
        # what a job did, nobody waits on these results).
        with app.connection_for_write(
            connect_timeout=timeout,
            transport_options={
                **(app.conf.broker_transport_options or {}),
                "max_retries": 0,
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
            },
        ) as connection:
            for message in batch:
                app.send_task(
                    message.task_name,
                    args=message.args,
                    kwargs=message.kwargs,
                    task_id=f"outbox-{message.pk}",
                    connection=connection,
                    retry=False,
                    ignore_result=True,
                )
                sent.append(message)
    except Exception as exc:  # noqa: BLE001 - any broker failure leaves the message pending
        return sent, f"{type(exc).__name__}: {exc}"[:2000]
    return sent, ""


def _app() -> Celery:
    return current_app._get_current_object()  # type: ignore[attr-defined, no-any-return]


def _task(app: Celery, name: str) -> Any:
    if name not in app.tasks:
        app.loader.import_default_modules()  # autodiscovery is lazy outside a worker
    return app.tasks[name]
