"""The management commands run the same services as the Celery tasks."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from asmcredit.models import JobRun
from installments import tasks
from tests.installments.conftest import disburse


def test_it_rates_the_portfolio_as_of_a_date(officer, rosa, product):
    disburse(miner=rosa, product=product, officer=officer)
    out = StringIO()

    call_command("rate_portfolio", "--as-of", "2025-03-31", stdout=out)

    run = JobRun.objects.get(name="rate_portfolio")
    assert (run.as_of, run.status, run.rows_touched) == (
        dt.date(2025, 3, 31),
        "succeeded",
        2,
    )  # one loan rating + the portfolio row
    assert "succeeded" in out.getvalue()


def test_it_reconciles_and_runs_the_nightly_job_from_the_command_line(db):
    call_command("reconcile_remittances", "--as-of", "2025-03-31", stdout=StringIO())
    call_command("nightly_servicing", "--as-of", "2025-03-31", stdout=StringIO())

    assert set(JobRun.objects.values_list("name", flat=True)) == {
        "reconcile_remittances",
        "nightly_servicing",
        "accrue_moratory",
        "rate_portfolio",
    }


@pytest.mark.parametrize("command", ["rate_portfolio", "reconcile_remittances"])
def test_it_refuses_a_bad_date_with_a_message(db, command):
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command(command, "--as-of", "31/03/2025")


def test_it_gives_the_beat_tasks_today_in_lima_when_no_date_is_sent(db, monkeypatch):
    seen = {}
    import installments.services

    monkeypatch.setattr(
        installments.services, "nightly_servicing", lambda **kw: seen.update(kw) or JobRun.objects.create(name="x")
    )

    tasks.nightly_servicing.apply(kwargs={})

    assert seen["as_of"] == tasks._day(None)
