"""The sweeper fails a scheduled run that no live worker owns and queues it again through the outbox;
a run whose worker still holds the job's lock, and work a person started, are left alone."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator

import psycopg2
import pytest
from django.conf import settings

from asmcredit.jobs import job_start, jobs_sweep_abandoned
from asmcredit.models import AuditEvent, JobRun, OutboxMessage

AS_OF = dt.date(2025, 6, 30)


@pytest.fixture
def other_session() -> Iterator[psycopg2.extensions.connection]:
    """A second database session: a live worker in the middle of a job."""
    db = settings.DATABASES["default"]
    conn = psycopg2.connect(dbname=db["NAME"], user=db["USER"], host=db["HOST"], port=db["PORT"])
    conn.autocommit = True
    yield conn
    conn.close()


def running(name: str) -> JobRun:
    return JobRun.objects.create(name=name, as_of=AS_OF)


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_fails_and_requeues_a_run_whose_worker_died(broker) -> None:
    broker.stop()  # the requeued message waits in the outbox
    dead = running("rate_portfolio")

    [swept] = jobs_sweep_abandoned()

    assert swept.pk == dead.pk
    dead.refresh_from_db()
    assert dead.status == "failed"
    assert dead.error.startswith("Abandoned")
    [message] = OutboxMessage.objects.all()
    assert (message.task_name, message.kwargs) == ("installments.tasks.rate_portfolio", {"as_of": "2025-06-30"})
    assert AuditEvent.objects.filter(action="job.abandoned", object_id=str(dead.pk)).exists()
    assert jobs_sweep_abandoned() == []  # a second sweep changes nothing


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_queues_a_nightly_run_once_with_its_nested_runs(broker) -> None:
    broker.stop()
    for name in ["nightly_servicing", "accrue_moratory", "rate_portfolio"]:
        running(name)
    assert len(jobs_sweep_abandoned()) == 3
    assert sorted(OutboxMessage.objects.values_list("task_name", flat=True)) == [
        "installments.tasks.nightly_servicing",
        "installments.tasks.rate_portfolio",
    ]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_leaves_a_run_whose_worker_holds_the_lock(broker, other_session) -> None:
    live = running("rate_portfolio")
    with other_session.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [zlib.crc32(b"rate_portfolio")])
    assert jobs_sweep_abandoned() == []
    live.refresh_from_db()
    assert live.status == "running"
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_leaves_work_a_person_started(broker) -> None:
    report = job_start(name="portfolio_report", as_of=AS_OF)
    assert jobs_sweep_abandoned() == []
    report.refresh_from_db()
    assert report.status == "running"
