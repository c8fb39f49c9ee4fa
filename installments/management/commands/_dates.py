from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError, CommandParser
from django.utils import timezone


def add_as_of(parser: CommandParser) -> None:
    parser.add_argument("--as-of", dest="as_of", help="YYYY-MM-DD (default: today in Lima)")


def parse_as_of(value: str | None) -> dt.date:
    if not value:
        return timezone.localdate()
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of must be a date as YYYY-MM-DD, not {value!r}.") from exc
