"""Celery tasks of lifecycle: thin, each calls one service, imported when it runs."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="lifecycle.tasks.run_book_import")
def run_book_import(batch_id: int, job_id: int) -> int:
    """A book import (dry run or commit) started from the page, with its progress bar."""
    from lifecycle.book_import.jobs import book_import_job

    return book_import_job(batch_id=batch_id, job_id=job_id)
