"""Celery tasks: thin, they take dates and ids and call one service (see installments.services).

Each imports its service when it runs (the services queue these tasks, so neither module imports the
other at load time). Every task is idempotent, so ``acks_late`` redelivery after a lost worker is safe: the job's JobRun
records the run, and a rerun for the same date changes nothing already done.
"""

from __future__ import annotations

import datetime as dt

from celery import shared_task
from django.utils import timezone


def _day(as_of: str | None) -> dt.date:
    """An ISO date, or today in Lima (TIME_ZONE) when the beat schedule sends none."""
    return dt.date.fromisoformat(as_of) if as_of else timezone.localdate()


@shared_task(bind=True, acks_late=True, name="installments.tasks.nightly_servicing")
def nightly_servicing(self, as_of: str | None = None) -> int:  # type: ignore[no-untyped-def]
    from installments import services

    return services.nightly_servicing(as_of=_day(as_of), task_id=self.request.id or "").pk


@shared_task(bind=True, acks_late=True, name="installments.tasks.rate_portfolio")
def rate_portfolio(  # type: ignore[no-untyped-def]
    self, as_of: str | None = None, batch_size: int = 20000, pause_seconds: float = 0
) -> int:
    from installments import services

    run = services.portfolio_rate(
        as_of=_day(as_of), task_id=self.request.id or "", batch_size=batch_size, pause_seconds=pause_seconds
    )
    return run.pk


@shared_task(bind=True, acks_late=True, name="installments.tasks.reconcile_remittances")
def reconcile_remittances(self, as_of: str | None = None, buyer_id: int | None = None) -> int:  # type: ignore[no-untyped-def]
    from installments import services

    run = services.reconcile_remittances(
        as_of=_day(as_of), buyer_ids=[buyer_id] if buyer_id else None, task_id=self.request.id or ""
    )
    return run.pk


@shared_task(bind=True, acks_late=True, name="installments.tasks.loan_recompute")
def loan_recompute(self, loan_id: int, as_of: str | None = None) -> int:  # type: ignore[no-untyped-def]
    from installments import services
    from loans.models import Loan

    return services.loan_recompute(loan=Loan.objects.get(pk=loan_id), as_of=_day(as_of)).pk


@shared_task
def import_settlements(job_id: int, text: str, actor_id: int, buyer_id: int) -> None:
    """An officer's confirmed settlements CSV (historical imports), with a progress bar."""
    from installments.services.settlement_batches import settlements_import_job

    settlements_import_job(job_id=job_id, text=text, actor_id=actor_id, buyer_id=buyer_id)
