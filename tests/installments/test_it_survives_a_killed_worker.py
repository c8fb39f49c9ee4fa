"""A real Celery worker against a Redis of the test's own runs the nightly rating; SIGKILL it mid-run
and start a fresh worker: the sweeper fails the abandoned run and queues the rating again through the
outbox, Redis delivers the unacknowledged original again after the visibility timeout, and the result
is exactly that of a clean run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from asmcredit.jobs import jobs_sweep_abandoned
from asmcredit.models import JobRun, OutboxMessage
from installments.models import LoanRating, PortfolioRating
from installments.services import payment_record, portfolio_rate
from tests.degraded.conftest import OwnRedis, _free_port
from tests.factories import MinerFactory
from tests.installments.conftest import disburse

D = Decimal
AS_OF = dt.date(2025, 6, 30)
ROOT = Path(__file__).resolve().parents[2]
# Short, so the test sees Redis deliver the killed task again (production: 15 minutes, see settings).
VISIBILITY_TIMEOUT = 5


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    server = OwnRedis(_free_port())
    server.start()
    yield server
    server.stop()


def start_worker(broker: OwnRedis) -> subprocess.Popen[bytes]:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": broker.url,
        "CELERY_RESULT_BACKEND": broker.url,
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "SECRET_KEY": "worker-test-only",
        "DEBUG": "false",
    }
    celery = str(Path(sys.executable).with_name("celery"))
    # --pool=solo: the process we kill is the one running the job (with prefork, a child orphaned by
    # its parent's death would finish the job itself).
    return subprocess.Popen(
        [celery, "-A", "config", "worker", "--pool=solo", "-n", f"test-{broker.port}@%h", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def send_rating(broker: OwnRedis, **kwargs: Any) -> None:
    from config.celery import app
    from installments.tasks import rate_portfolio

    with app.connection_for_write(broker.url) as conn:
        rate_portfolio.apply_async(kwargs={"as_of": AS_OF.isoformat(), **kwargs}, connection=conn)  # type: ignore[call-arg]


def wait_for(predicate, timeout: float = 180) -> Any:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(
        f"timed out waiting for the worker: {list(JobRun.objects.values_list('name', 'status', 'progress'))}"
    )


def rating_state() -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    rows = list(
        LoanRating.objects.filter(as_of=AS_OF)
        .order_by("loan_id")
        .values_list(
            "loan_id",
            "days_past_due",
            "category",
            "aligned_category",
            "outstanding_principal",
            "covered_share",
            "provision_rate",
            "provision",
            "warnings",
        )
    )
    p = PortfolioRating.objects.get(as_of=AS_OF)
    return rows, (
        p.active_loans,
        p.outstanding_principal,
        p.par1,
        p.par30,
        p.par90,
        p.generic_provision,
        p.specific_provision,
        p.by_category,
    )


def history() -> list[tuple[str, str]]:
    """The rating's runs, oldest first: status and the first word of the error."""
    return [
        (status, error.split(":")[0])
        for status, error in JobRun.objects.filter(name="rate_portfolio")
        .order_by("started_at", "id")
        .values_list("status", "error")
    ]


@pytest.mark.worker
@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_recovers_the_rating_after_the_worker_is_killed_mid_run(officer, product, own_redis, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    monkeypatch.setenv("CELERY_BROKER_URL", own_redis.url)  # the sweeper's outbox publishes there
    monkeypatch.setattr(app.conf, "broker_url", own_redis.url)
    for n in range(12):
        loan = disburse(
            miner=MinerFactory(),
            product=product,
            officer=officer,
            first_due_on=dt.date(2025, 2, 17) + dt.timedelta(days=7 * n),
        )
        if n % 3 == 0:
            payment_record(loan=loan, amount=D("1840.40"), paid_on=loan.first_due_on, actor=officer)
    redis = own_redis.client()
    workers = [start_worker(own_redis)]
    try:
        # One borrower per batch and a pause between batches, so there is a "mid-run" to kill in.
        send_rating(own_redis, batch_size=1, pause_seconds=1.0)
        killed = wait_for(lambda: JobRun.objects.filter(name="rate_portfolio", progress__gt=0).first())
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = time.monotonic()
        assert 0 < LoanRating.objects.filter(as_of=AS_OF).count() < 12
        assert JobRun.objects.get(pk=killed.pk).status == "running"
        assert redis.hlen("unacked") == 1  # acks_late: the killed task was never acknowledged

        workers.append(start_worker(own_redis))
        # What beat does every two minutes: the killed run's lock is free, so no worker owns it.
        [swept] = jobs_sweep_abandoned()
        assert swept.pk == killed.pk
        # The sweep's requeue (the payments above also queued the miners' receipts).
        assert OutboxMessage.objects.exclude(task_name__startswith="notices.").get().dispatched_at is not None
        wait_for(lambda: JobRun.objects.filter(name="rate_portfolio", status="succeeded").exists(), timeout=60)
        by_sweeper = time.monotonic() - killed_at
        recovered = rating_state()

        # Redis delivers the unacknowledged original again after the visibility timeout; it redoes
        # nothing, and then nothing is left queued or unacknowledged.
        wait_for(lambda: JobRun.objects.filter(name="rate_portfolio", status="succeeded").count() == 2, timeout=90)
        by_redelivery = time.monotonic() - killed_at
        wait_for(lambda: redis.llen("celery") == 0 and redis.hlen("unacked") == 0, timeout=30)
        print(f"\nrecovered {by_sweeper:.1f} s after the kill (sweeper); redelivered after {by_redelivery:.1f} s")
        assert history() == [("failed", "Abandoned"), ("succeeded", ""), ("succeeded", "")]
        assert JobRun.objects.filter(name="rate_portfolio").latest("started_at").rows_touched == 0
        assert rating_state() == recovered
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()

    LoanRating.objects.filter(as_of=AS_OF).delete()
    PortfolioRating.objects.filter(as_of=AS_OF).delete()
    clean = portfolio_rate(as_of=AS_OF)
    assert clean.status == "succeeded"
    assert rating_state() == recovered
    assert len(recovered[0]) == 12
    assert portfolio_rate(as_of=AS_OF).rows_touched == 0
