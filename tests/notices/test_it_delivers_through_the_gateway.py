"""The HTTP SMS/WhatsApp gateway adapter against a real local HTTP server: retried with backoff when the
gateway fails, recorded when it answers, never raising into the caller."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from notices.models import Notice
from notices.services import notice_send, notices_for_event, notices_send_due

from .support_outbox import consenting_miner, event, lima, templates

WEDNESDAY_NOON = lima(2026, 6, 24, 12, 0)
pytestmark = pytest.mark.django_db


class Gateway:
    """A local gateway answering the scripted statuses in turn (then 200), recording each request."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.requests: list[dict[str, Any]] = []
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers["Content-Length"]))
                gateway.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                status = gateway.statuses.pop(0) if gateway.statuses else 200
                answer = {"id": f"SM{len(gateway.requests):04d}"} if status == 200 else {"error": "upstream down"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/messages"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live(settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    settings.NOTICES_BACKEND = "live"
    settings.NOTICES_GATEWAY_TOKEN = "tok-123"
    settings.NOTICES_GATEWAY_TIMEOUT = 2
    settings.NOTICES_MAX_ATTEMPTS = 5
    settings.NOTICES_GATEWAY_PAYLOAD = json.dumps(
        {"to": "{to}", "text": "{body}", "channel": "{channel}", "meta": {"ref": "{reference}"}}
    )
    gateways: list[Gateway] = []

    def start(statuses: list[int]) -> Gateway:
        gateway = Gateway(statuses)
        gateways.append(gateway)
        settings.NOTICES_GATEWAY_URL = gateway.url
        return gateway

    yield start
    for gateway in gateways:
        gateway.close()


def test_it_retries_a_failing_gateway_until_it_answers(live) -> None:  # type: ignore[no-untyped-def]
    gateway = live([500, 500])
    templates("withholding")
    miner = consenting_miner(["sms"])
    (notice,) = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    notice = notice_send(notice=notice, now=WEDNESDAY_NOON)  # what the event's task does: never raises
    assert (notice.status, notice.attempts) == ("pending", 1)
    assert notice.last_error.startswith("HTTP 500")
    assert notice.not_before == WEDNESDAY_NOON + dt.timedelta(minutes=1)

    assert notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(seconds=30)) == 0  # backing off: not asked
    assert len(gateway.requests) == 1
    assert notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(minutes=1)) == 0  # second failure
    notice.refresh_from_db()
    assert notice.attempts == 2
    assert notice.not_before == WEDNESDAY_NOON + dt.timedelta(minutes=3)  # then 2 minutes more

    assert notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(minutes=3)) == 1
    notice.refresh_from_db()
    assert (notice.status, notice.attempts, notice.provider_reference) == ("sent", 3, "SM0003")
    assert notice.last_error == ""
    assert notice.sent_at == WEDNESDAY_NOON + dt.timedelta(minutes=3)

    assert notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(hours=1)) == 0  # never twice
    assert len(gateway.requests) == 3
    request = gateway.requests[-1]
    assert request["headers"]["Authorization"] == "Bearer tok-123"
    assert request["headers"]["Idempotency-Key"] == f"notice-{notice.pk}"
    assert request["json"] == {
        "to": "987654321",
        "text": "Hola Juan. Retuvimos S/ 1,234.50.",
        "channel": "sms",
        "meta": {"ref": f"notice-{notice.pk}"},
    }


def test_it_gives_up_after_the_last_attempt(live, settings) -> None:  # type: ignore[no-untyped-def]
    settings.NOTICES_MAX_ATTEMPTS = 2
    gateway = live([503, 503, 503])
    templates("withholding")
    (notice,) = notices_for_event(message=event(consenting_miner(["whatsapp"])), now=WEDNESDAY_NOON)

    notices_send_due(now=WEDNESDAY_NOON)
    notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(minutes=5))
    notices_send_due(now=WEDNESDAY_NOON + dt.timedelta(hours=5))

    notice.refresh_from_db()
    assert (notice.status, notice.attempts) == ("failed", 2)
    assert notice.last_error.startswith("HTTP 503")
    assert len(gateway.requests) == 2


