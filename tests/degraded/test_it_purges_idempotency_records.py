"""Idempotency records older than IDEMPOTENCY_REPLAY_HOURS are purged nightly; inside the window a
retry still replays."""

from __future__ import annotations

import datetime as dt

from django.core.management import call_command
from django.utils import timezone

from asmcredit.models import IdempotencyRecord, JobRun
from asmcredit.retention import idempotency_purge
from installments.models import Remittance
from tests.api.conftest import today

REMITTANCE = {"reference": "BCP-9", "amount": "50.00", "currency": "PEN", "paid_on": today().isoformat()}


def _record(key: str, *, hours_ago: float, now: dt.datetime) -> IdempotencyRecord:
    record = IdempotencyRecord.objects.create(
        client="buyer:1", key=key, method="POST", path="/api/v1/remittances/", request_hash="x", status_code=201
    )
    IdempotencyRecord.objects.filter(pk=record.pk).update(created=now - dt.timedelta(hours=hours_ago))
    return record


def test_it_purges_records_past_the_window_and_keeps_recent_ones(db, settings) -> None:
    settings.IDEMPOTENCY_REPLAY_HOURS = 72
    now = timezone.now()
    _record("old", hours_ago=73, now=now)
    _record("older", hours_ago=24 * 30, now=now)
    _record("recent", hours_ago=71, now=now)
    _record("fresh", hours_ago=0, now=now)

    assert idempotency_purge(now=now) == 2
    assert set(IdempotencyRecord.objects.values_list("key", flat=True)) == {"recent", "fresh"}
    run = JobRun.objects.get(name="purge_idempotency")
    assert (run.status, run.rows_touched) == (JobRun.Status.SUCCEEDED, 2)

    assert idempotency_purge(now=now) == 0  # a second run changes nothing


def test_it_follows_the_configured_window(db, settings) -> None:
    settings.IDEMPOTENCY_REPLAY_HOURS = 24
    now = timezone.now()
    _record("two-days", hours_ago=48, now=now)
    _record("half-day", hours_ago=12, now=now)
    assert idempotency_purge(now=now) == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["half-day"]


def test_it_still_replays_inside_the_window(orex) -> None:
    first = orex.client.post("/api/v1/remittances/", REMITTANCE, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert idempotency_purge(now=timezone.now() + dt.timedelta(hours=71)) == 0
    again = orex.client.post("/api/v1/remittances/", REMITTANCE, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201 and again["Idempotent-Replayed"] == "true"
    assert Remittance.objects.filter(buyer=orex.buyer).count() == 1

    assert idempotency_purge(now=timezone.now() + dt.timedelta(hours=73)) == 1
    assert not IdempotencyRecord.objects.filter(key="k-1").exists()


def test_it_purges_from_the_command_and_the_task(db, settings, capsys) -> None:
    from asmcredit.tasks import purge_idempotency
    from config.celery import app

    now = timezone.now()
    _record("a", hours_ago=100, now=now)
    call_command("purge_idempotency")
    assert "Deleted 1 idempotency records older than 72 hours." in capsys.readouterr().out

    _record("b", hours_ago=100, now=now)
    assert purge_idempotency.delay().get() == 1
    assert not IdempotencyRecord.objects.exists()

    entry = settings.CELERY_BEAT_SCHEDULE["nightly-idempotency-purge"]
    assert entry["task"] == purge_idempotency.name and entry["task"] in app.tasks


def test_it_purges_in_batches(db, monkeypatch) -> None:
    from asmcredit import retention

    monkeypatch.setattr(retention, "PURGE_BATCH_SIZE", 2)
    now = timezone.now()
    for n in range(5):
        _record(f"old-{n}", hours_ago=100, now=now)
    _record("recent", hours_ago=1, now=now)
    assert idempotency_purge(now=now) == 5
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["recent"]
