"""A real Celery worker against Redis runs the nightly rating; SIGKILL mid-run, run again, and the
result is exactly that of a clean run."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import time
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

from asmcredit.models import JobRun
from installments.models import LoanRating, PortfolioRating
from installments.services import payment_record, portfolio_rate
from tests.factories import MinerFactory
from tests.installments.conftest import disburse

D = Decimal
AS_OF = dt.date(2025, 6, 30)
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
ROOT = Path(__file__).resolve().parents[2]


def start_worker(queue: str) -> subprocess.Popen[bytes]:
    database = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}",
        "CELERY_BROKER_URL": REDIS_URL,
        "CELERY_RESULT_BACKEND": REDIS_URL,
        "SECRET_KEY": "worker-test-only",
        "DEBUG": "false",
    }
    celery = str(Path(sys.executable).with_name("celery"))
    return subprocess.Popen(
        [celery, "-A", "config", "worker", "--pool=solo", "-Q", queue, "-n", f"{queue}@%h", "--loglevel=WARNING"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def send_rating(queue: str, **kwargs: Any) -> None:
    from config.celery import app
    from installments.tasks import rate_portfolio

    with app.connection_for_write(REDIS_URL) as conn:
        rate_portfolio.apply_async(  # type: ignore[call-arg]
            kwargs={"as_of": AS_OF.isoformat(), **kwargs}, queue=queue, connection=conn
        )


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


@pytest.mark.worker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_rates_the_same_after_the_worker_is_killed_mid_run(officer, product, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app.conf, "task_always_eager", False)
    for n in range(12):
        loan = disburse(
            miner=MinerFactory(),
            product=product,
            officer=officer,
            first_due_on=dt.date(2025, 2, 17) + dt.timedelta(days=7 * n),
        )
        if n % 3 == 0:
            payment_record(loan=loan, amount=D("1840.40"), paid_on=loan.first_due_on, actor=officer)
    queue = f"test-worker-{uuid.uuid4().hex[:8]}"
    workers = [start_worker(queue)]
    try:
        # One borrower per batch and a pause between batches, so there is a "mid-run" to kill in.
        send_rating(queue, batch_size=1, pause_seconds=1.0)
        killed = wait_for(lambda: JobRun.objects.filter(name="rate_portfolio", progress__gt=0).first())
        os.kill(workers[0].pid, signal.SIGKILL)
        workers[0].wait(timeout=10)
        assert 0 < LoanRating.objects.filter(as_of=AS_OF).count() < 12
        assert JobRun.objects.get(pk=killed.pk).status == "running"

        workers.append(start_worker(queue))
        send_rating(queue)
        wait_for(lambda: JobRun.objects.filter(name="rate_portfolio", status="succeeded").exists())
        recovered = rating_state()
        assert JobRun.objects.get(pk=killed.pk).status == "failed"  # marked abandoned by the rerun
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        import redis

        redis.Redis.from_url(REDIS_URL).delete(queue, "unacked", "unacked_index")

    LoanRating.objects.filter(as_of=AS_OF).delete()
    PortfolioRating.objects.filter(as_of=AS_OF).delete()
    clean = portfolio_rate(as_of=AS_OF)
    assert clean.status == "succeeded"
    assert rating_state() == recovered
    assert len(recovered[0]) == 12
    assert portfolio_rate(as_of=AS_OF).rows_touched == 0
