"""The portfolio report counts the messages to miners by channel and the miners reached (issue 15)."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from notices.models import Notice
from notices.selectors import notice_counts
from tests.factories import MinerFactory


def _notice(miner, key: str, channel: str, status: str) -> Notice:  # type: ignore[no-untyped-def]
    return Notice.objects.create(
        event="withholding",
        event_key=key,
        channel=channel,
        miner=miner,
        recipient="987654321",
        body="…",
        not_before=timezone.now(),
        status=status,
    )


def test_it_counts_messages_by_channel_and_the_miners_reached(db) -> None:  # type: ignore[no-untyped-def]
    rosa, teodoro, nadia = MinerFactory.create_batch(3)
    _notice(rosa, "withholding:1", "sms", Notice.Status.SENT)
    _notice(rosa, "withholding:1", "whatsapp", Notice.Status.DELIVERED)
    _notice(teodoro, "withholding:2", "sms", Notice.Status.FAILED)
    _notice(nadia, "withholding:3", "email", Notice.Status.PENDING)

    today = timezone.localdate()
    counts = notice_counts(date_from=today - dt.timedelta(days=30), date_to=today)

    by_channel = {row.channel: (row.made, row.delivered, row.failed, row.pending) for row in counts.channels}
    assert by_channel == {"sms": (2, 1, 1, 0), "whatsapp": (1, 1, 0, 0), "email": (1, 0, 0, 1)}
    assert counts.miners_reached == 1 and counts.delivered == 2
    # A period before the messages counts none of them.
    assert notice_counts(date_from=None, date_to=today - dt.timedelta(days=1)).miners_reached == 0
