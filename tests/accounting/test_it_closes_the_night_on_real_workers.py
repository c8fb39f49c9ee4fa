"""Issue 14, item 7, on real workers: two Celery worker processes against a Redis of the test's own run
the nightly close — the accrual, the rating and the posting, each a chord of batches the workers take
from, the next step queued by the previous one's callback — and the journal they leave is the one a
single process posts: comparing every transaction afterwards posts nothing, and the month ties out."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
from decimal import Decimal

import pytest
from django.utils import timezone

from accounting import close
from accounting.models import JournalEntry, PostingRule
from accounting.posting import journal_post
from accounting.services import tie_out_run
from asmcredit.models import JobRun
from installments.models import LoanRating
from installments.services import payment_record
from tests.factories import MinerFactory
from tests.installments.conftest import disburse
from tests.installments.test_it_survives_a_killed_worker import start_worker, wait_for

D = Decimal
TODAY = timezone.localdate()


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_workers_close_the_night_as_one_process_would(officer, product, own_redis, monkeypatch):  # type: ignore[no-untyped-def]
    from accounting.tasks import nightly_close
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", own_redis.url)
    monkeypatch.setattr(app.conf, "result_backend", own_redis.url)
    loans = []
    for n in range(8):
        disbursed = TODAY - dt.timedelta(days=70 + 3 * n)
        loan = disburse(
            miner=MinerFactory(),
            product=product,
            officer=officer,
            disbursed_on=disbursed,
            first_due_on=disbursed + dt.timedelta(days=30),
        )
        if n % 2 == 0:  # half pay their first installment; the others are 10–31 days late
            payment_record(loan=loan, amount=D("1840.40"), paid_on=loan.first_due_on, actor=officer)
        loans.append(loan)
    workers = [start_worker(own_redis), start_worker(own_redis)]
    try:
        with app.connection_for_write(own_redis.url) as conn:
            nightly_close.apply_async(args=[TODAY.isoformat(), 3], connection=conn)  # type: ignore[call-arg]
        run = wait_for(lambda: JobRun.objects.filter(name=close.CLOSE_JOB).exclude(status="running").first())
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(timeout=15)
            except subprocess.TimeoutExpired:
                worker.kill()

    assert run.status == "succeeded", run.error
    steps = {name: JobRun.objects.get(pk=pk) for name, pk in run.detail["steps"].items()}
    assert [steps[name].status for name in (close.ACCRUAL_STEP, close.RATING_STEP, close.POSTING_STEP)] == [
        "succeeded"
    ] * 3
    assert steps[close.POSTING_STEP].detail["done"] == 3  # 8 loans in batches of 3
    assert LoanRating.objects.filter(as_of=TODAY).count() == 8  # the rating set today's provisions
    assert JournalEntry.objects.filter(event="provision").exists()
    assert {e.loan_id for e in JournalEntry.objects.filter(event="disbursement")} == {loan.pk for loan in loans}

    assert journal_post(as_of=TODAY) == 0
    assert tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY).ok


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_batch_that_fails_for_good_fails_the_close_instead_of_leaving_it_running(  # type: ignore[no-untyped-def]
    officer, product, own_redis, monkeypatch
):
    from accounting.tasks import nightly_close
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setattr(app.conf, "broker_url", own_redis.url)
    monkeypatch.setattr(app.conf, "result_backend", own_redis.url)
    for _ in range(3):
        disbursed = TODAY - dt.timedelta(days=20)
        disburse(
            miner=MinerFactory(),
            product=product,
            officer=officer,
            disbursed_on=disbursed,
            first_due_on=disbursed + dt.timedelta(days=30),
        )
    journal_post(as_of=TODAY)  # seeds the chart; then the lender deletes the accrual's rule by mistake
    PostingRule.objects.filter(event="accrual").delete()
    worker = start_worker(own_redis)
    try:
        with app.connection_for_write(own_redis.url) as conn:
            nightly_close.apply_async(args=[(TODAY + dt.timedelta(days=1)).isoformat(), 2], connection=conn)  # type: ignore[call-arg]
        run = wait_for(lambda: JobRun.objects.filter(name=close.CLOSE_JOB).exclude(status="running").first())
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert run.status == "failed" and "batch" in run.error
    steps = {name: JobRun.objects.get(pk=pk).status for name, pk in run.detail["steps"].items()}
    assert steps == {close.ACCRUAL_STEP: "succeeded", close.RATING_STEP: "succeeded", close.POSTING_STEP: "failed"}
    failed = JobRun.objects.filter(name=close.BATCH_JOB, status="failed")
    assert failed.exists() and all("No posting rule" in batch.error for batch in failed)
