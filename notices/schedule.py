"""When a collection message may reach a miner (Código de Protección al Consumidor art. 62; DOMAIN.md §10).

Reminders and arrears notices are never sent between 20:00 and 07:00 Lima time, on a Saturday, a
Sunday or a Peruvian public holiday; they wait for the next allowed moment. Receipts are not collection
and go at any time (``notices.services`` decides which is which).

The clock is Lima's whatever ``TIME_ZONE`` the deployment runs in: the law speaks of the miner's day,
and all of Peru is on one zone without daylight saving (UTC−5), so 07:00 always exists exactly once.
The holidays are the national ones of the ``holidays`` library (``holidays.country_holidays("PE")``,
kept current by its maintainers, e.g. 29/06 San Pedro y San Pablo, 28–29/07 Fiestas Patrias, 08/12);
regional feasts and the non-working days the government decrees at short notice are not in it.

Pure: no ORM, no settings; a naive moment is refused rather than guessed.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

LIMA = ZoneInfo("America/Lima")
DAY_STARTS = dt.time(7, 0)  # the first allowed minute
DAY_ENDS = dt.time(20, 0)  # the first forbidden minute: 19:59:59 may go, 20:00:00 waits
# Far enough for any run of weekends and holidays (Fiestas Patrias plus a bridge is under a week);
# a loop that found nothing in a year is a bug, not a calendar.
_MAX_DAYS_AHEAD = 366


@lru_cache(maxsize=16)
def _holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("PE", years=year)


def is_working_day(day: dt.date) -> bool:
    """Monday to Friday and not a Peruvian public holiday."""
    return day.weekday() < 5 and day not in _holidays(day.year)


def is_allowed(moment: dt.datetime) -> bool:
    """Whether a collection message may be sent at ``moment`` (an aware datetime)."""
    local = _lima(moment)
    return is_working_day(local.date()) and DAY_STARTS <= local.time() < DAY_ENDS


def next_allowed(moment: dt.datetime) -> dt.datetime:
    """``moment`` itself when a collection message may go then, else 07:00 Lima time of the next
    working day (today's 07:00 when it is an early hour of a working day). Aware, in Lima time."""
    local = _lima(moment)
    if is_allowed(local):
        return local
    day = local.date()
    if not (is_working_day(day) and local.time() < DAY_STARTS):
        day += dt.timedelta(days=1)
    for _ in range(_MAX_DAYS_AHEAD):
        if is_working_day(day):
            return dt.datetime.combine(day, DAY_STARTS, tzinfo=LIMA)
        day += dt.timedelta(days=1)
    raise RuntimeError(f"no working day within {_MAX_DAYS_AHEAD} days of {local:%Y-%m-%d}")  # pragma: no cover


def _lima(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("next_allowed needs an aware datetime (the law's hours are Lima's)")
    return moment.astimezone(LIMA)
