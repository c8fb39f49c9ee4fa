"""Reads of the messages to miners, for the officer pages and the portfolio report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Q

from notices.models import Channel, Notice

DELIVERED = (Notice.Status.SENT, Notice.Status.DELIVERED)


@dataclass(frozen=True)
class ChannelCount:
    channel: str
    label: str
    made: int
    delivered: int
    failed: int
    pending: int


@dataclass(frozen=True)
class NoticeCounts:
    """Miners reached and messages by channel over a period (by the day each message was made)."""

    miners_reached: int
    channels: tuple[ChannelCount, ...]

    @property
    def delivered(self) -> int:
        return sum(row.delivered for row in self.channels)


def notice_counts(*, date_from: dt.date | None, date_to: dt.date) -> NoticeCounts:
    notices = Notice.objects.filter(created__date__lte=date_to)
    if date_from is not None:
        notices = notices.filter(created__date__gte=date_from)
    rows = {
        row["channel"]: row
        for row in notices.values("channel").annotate(
            made=Count("pk"),
            delivered=Count("pk", filter=Q(status__in=DELIVERED)),
            failed=Count("pk", filter=Q(status=Notice.Status.FAILED)),
            pending=Count("pk", filter=Q(status=Notice.Status.PENDING)),
        )
    }
    channels = tuple(
        ChannelCount(
            channel=value,
            label=str(label),
            made=rows.get(value, {}).get("made", 0),
            delivered=rows.get(value, {}).get("delivered", 0),
            failed=rows.get(value, {}).get("failed", 0),
            pending=rows.get(value, {}).get("pending", 0),
        )
        for value, label in Channel.choices
    )
    reached = notices.filter(status__in=DELIVERED).values("miner").distinct().count()
    return NoticeCounts(miners_reached=reached, channels=channels)
