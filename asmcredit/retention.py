"""How long the kernel's own records are kept: jobs that purge what has outlived its use."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from asmcredit.jobs import job_run
from asmcredit.models import IdempotencyRecord

PURGE_BATCH_SIZE = 10_000


def idempotency_purge(*, now: dt.datetime | None = None, task_id: str = "") -> int:
    """Delete the idempotency records older than the replay window (``IDEMPOTENCY_REPLAY_HOURS``); the
    number deleted. Recorded as a JobRun named ``purge_idempotency``; running it twice deletes nothing
    more the second time.

    Deleted in batches of the oldest ids, each its own short statement: a day's records at a busy
    integration's rate are millions of rows, and one DELETE would hold them all locked at once. A batch
    shorter than ``PURGE_BATCH_SIZE`` was the last one, which saves the search for a next that finds none.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(hours=settings.IDEMPOTENCY_REPLAY_HOURS)
    expired = IdempotencyRecord.objects.filter(created__lt=cutoff).order_by("pk")
    deleted = 0
    with job_run("purge_idempotency", as_of=timezone.localdate(now), task_id=task_id) as run:
        while True:
            ids = list(expired.values_list("pk", flat=True)[:PURGE_BATCH_SIZE])
            if ids:
                deleted += IdempotencyRecord.objects.filter(pk__in=ids).delete()[0]
            if len(ids) < PURGE_BATCH_SIZE:
                break
        run.rows_touched = deleted
        run.detail = {"older_than": cutoff.isoformat(), "replay_hours": settings.IDEMPOTENCY_REPLAY_HOURS}
    return deleted
