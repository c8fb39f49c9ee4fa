"""Celery tasks for the officer's imports: thin, they take ids and call one service."""

from __future__ import annotations

from celery import shared_task

from miners.imports import miners_import_job, settlements_import_job


@shared_task
def import_miners(job_id: int, text: str, actor_id: int) -> None:
    miners_import_job(job_id=job_id, text=text, actor_id=actor_id)


@shared_task
def import_settlements(job_id: int, text: str, actor_id: int, buyer_id: int) -> None:
    settlements_import_job(job_id=job_id, text=text, actor_id=actor_id, buyer_id=buyer_id)
