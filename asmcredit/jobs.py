"""Job runs (``JobRun``): every batch job, import and report records what it did, one row per run.

``job_run`` wraps a job the scheduler runs (one at a time per name, abandoned runs noticed); ``job_start``,
``job_progress`` and ``job_finish`` serve work a person starts and a progress bar polls;
``jobs_sweep_abandoned`` fails and queues again the scheduled runs whose worker died.
"""

from __future__ import annotations

import datetime as dt
import traceback
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from asmcredit.audit import audit_record
from asmcredit.models import JobRun
from asmcredit.outbox import outbox_enqueue
from asmcredit.sql import is_postgres

SWEPT = "Abandoned: no live worker held the job's lock; marked failed by the sweeper and queued again."


def _job_key(name: str) -> int:
    """The PostgreSQL advisory lock key of job ``name``: held by the session running it."""
    return zlib.crc32(name.encode())


@contextmanager
def job_run(name: str, *, as_of: dt.date | None, task_id: str = "") -> Iterator[JobRun]:
    """Record a run of ``name`` (JobRun: started, finished, rows touched, errors), one at a time."""
    key = _job_key(name)
    if is_postgres():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        if is_postgres():
            # We hold the job's lock, so any run still marked running lost its worker.
            JobRun.objects.filter(name=name, status=JobRun.Status.RUNNING).update(
                status=JobRun.Status.FAILED,
                finished_at=timezone.now(),
                error="Abandoned: the worker stopped before finishing; a later run redid the work.",
            )
        run = JobRun.objects.create(name=name, as_of=as_of, task_id=task_id[:64])
        try:
            yield run
        except Exception:
            run.status = JobRun.Status.FAILED
            run.error = traceback.format_exc()[-4000:]
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            raise
        run.status = JobRun.Status.SUCCEEDED
        run.progress = 100
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "progress", "finished_at", "rows_touched", "detail"])
        audit_record(
            actor=f"job:{name}",
            action=f"job.{name}",
            obj=run,
            after={"as_of": as_of, "rows_touched": run.rows_touched, "detail": run.detail},
        )
    finally:
        if is_postgres():
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def job_start(*, name: str, as_of: dt.date | None, detail: dict[str, Any] | None = None) -> JobRun:
    """A running JobRun for work a person started (an import, a report); a progress bar polls it."""
    return JobRun.objects.create(name=name, as_of=as_of, detail=detail or {})


def job_progress(job_id: int, percent: int) -> None:
    """Move a running job's progress bar (at most 99: only ``job_finish`` says it is done)."""
    JobRun.objects.filter(pk=job_id, status=JobRun.Status.RUNNING).update(progress=min(percent, 99))


def job_finish(
    job: JobRun, *, ok: bool, detail: dict[str, Any] | None = None, error: str = "", rows_touched: int | None = None
) -> JobRun:
    """Close ``job`` as succeeded or failed, merging ``detail`` into what it recorded."""
    job.status = JobRun.Status.SUCCEEDED if ok else JobRun.Status.FAILED
    job.progress = 100 if ok else job.progress
    job.finished_at = timezone.now()
    job.detail = {**(job.detail or {}), **(detail or {})}
    job.error = error
    if rows_touched is not None:
        job.rows_touched = rows_touched
    job.save(update_fields=["status", "progress", "finished_at", "detail", "error", "rows_touched"])
    return job


def jobs_sweep_abandoned(*, requeue: Mapping[str, str] | None = None) -> list[JobRun]:
    """Fail each running job of ``requeue`` (job name -> task, default ``JOB_REQUEUE_TASKS``) that no
    live session owns, and queue its task again for the same day through the outbox.

    ``job_run`` holds the job's advisory lock on its database session for the whole run, and
    PostgreSQL releases it when that session ends, so a lock we can take means the worker is gone
    (SIGKILL, OOM, a lost machine once TCP notices). Jobs a person starts (``job_start``) hold no
    lock and are never swept.
    """
    if not is_postgres():
        return []
    requeue = dict(settings.JOB_REQUEUE_TASKS if requeue is None else requeue)
    swept: list[JobRun] = []
    queued: set[tuple[str, dt.date | None]] = set()
    for run in JobRun.objects.filter(status=JobRun.Status.RUNNING, name__in=requeue).order_by("started_at"):
        key = _job_key(run.name)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
            if not cursor.fetchone()[0]:
                continue  # its worker is alive and holds the lock
        try:
            with transaction.atomic():
                # Conditional: a run that finished just before we took the lock is left as it ended.
                failed = JobRun.objects.filter(pk=run.pk, status=JobRun.Status.RUNNING).update(
                    status=JobRun.Status.FAILED, finished_at=timezone.now(), error=SWEPT
                )
                if not failed:
                    continue
                task = requeue[run.name]
                if (task, run.as_of) not in queued:  # nightly and its nested runs queue the day once
                    outbox_enqueue(task, as_of=run.as_of.isoformat() if run.as_of else None)
                    queued.add((task, run.as_of))
                audit_record(actor="job:sweeper", action="job.abandoned", obj=run, after={"requeued": task})
                swept.append(run)
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    return swept