def test_it_does_not_retry_what_the_gateway_refuses(live) -> None:  # type: ignore[no-untyped-def]
    gateway = live([400])
    templates("withholding")
    (notice,) = notices_for_event(message=event(consenting_miner(["sms"])), now=WEDNESDAY_NOON)

    notice = notice_send(notice=notice, now=WEDNESDAY_NOON)

    assert (notice.status, notice.attempts) == ("failed", 1)
    assert notice.last_error.startswith("HTTP 400")
    assert len(gateway.requests) == 1


def test_it_records_an_unreachable_gateway_without_raising(live, settings) -> None:  # type: ignore[no-untyped-def]
    gateway = live([])
    gateway.close()  # nothing listens on the port any more: connection refused
    templates("withholding")
    (notice,) = notices_for_event(message=event(consenting_miner(["sms"])), now=WEDNESDAY_NOON)

    notice = notice_send(notice=notice, now=WEDNESDAY_NOON)

    assert (notice.status, notice.attempts) == ("pending", 1)
    assert "URLError" in notice.last_error or "Connection" in notice.last_error


def test_it_holds_a_failed_reminder_retry_until_the_morning(live) -> None:  # type: ignore[no-untyped-def]
    live([500])
    templates("reminder")
    (reminder,) = notices_for_event(message=event(consenting_miner(["sms"]), "reminder"), now=lima(2026, 6, 24, 19, 59))

    reminder = notice_send(notice=reminder, now=lima(2026, 6, 24, 19, 59))

    # The retry would fall at 20:00; the law moves it to Thursday 07:00.
    assert (reminder.status, reminder.not_before) == ("pending", lima(2026, 6, 25, 7, 0))
    assert notices_send_due(now=lima(2026, 6, 24, 23, 0)) == 0
    assert notices_send_due(now=lima(2026, 6, 25, 7, 0)) == 1
    assert Notice.objects.get(pk=reminder.pk).attempts == 2


@pytest.mark.django_db(databases=[])
@pytest.mark.parametrize(
    ("env", "error"),
    [
        ({"NOTICES_BACKEND": "live"}, "NOTICES_BACKEND=live needs NOTICES_GATEWAY_URL"),
        ({"NOTICES_BACKEND": "sms"}, "NOTICES_BACKEND must be 'console' or 'live'"),
        ({"NOTICES_GATEWAY_URL": "ftp://gw"}, "NOTICES_GATEWAY_URL must be an http(s) URL"),
        ({"NOTICES_GATEWAY_PAYLOAD": '["{to}"]'}, "NOTICES_GATEWAY_PAYLOAD must be a JSON object"),
        ({"NOTICES_MAX_ATTEMPTS": "0"}, "NOTICES_MAX_ATTEMPTS must be at least 1"),
        ({"NOTICES_RECEIPTS_AFTER_OPT_OUT": "maybe"}, "NOTICES_RECEIPTS_AFTER_OPT_OUT='maybe' is not a boolean"),
    ],
)
def test_it_refuses_a_malformed_gateway_setting(env: dict[str, str], error: str) -> None:
    from tests.asmcredit.test_it_settings import _load_settings

    result = _load_settings(DEBUG="true", **env)
    assert result.returncode != 0
    assert error in result.stderr


def test_it_records_what_the_provider_reports_later(live) -> None:  # type: ignore[no-untyped-def]
    from notices.services import notice_delivery_record

    live([])
    templates("withholding")
    sms, whatsapp = notices_for_event(message=event(consenting_miner(["sms", "whatsapp"])), now=WEDNESDAY_NOON)
    notices_send_due(now=WEDNESDAY_NOON)
    sms.refresh_from_db()
    whatsapp.refresh_from_db()

    assert notice_delivery_record(provider_reference=sms.provider_reference, delivered=True).status == "delivered"
    late = notice_delivery_record(provider_reference=sms.provider_reference, delivered=False, error="late")
    assert late is not None and late.status == "delivered"  # a delivered message stays delivered
    failed = notice_delivery_record(provider_reference=whatsapp.provider_reference, delivered=False, error="30008")
    assert failed is not None and (failed.status, failed.last_error) == ("failed", "30008")
    assert notice_delivery_record(provider_reference="SM9999", delivered=True) is None
