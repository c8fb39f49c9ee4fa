"""The e-mail backend (Django's mail; locmem in tests) and the console backend of the demo and tests."""

from __future__ import annotations

import logging

import pytest
from django.core import mail

from notices.backends import ConsoleBackend, EmailBackend, GatewayBackend, backend_for
from notices.services import notice_send, notices_for_event, notices_send_due

from .support_outbox import consenting_miner, event, lima, templates

WEDNESDAY_NOON = lima(2026, 6, 24, 12, 0)
pytestmark = pytest.mark.django_db


def test_it_sends_the_email_variant_through_django_mail(settings) -> None:  # type: ignore[no-untyped-def]
    settings.NOTICES_BACKEND = "live"
    settings.NOTICES_GATEWAY_URL = "http://127.0.0.1:9/never-called"
    templates("withholding")
    miner = consenting_miner(["email"], email="juan@example.pe")
    (notice,) = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    notice = notice_send(notice=notice, now=WEDNESDAY_NOON)

    assert (notice.status, notice.attempts) == ("sent", 1)
    (email,) = mail.outbox
    assert email.to == ["juan@example.pe"]
    assert email.subject == "Aviso L-0042"
    assert email.body == "Estimado Juan:\nRetuvimos S/ 1,234.50 del lote L-0042."
    assert email.extra_headers["Message-ID"] == notice.provider_reference
    assert f".notice{notice.pk}@" in notice.provider_reference


def test_it_logs_and_marks_sent_on_the_console(caplog) -> None:  # type: ignore[no-untyped-def]
    templates("withholding")
    miner = consenting_miner(["sms", "whatsapp"])
    notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    with caplog.at_level(logging.INFO, logger="notices.backends"):
        assert notices_send_due(now=WEDNESDAY_NOON) == 2
        assert notices_send_due(now=WEDNESDAY_NOON) == 0

    logged = [r.getMessage() for r in caplog.records if r.name == "notices.backends"]
    assert len(logged) == 2
    assert "to 987654321 by sms" in logged[0] and "Hola Juan. Retuvimos S/ 1,234.50." in logged[0]
    assert mail.outbox == []


def test_it_picks_the_backend_from_the_settings(settings) -> None:  # type: ignore[no-untyped-def]
    assert isinstance(backend_for("sms"), ConsoleBackend)
    assert isinstance(backend_for("email"), ConsoleBackend)
    settings.NOTICES_BACKEND = "live"
    settings.NOTICES_GATEWAY_URL = "https://gateway.example/v1/messages"
    assert isinstance(backend_for("email"), EmailBackend)
    gateway = backend_for("whatsapp")
    assert isinstance(gateway, GatewayBackend) and gateway.url == "https://gateway.example/v1/messages"
