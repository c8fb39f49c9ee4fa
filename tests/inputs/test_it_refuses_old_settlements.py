"""A settlement dated more than ``SETTLEMENT_MAX_AGE_DAYS`` ago (400 by default: underwriting's 12 full months
fit) is refused with an error on ``settled_on`` by every way in; the lender's own seed and services post
history directly and are not."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from buyers.models import Settlement
from installments.services import settlement_post
from installments.services.settlement_batches import settlements_import_csv
from loans.underwriting import months_before
from tests.api.conftest import BuyerPersona, settlement_body


def _days_ago(days: int) -> str:
    return (timezone.localdate() - dt.timedelta(days=days)).isoformat()


def test_the_default_is_400_days() -> None:
    assert settings.SETTLEMENT_MAX_AGE_DAYS == 400


def test_the_api_refuses_a_settlement_older_than_the_limit(orex: BuyerPersona) -> None:
    response = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-OLD", settled_on=_days_ago(401)), format="json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert list(fields) == ["settled_on"]
    assert "older than 400 days" in fields["settled_on"][0]
    assert _days_ago(400) in fields["settled_on"][0]
    assert not Settlement.objects.exists()


def test_the_oldest_day_allowed_is_accepted(orex: BuyerPersona) -> None:
    response = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-EDGE", settled_on=_days_ago(400)), format="json"
    )
    assert response.status_code == 201, response.json()


def test_the_limit_follows_the_setting(orex: BuyerPersona, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SETTLEMENT_MAX_AGE_DAYS = 30
    rows = [
        settlement_body(orex.supplier, "L-1", settled_on=_days_ago(30)),
        settlement_body(orex.supplier, "L-2", settled_on=_days_ago(31)),
    ]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["rows.1.settled_on"]


def test_an_officer_can_still_import_the_12_months_underwriting_reads(orex: BuyerPersona) -> None:
    """Underwriting reads the 12 full calendar months before this one (``months_before``): their first day
    is up to 396 days back, and a new miner's history is imported through the same rows."""
    first = dt.date.fromisoformat(months_before(timezone.localdate(), 12)[0] + "-01")
    assert (timezone.localdate() - first).days <= 396
    row = {k: str(v) for k, v in settlement_body(orex.supplier, "HIST-000", settled_on=first.isoformat()).items()}
    text = ",".join(row) + "\n" + ",".join(row.values())
    result = settlements_import_csv(buyer=orex.buyer, actor="test", text=text, dry_run=True)
    assert result.ok, result.errors

    year_end = dt.date(2026, 12, 31)  # the widest the window gets: 1 Dec of the year before
    assert (year_end - dt.date.fromisoformat(months_before(year_end, 12)[0] + "-01")).days == 395
    assert settings.SETTLEMENT_MAX_AGE_DAYS >= 396


def test_the_csv_import_refuses_it_on_its_line(orex: BuyerPersona) -> None:
    row = {k: str(v) for k, v in settlement_body(orex.supplier, "L-OLD", settled_on="2000-01-01").items()}
    text = ",".join(row) + "\n" + ",".join(row.values())
    result = settlements_import_csv(buyer=orex.buyer, actor="test", text=text)
    assert list(result.errors) == [2] and list(result.errors[2]) == ["settled_on"]
    assert not Settlement.objects.exists()


def test_the_services_still_post_history_as_the_demo_seed_does(orex: BuyerPersona) -> None:
    """``config/demo.py`` posts a year of settlements through ``settlement_post``, not through the row form."""
    body = settlement_body(orex.supplier, "L-HISTORY", settled_on=timezone.localdate() - dt.timedelta(days=400))
    body.pop("miner")
    settlement_post(buyer=orex.buyer, miner=orex.supplier, actor="seed_demo", source="seed", **body)
    assert Settlement.objects.get().lot_code == "L-HISTORY"


def test_a_limit_under_one_day_stops_the_settings_from_loading() -> None:
    env = {**os.environ, "SETTLEMENT_MAX_AGE_DAYS": "0", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter and settings module
        [sys.executable, "-c", "import config.settings"],
        cwd=Path(settings.BASE_DIR),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "SETTLEMENT_MAX_AGE_DAYS must be at least 1" in result.stderr
