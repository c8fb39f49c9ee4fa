"""Background report jobs. Thin: a JobRun id and the parameters in, one service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="reports.tasks.portfolio_report")
def portfolio_report(job_run_id: int, params: dict[str, Any]) -> None:
    from reports import services  # imported here: the service queues this task (no import cycle)

    services.portfolio_report_generate(job_run_id=job_run_id, **params)


@shared_task(name="reports.tasks.regulatory_report")
def regulatory_report(job_run_id: int, params: dict[str, Any]) -> None:
    from reports.regulatory import services  # imported here: the service queues this task

    services.regulatory_job_run(job_run_id=job_run_id, **params)
