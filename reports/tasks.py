"""Background report jobs. Thin: a JobRun id and the parameters in, one service call."""

from __future__ import annotations

from typing import Any

from celery import shared_task

from reports import services


@shared_task(name="reports.tasks.portfolio_report")
def portfolio_report(job_run_id: int, params: dict[str, Any]) -> None:
    services.portfolio_report_generate(job_run_id=job_run_id, **params)
