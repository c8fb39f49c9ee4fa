"""Issue 14, item 7: the nightly close runs the servicing step, then posts the journal in batches of
loans as a Celery chord with a JobRun per step; a rerun for the same date posts nothing, and a batch
that failed is run again alone, without redoing the others."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import OperationalError

from accounting import close, posting
from accounting.models import JournalEntry, JournalLine
from accounting.tasks import nightly_close
from asmcredit.models import JobRun
from installments.models import LoanRating
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

AS_OF = dt.date(2025, 3, 1)


@pytest.fixture
def loans(officer, rosa, teodoro, product):  # type: ignore[no-untyped-def]
    return [disburse(miner=miner, product=product, officer=officer) for miner in (rosa, teodoro, rosa)]


def test_the_close_runs_one_batch_per_slice_of_loans_and_a_rerun_posts_nothing(loans):  # type: ignore[no-untyped-def]
    close_id = nightly_close.delay(AS_OF.isoformat(), batch_size=1).get()

    run = JobRun.objects.get(pk=close_id)
    assert run.status == "succeeded" and run.progress == 100 and run.detail["batches"] == 3
    batches = JobRun.objects.filter(name=close.BATCH_JOB, status="succeeded")
    assert sorted(b.detail["batch"] for b in batches) == [0, 1, 2]
    # A JobRun per step — the accrual, the rating (which sets the provisions), the posting — each done.
    steps = {name: JobRun.objects.get(pk=pk) for name, pk in run.detail["steps"].items()}
    assert set(steps) == {close.ACCRUAL_STEP, close.RATING_STEP, close.POSTING_STEP}
    assert all(step.status == "succeeded" and step.progress == 100 for step in steps.values())
    assert steps[close.POSTING_STEP].detail["done"] == 3
    assert steps[close.RATING_STEP].detail["done"] == steps[close.RATING_STEP].detail["batches"] >= 1
    assert LoanRating.objects.filter(as_of=AS_OF, loan__in=loans).count() == 3
    posted = JournalEntry.objects.count()
    assert {e.loan_id for e in JournalEntry.objects.filter(event="disbursement")} == {loan.pk for loan in loans}

    again = JobRun.objects.get(pk=nightly_close.delay(AS_OF.isoformat(), batch_size=1).get())
    assert again.status == "succeeded" and again.detail["entries"] == 0
    assert JournalEntry.objects.count() == posted


def test_a_failed_batch_is_run_again_without_redoing_the_others(loans, monkeypatch):  # type: ignore[no-untyped-def]
    run = close.nightly_close_start(as_of=AS_OF, batch_size=1, servicing=False)
    # The chord ran in-process; drop nothing, but make a fresh date's batch 1 fail once.
    later = AS_OF + dt.timedelta(days=5)
    real = posting.LOAN_ADAPTERS[-1]  # the true-up

    def flaky(run, *, loan_ids):  # type: ignore[no-untyped-def]
        if loan_ids == [loans[1].pk]:
            raise OperationalError("connection lost")
        return real(run, loan_ids=loan_ids)

    monkeypatch.setattr(posting, "LOAN_ADAPTERS", (*posting.LOAN_ADAPTERS[:-1], flaky))
    for index, loan in enumerate(loans):
        if index == 1:
            with pytest.raises(OperationalError):
                close.post_batch(as_of=later, loan_ids=[loan.pk], close_id=run.pk, index=index)
        else:
            close.post_batch(as_of=later, loan_ids=[loan.pk], close_id=run.pk, index=index)
    assert JobRun.objects.filter(name=close.BATCH_JOB, status="failed").count() == 1
    lines_before = {loan.pk: JournalLine.objects.filter(loan=loan).count() for loan in loans}
    assert lines_before[loans[1].pk] == JournalLine.objects.filter(loan=loans[1], entry__value_date__lte=AS_OF).count()

    monkeypatch.undo()
    close.post_batch(as_of=later, loan_ids=[loans[1].pk], close_id=run.pk, index=1)
    after = {loan.pk: JournalLine.objects.filter(loan=loan).count() for loan in loans}
    assert after[loans[0].pk] == lines_before[loans[0].pk] and after[loans[2].pk] == lines_before[loans[2].pk]
    assert after[loans[1].pk] > lines_before[loans[1].pk]
