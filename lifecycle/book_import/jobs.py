"""A book import run as a job a person started: the page polls its ``JobRun`` for the progress bar."""

from __future__ import annotations

from asmcredit.jobs import job_finish, job_progress
from asmcredit.models import JobRun
from lifecycle.book_import.services import book_import_run
from lifecycle.models import BookImport


def book_import_job(*, batch_id: int, job_id: int) -> int:
    """Run the batch, moving the job's progress bar; the number of loans imported (a dry run: 0)."""
    batch = BookImport.objects.get(pk=batch_id)
    job = JobRun.objects.get(pk=job_id)
    if batch.status != BookImport.Status.RUNNING:  # a redelivered task: the batch already ran
        return batch.imported
    try:
        batch = book_import_run(batch=batch, progress=lambda percent: job_progress(job_id, percent))
    except Exception as exc:
        BookImport.objects.filter(pk=batch_id).update(status=BookImport.Status.FAILED)
        job_finish(job, ok=False, error=str(exc)[:2000])
        raise
    job_finish(
        job,
        ok=batch.status == BookImport.Status.DONE,
        detail={"batch_id": batch.pk, "tied": batch.tied, "mismatched": batch.mismatched},
        rows_touched=batch.imported,
    )
    return batch.imported
