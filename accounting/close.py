"""The nightly close as a distributed job (issue 14, item 7).

Three steps, each a Celery chord of batches whose callback starts the next step, so every worker —
on this machine or others — takes batches of every step, and adding workers shortens the whole close:

1. the moratory accrual, in loan-id ranges (``installments.batch.accrue_batch``);
2. the rating, which sets the provisions, in miner-id ranges (``rate_batch``; a miner is never split,
   alignment needs all its loans), then the day's portfolio totals;
3. the journal, in batches of loans (``accounting.posting.journal_post_loans``), then the book-level
   postings (remittances) in the callback, which finishes the close.

The close and each step have a JobRun whose progress moves as batches finish; each posting batch has
its own too. Every step is idempotent per date (the accrual and the rating upsert what changed; posting
is by deltas), so a rerun, or a batch retried after it failed, does only what is still missing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from asmcredit.jobs import job_finish, job_start
from asmcredit.models import JobRun

CLOSE_JOB = "accounting_close"
ACCRUAL_STEP = "accounting_close_accrual"
RATING_STEP = "accounting_close_rating"
POSTING_STEP = "accounting_close_posting"
BATCH_JOB = "accounting_batch"
# Servicing batches: the accrual and the rating set-based SQL are cheapest in ranges this wide.
SERVICING_BATCH = 20_000


def nightly_close_start(*, as_of: dt.date, batch_size: int, servicing: bool = True) -> JobRun:
    """Open the close's JobRun and queue its first step (the accrual, or the posting when ``servicing``
    is False); returns the close's JobRun, which the callbacks carry to the end."""
    stages = [ACCRUAL_STEP, RATING_STEP, POSTING_STEP] if servicing else [POSTING_STEP]
    run = job_start(name=CLOSE_JOB, as_of=as_of, detail={"batch_size": batch_size, "steps": {}, "stages": stages})
    if servicing:
        _accrual_queue(run, as_of=as_of)
    else:
        _posting_queue(run, as_of=as_of)
    run.refresh_from_db()
    return run


def _step(close: JobRun, *, name: str, as_of: dt.date, batches: int) -> JobRun:
    step = job_start(name=name, as_of=as_of, detail={"close": close.pk, "batches": batches})
    JobRun.objects.filter(pk=close.pk).update(
        detail={**close.detail, "steps": {**close.detail["steps"], name: step.pk}}
    )
    close.refresh_from_db()
    return step


def _chord(header: list[Any], callback: Any, *, close_id: int) -> None:
    """Run ``header`` on the workers, then ``callback``; when a batch fails for good (its retries spent,
    or an error no retry mends) or the callback does, the close and its running steps are marked failed
    instead of staying "running" forever."""
    from celery import chord

    from accounting import tasks

    callback = callback.on_error(tasks.close_failed.si(close_id))
    if header:
        chord(header)(callback)
    else:
        callback.delay()


def close_fail(*, close_id: int) -> None:
    """A batch or a step's callback failed: the close and the steps still running are failed (the failed
    batch's own JobRun, for a posting batch, and the worker's log say why). Rerunning the close for the
    date does only what is missing."""
    close = JobRun.objects.filter(pk=close_id).first()
    if close is None:
        return
    error = "A batch of the close failed after its retries (see its JobRun and the worker's log)."
    for step_id in (close.detail or {}).get("steps", {}).values():
        for step in JobRun.objects.filter(pk=step_id, status=JobRun.Status.RUNNING):
            job_finish(step, ok=False, error=error)
    if close.status == JobRun.Status.RUNNING:
        job_finish(close, ok=False, error=error)


def _ranges_queue(
    close: JobRun, *, as_of: dt.date, step: str, ranges: list[tuple[int, int]], task: Any, then: str
) -> None:
    """A servicing step: a JobRun, a chord of one ``task`` per id range, and the next stage after it."""
    from accounting import tasks

    step_run = _step(close, name=step, as_of=as_of, batches=len(ranges))
    day = as_of.isoformat()
    _chord(
        [task.si(day, low, high, step_run.pk) for low, high in ranges],
        tasks.close_next.si(day, close.pk, then),
        close_id=close.pk,
    )


def _accrual_queue(close: JobRun, *, as_of: dt.date) -> None:
    from accounting import tasks
    from installments.batch import accrual_ranges

    ranges = accrual_ranges(batch_size=SERVICING_BATCH)
    _ranges_queue(close, as_of=as_of, step=ACCRUAL_STEP, ranges=ranges, task=tasks.accrue_batch, then="rating")


def _rating_queue(close: JobRun, *, as_of: dt.date) -> None:
    from accounting import tasks
    from installments.batch import book_fx_rates, miner_ranges

    # Once per close: a foreign-currency loan without a rate fails the close here, before any write.
    book_fx_rates(as_of=as_of)
    ranges = miner_ranges(as_of=as_of, batch_size=SERVICING_BATCH)
    _ranges_queue(close, as_of=as_of, step=RATING_STEP, ranges=ranges, task=tasks.rate_batch, then="posting")


