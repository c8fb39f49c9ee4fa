"""Celery tasks for the officer's imports: thin, they take ids and call one service."""

from __future__ import annotations

from celery import shared_task


@shared_task
def import_miners(job_id: int, text: str, actor_id: int) -> None:
    from miners.imports import miners_import_job

    miners_import_job(job_id=job_id, text=text, actor_id=actor_id)
