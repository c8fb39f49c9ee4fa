"""Collection messages wait for the law's hours (art. 62): not 20:00–07:00 Lima time, not on Saturdays,
Sundays or Peruvian public holidays; receipts go at once. 2026: Monday 29/06 is San Pedro y San Pablo,
Tuesday 28/07 and Wednesday 29/07 are Fiestas Patrias."""

from __future__ import annotations

import datetime as dt

import pytest

from notices.models import Notice
from notices.schedule import is_allowed, next_allowed
from notices.services import notices_for_event, notices_send_due

from .support_outbox import consenting_miner, event, lima, templates


def test_it_holds_a_saturday_night_reminder_before_a_holiday_until_the_next_working_morning() -> None:
    # Saturday 27/06/2026 21:30; Sunday 28/06; Monday 29/06 is a holiday -> Tuesday 30/06 07:00.
    assert next_allowed(lima(2026, 6, 27, 21, 30)) == lima(2026, 6, 30, 7, 0)


def test_it_sends_at_once_at_19_59_on_a_wednesday() -> None:
    moment = lima(2026, 6, 24, 19, 59, 59)
    assert next_allowed(moment) == moment
    assert is_allowed(moment)


def test_it_waits_from_exactly_20_00() -> None:
    assert not is_allowed(lima(2026, 6, 24, 20, 0))
    assert next_allowed(lima(2026, 6, 24, 20, 0)) == lima(2026, 6, 25, 7, 0)


def test_it_sends_an_early_morning_message_at_07_00_the_same_working_day() -> None:
    assert next_allowed(lima(2026, 6, 25, 6, 59)) == lima(2026, 6, 25, 7, 0)
    assert next_allowed(lima(2026, 6, 25, 7, 0)) == lima(2026, 6, 25, 7, 0)


def test_it_skips_a_run_of_holidays() -> None:
    # Monday 27/07 at 20:00 -> Tuesday 28 and Wednesday 29 are Fiestas Patrias -> Thursday 30/07 07:00.
    assert next_allowed(lima(2026, 7, 27, 20, 0)) == lima(2026, 7, 30, 7, 0)
    # A weekday holiday holds messages all day: Tuesday 08/12 and Wednesday 09/12 (Ayacucho) -> Thursday.
    assert next_allowed(lima(2026, 12, 8, 10, 0)) == lima(2026, 12, 10, 7, 0)


def test_it_reads_any_time_zone_as_lima_time() -> None:
    # 02:30 UTC on Sunday 28/06 is 21:30 on Saturday in Lima.
    utc = dt.datetime(2026, 6, 28, 2, 30, tzinfo=dt.UTC)
    assert next_allowed(utc) == lima(2026, 6, 30, 7, 0)
    assert next_allowed(utc).utcoffset() == dt.timedelta(hours=-5)


def test_it_refuses_a_naive_moment() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_allowed(dt.datetime(2026, 6, 24, 10, 0))


@pytest.mark.django_db
def test_it_makes_the_reminder_wait_and_sends_the_receipt_at_once() -> None:
    templates("reminder", "withholding")
    miner = consenting_miner(["sms"])
    saturday_night = lima(2026, 6, 27, 21, 30)

    (reminder,) = notices_for_event(message=event(miner, "reminder"), now=saturday_night)
    (receipt,) = notices_for_event(message=event(miner, "withholding"), now=saturday_night)
    assert reminder.not_before == lima(2026, 6, 30, 7, 0)
    assert receipt.not_before == saturday_night

    assert notices_send_due(now=saturday_night) == 1  # the receipt only
    assert notices_send_due(now=lima(2026, 6, 29, 12, 0)) == 0  # the holiday: still waiting
    reminder.refresh_from_db()
    assert reminder.status == Notice.Status.PENDING
    assert notices_send_due(now=lima(2026, 6, 30, 7, 0)) == 1
    reminder.refresh_from_db()
    assert reminder.status == Notice.Status.SENT
    assert reminder.sent_at == lima(2026, 6, 30, 7, 0)
