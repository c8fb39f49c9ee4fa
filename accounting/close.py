"""The nightly close as a distributed job (issue 14, item 7): the servicing run (moratory accrual and
the rating, which sets the provisions), then the journal in batches of loans as a Celery chord — each
batch a task of its own, retried alone when it fails — and a callback that posts the book-level events
(remittances) and finishes the run. Every step is idempotent per date: posting is by deltas, so a rerun
or a retried batch posts only what is still missing."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import F

from asmcredit.jobs import job_finish, job_start
from asmcredit.models import JobRun

CLOSE_JOB = "accounting_close"
BATCH_JOB = "accounting_batch"


def nightly_close_start(*, as_of: dt.date, batch_size: int, servicing: bool = True) -> JobRun:
    """Run the servicing step, then queue the posting chord; returns the close's JobRun (its progress
    moves as batches finish)."""
    from celery import chord

    from accounting import tasks
    from accounting.posting import loan_batches
    from installments.services import nightly_servicing

    servicing_run = nightly_servicing(as_of=as_of) if servicing else None
    batches = loan_batches(as_of=as_of, batch_size=batch_size)
    run = job_start(
        name=CLOSE_JOB,
        as_of=as_of,
        detail={"batches": len(batches), "done": 0, "servicing_run": servicing_run.pk if servicing_run else None},
    )
    header = [tasks.post_batch.s(as_of.isoformat(), ids, run.pk, index) for index, ids in enumerate(batches)]
    callback = tasks.finish_close.s(as_of.isoformat(), run.pk)
    if header:
        chord(header)(callback)
    else:
        callback.delay()
    run.refresh_from_db()
    return run


def post_batch(*, as_of: dt.date, loan_ids: list[int], close_id: int, index: int) -> int:
    """One batch of the chord: its own JobRun, the postings, the parent's progress."""
    from accounting.posting import journal_post_loans

    step = job_start(name=BATCH_JOB, as_of=as_of, detail={"close": close_id, "batch": index, "loans": len(loan_ids)})
    try:
        entries = journal_post_loans(as_of=as_of, loan_ids=loan_ids)
    except Exception as error:
        job_finish(step, ok=False, error=repr(error)[:4000])
        raise
    job_finish(step, ok=True, rows_touched=entries)
    _advance(close_id)
    return entries


def _advance(close_id: int) -> None:
    # One UPDATE, so batches finishing at once on two workers never lose a count.
    JobRun.objects.filter(pk=close_id).update(rows_touched=F("rows_touched") + 1)
    close = JobRun.objects.filter(pk=close_id).values("detail", "rows_touched").first()
    if close:
        total = max(int(close["detail"].get("batches", 1)), 1)
        JobRun.objects.filter(pk=close_id, status=JobRun.Status.RUNNING).update(
            progress=min(99, close["rows_touched"] * 100 // total)
        )


def finish_close(*, as_of: dt.date, close_id: int, batch_entries: list[Any]) -> JobRun:
    from accounting.posting import journal_post_book_level

    close = JobRun.objects.get(pk=close_id)
    book_level = journal_post_book_level(as_of=as_of)
    return job_finish(
        close,
        ok=True,
        rows_touched=sum(int(n or 0) for n in batch_entries) + book_level,
        detail={"entries": sum(int(n or 0) for n in batch_entries) + book_level, "done": close.detail.get("batches")},
    )
