"""Celery tasks of the kernel: thin, each calls one service, imported when it runs (see
installments/tasks.py for why)."""

from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, name="asmcredit.tasks.purge_idempotency")
def purge_idempotency(self) -> int:  # type: ignore[no-untyped-def]
    """Forget the idempotency keys older than the replay window; the number of records deleted."""
    from asmcredit.retention import idempotency_purge

    return idempotency_purge(task_id=self.request.id or "")
