"""Celery tasks of the kernel: thin, each calls one service, imported when it runs (see
installments/tasks.py for why)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, name="asmcredit.tasks.purge_idempotency")
def purge_idempotency(self) -> int:  # type: ignore[no-untyped-def]
    """Forget the idempotency keys older than the replay window; the number of records deleted."""
    from asmcredit.retention import idempotency_purge

    return idempotency_purge(task_id=self.request.id or "")


@shared_task(name="asmcredit.tasks.drain_outbox", ignore_result=True)
def drain_outbox() -> int:
    """Publish what the outbox still holds (beat, every half minute); the number published."""
    from asmcredit.outbox import outbox_dispatch, outbox_purge

    outcome = outbox_dispatch()
    outbox_purge()
    return outcome.published


@shared_task(name="asmcredit.tasks.sweep_abandoned_jobs", ignore_result=True)
def sweep_abandoned_jobs() -> int:
    """Fail and queue again the scheduled runs whose worker died (beat, every few minutes)."""
    from asmcredit.jobs import jobs_sweep_abandoned

    return len(jobs_sweep_abandoned())