def _posting_queue(close: JobRun, *, as_of: dt.date) -> None:
    from accounting import tasks
    from accounting.posting import loan_batches, posting_mark_open

    batches = loan_batches(
        as_of=as_of, batch_size=int(close.detail.get("batch_size") or settings.ACCOUNTING_BATCH_SIZE)
    )
    _step(close, name=POSTING_STEP, as_of=as_of, batches=len(batches))
    _mark, since = posting_mark_open(as_of=as_of, close_id=close.pk)
    compared = "moved since " + since.as_of.isoformat() if since else "all"
    JobRun.objects.filter(pk=close.pk).update(detail={**close.detail, "batches": len(batches), "compared": compared})
    day, base = as_of.isoformat(), since.as_json() if since else None
    # The callback gets the batches' entry counts and finishes the posting step and the close.
    _chord(
        [tasks.post_batch.s(day, ids, close.pk, index, base) for index, ids in enumerate(batches)],
        tasks.finish_close.s(day, close.pk),
        close_id=close.pk,
    )


def _step_id(close: JobRun, name: str) -> int:
    return int(close.detail["steps"][name])


def close_next(*, as_of: dt.date, close_id: int, stage: str) -> None:
    """A step's chord is done: finish it and queue the next one."""
    from installments.batch import book_fx_rates, rating_wrap_up

    close = JobRun.objects.get(pk=close_id)
    if stage == "rating":
        _step_finish(_step_id(close, ACCRUAL_STEP))
        _rating_queue(close, as_of=as_of)
    elif stage == "posting":
        stale, changed = rating_wrap_up(as_of=as_of, rates=book_fx_rates(as_of=as_of))
        _step_finish(_step_id(close, RATING_STEP), rows=stale + int(changed), detail={"portfolio_changed": changed})
        _posting_queue(close, as_of=as_of)
    else:
        raise ValueError(f"unknown close stage {stage!r}")


def _step_finish(step_id: int, *, rows: int = 0, detail: dict[str, Any] | None = None) -> None:
    step = JobRun.objects.get(pk=step_id)
    job_finish(step, ok=True, rows_touched=step.rows_touched + rows, detail=detail)


def _advance(step_id: int, rows: int = 0) -> None:
    """One batch of a step done. One UPDATE counts it, so batches finishing at once on two workers never
    lose a count; the step's progress is the share of its batches done, the close's moves with it."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE asmcredit_jobrun
               SET rows_touched = rows_touched + %(rows)s,
                   detail = jsonb_set(detail, '{done}', to_jsonb(COALESCE((detail ->> 'done')::int, 0) + 1)),
                   progress = LEAST(99, (COALESCE((detail ->> 'done')::int, 0) + 1) * 100
                                        / GREATEST(COALESCE((detail ->> 'batches')::int, 1), 1))
             WHERE id = %(id)s AND status = 'running'
            RETURNING name, progress, (detail ->> 'close')::bigint
            """,
            {"rows": rows, "id": step_id},
        )
        row = cursor.fetchone()
    if row is None:
        return
    name, progress, close_id = row
    close = JobRun.objects.filter(pk=close_id).values("detail").first()
    if close is None:
        return
    stages = list(close["detail"].get("stages", [name]))
    index = stages.index(name) if name in stages else 0
    JobRun.objects.filter(pk=close_id, status=JobRun.Status.RUNNING).update(
        progress=min(99, (index * 100 + progress) // max(len(stages), 1))
    )


def accrue_batch(*, as_of: dt.date, low: int, high: int, step_id: int) -> int:
    from installments.batch import accrue_batch as accrue

    with transaction.atomic():
        rows = accrue(as_of=as_of, low=low, high=high)
    _advance(step_id, rows)
    return rows


def rate_batch(*, as_of: dt.date, low: int, high: int, step_id: int) -> int:
    from installments.batch import book_fx_rates
    from installments.batch import rate_batch as rate

    with transaction.atomic():
        rows = rate(as_of=as_of, low=low, high=high, rates=book_fx_rates(as_of=as_of))
    _advance(step_id, rows)
    return rows


def post_batch(
    *, as_of: dt.date, loan_ids: list[int], close_id: int, index: int, since: dict[str, Any] | None = None
) -> int:
    """One posting batch: its own JobRun, the postings, the posting step's and the close's progress."""
    from accounting.posting import Since, journal_post_loans

    step = job_start(name=BATCH_JOB, as_of=as_of, detail={"close": close_id, "batch": index, "loans": len(loan_ids)})
    try:
        entries = journal_post_loans(as_of=as_of, loan_ids=loan_ids, since=Since.from_json(since))
    except Exception as error:
        job_finish(step, ok=False, error=repr(error)[:4000])
        raise
    job_finish(step, ok=True, rows_touched=entries)
    close = JobRun.objects.filter(pk=close_id).values("detail").first()
    posting_step = close["detail"].get("steps", {}).get(POSTING_STEP) if close else None
    if posting_step:
        _advance(int(posting_step), entries)
    return entries


def finish_close(*, as_of: dt.date, close_id: int, batch_entries: list[Any]) -> JobRun:
    from accounting.models import PostingMark
    from accounting.posting import journal_post_book_level, posting_mark_complete

    close = JobRun.objects.get(pk=close_id)
    book_level = journal_post_book_level(as_of=as_of)
    # Every batch posted: the close is a base the next ones may compare from.
    for mark in PostingMark.objects.filter(close_id=close_id, completed_at__isnull=True):
        posting_mark_complete(mark)
    entries = sum(int(n or 0) for n in batch_entries) + book_level
    posting_step = close.detail.get("steps", {}).get(POSTING_STEP)
    if posting_step:
        _step_finish(int(posting_step), detail={"entries": entries})
    return job_finish(
        close, ok=True, rows_touched=entries, detail={"entries": entries, "done": close.detail.get("batches")}
    )
