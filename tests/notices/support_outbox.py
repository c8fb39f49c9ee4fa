"""Helpers of the outbox tests (engineer D's): a miner with a preference, an event, simple templates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from notices.events import EventMessage
from notices.models import MessageTemplate, MinerPreference
from notices.schedule import LIMA
from tests.factories import MinerFactory

BODIES = {
    "sms": "Hola {{ name }}. Retuvimos {{ withheld }}.",
    "whatsapp": "Hola {{ name }}. Retuvimos {{ withheld }} del lote {{ lot }}.",
    "email": "Estimado {{ name }}:\nRetuvimos {{ withheld }} del lote {{ lot }}.",
}


def lima(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LIMA)  # type: ignore[misc]


def templates(*events: str) -> None:
    """A plain template per channel for ``events`` (update_or_create: seeded wording is replaced)."""
    for event in events:
        for channel, body in BODIES.items():
            MessageTemplate.objects.update_or_create(
                event=event,
                channel=channel,
                language="es",
                defaults={"body": body, "subject": "Aviso {{ lot }}", "is_active": True},
            )


def consenting_miner(
    channels: list[str], *, phone: str = "987654321", email: str = "", whatsapp: str = "", **pref: Any
) -> Any:
    miner = MinerFactory(phone=phone)
    MinerPreference.objects.create(
        miner=miner,
        consent=True,
        consent_on=dt.date(2026, 1, 5),
        channels=channels,
        email=email,
        whatsapp_number=whatsapp,
        **pref,
    )
    return miner


def event(miner: Any, event: str = "withholding", key: str | None = None) -> EventMessage:
    return EventMessage(
        event=event,
        event_key=key or f"{event}:{miner.pk}01",
        miner=miner,
        loan=None,
        context={"name": "Juan", "withheld": "S/ 1,234.50", "lot": "L-0042"},
    )
