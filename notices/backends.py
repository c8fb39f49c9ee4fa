"""How a message leaves the outbox: one backend per channel, chosen by ``settings.NOTICES_BACKEND``.

- ``console`` (demo, tests, a deployment not yet wired to a provider): the message is logged and
  counts as sent, so the outbox and the officer's pages behave as in production.
- ``live``: e-mail through Django's mail (``EMAIL_*`` settings), SMS and WhatsApp through a generic
  HTTP gateway (``NOTICES_GATEWAY_URL``, ``_TOKEN``, ``_PAYLOAD``, ``_TIMEOUT``).

A backend either returns the provider's reference or raises ``DeliveryError``; ``permanent`` says a
retry cannot help (the provider refused the number or the request), anything else is retried by
``notices.services.notice_send`` with backoff. Backends never touch the database: the caller records
the outcome on the ``Notice``.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import smtplib
import urllib.error
import urllib.request
from email.utils import make_msgid
from typing import Any, Protocol

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.utils import DNS_NAME

from notices.models import Channel, Notice

logger = logging.getLogger(__name__)

# What the gateway's answer may name its message id (first match wins): common SMS providers answer
# {"id": …}, {"message_id": …}, {"sid": …}; the WhatsApp Cloud API {"messages": [{"id": …}]}.
_REFERENCE_KEYS = ("id", "message_id", "messageId", "sid", "reference")
_MAX_RESPONSE_BYTES = 64 * 1024
_PLACEHOLDER = re.compile(r"\{(?:to|body|channel|reference)\}")
# Statuses where the same request may succeed later: timeouts, rate limits, the provider's own errors.
_TRANSIENT_HTTP = {408, 425, 429}


class DeliveryError(Exception):
    """The message did not leave. ``permanent``: retrying cannot help (e.g. the gateway answered 400)."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Backend(Protocol):
    def send(self, notice: Notice) -> str:
        """Send ``notice``; return the provider's reference ("" when it gives none)."""
        ...


class ConsoleBackend:
    """Logs the message and reports it sent (demo and tests)."""

    def send(self, notice: Notice) -> str:
        logger.info(
            "notice %s to %s by %s (%s)%s\n%s",
            notice.pk,
            notice.recipient,
            notice.channel,
            notice.event_key,
            f" — {notice.subject}" if notice.subject else "",
            notice.body,
        )
        return f"console-{notice.pk}"


class EmailBackend:
    """E-mail through Django's mail; the reference is the Message-ID we give the message."""

    def send(self, notice: Notice) -> str:
        message_id = make_msgid(idstring=f"notice{notice.pk}", domain=str(DNS_NAME))
        email = EmailMessage(
            subject=notice.subject or notice.event_key,
            body=notice.body,
            to=[notice.recipient],
            headers={"Message-ID": message_id},
        )
        try:
            email.send(fail_silently=False)
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"recipient refused: {exc}", permanent=True) from exc
        except (smtplib.SMTPException, OSError) as exc:  # the server is down, slow or refused us for now
            raise DeliveryError(f"{type(exc).__name__}: {exc}") from exc
        return message_id


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """A redirected POST would be replayed as a GET without its body: treat it as the error it is."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclasses.dataclass(frozen=True)
class GatewayBackend:
    """A generic HTTP SMS/WhatsApp gateway: POST of a JSON payload built from a template, bearer
    token, bounded timeout, no redirects. 2xx is sent; 408/425/429/5xx, timeouts and connection
    errors are retried; any other answer is a permanent failure (a wrong number, a bad request)."""

    url: str
    token: str
    payload_template: str
    timeout: float

    @classmethod
    def from_settings(cls) -> GatewayBackend:
        return cls(
            url=settings.NOTICES_GATEWAY_URL,
            token=settings.NOTICES_GATEWAY_TOKEN,
            payload_template=settings.NOTICES_GATEWAY_PAYLOAD,
            timeout=float(settings.NOTICES_GATEWAY_TIMEOUT),
        )

    def payload(self, notice: Notice) -> Any:
        values = {
            "{to}": notice.recipient,
            "{body}": notice.body,
            "{channel}": notice.channel,
            "{reference}": f"notice-{notice.pk}",
        }
        return _fill(json.loads(self.payload_template), values)

    def send(self, notice: Notice) -> str:
        if not self.url:
            raise DeliveryError("NOTICES_GATEWAY_URL is not set", permanent=True)
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json",
            "User-Agent": "asmcredit-notices/1",
            # A provider that deduplicates on this key never delivers a retried message twice.
            "Idempotency-Key": f"notice-{notice.pk}",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310 - the settings allow http(s) URLs only
            self.url,
            data=json.dumps(self.payload(notice)).encode(),
            headers=headers,
            method="POST",
        )
        opener = urllib.request.build_opener(_RefuseRedirects)
        try:
            with opener.open(request, timeout=self.timeout) as response:
                raw = response.read(_MAX_RESPONSE_BYTES)
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            transient = exc.code in _TRANSIENT_HTTP or exc.code >= 500
            raise DeliveryError(f"HTTP {exc.code}: {detail}"[:255], permanent=not transient) from exc
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise DeliveryError(f"{type(exc).__name__}: {reason}"[:255]) from exc
        return _reference(raw)


def backend_for(channel: str) -> Backend:
    """The backend that carries ``channel`` under ``settings.NOTICES_BACKEND``."""
    if settings.NOTICES_BACKEND == "console":
        return ConsoleBackend()
    if channel == Channel.EMAIL:
        return EmailBackend()
    return GatewayBackend.from_settings()


def _fill(node: Any, values: dict[str, str]) -> Any:
    """The payload template with the placeholders replaced in every string (after parsing, so the
    message body is escaped by json.dumps, never spliced into JSON text)."""
    if isinstance(node, str):
        # One pass: a body that itself contains "{channel}" stays as the miner's text.
        return _PLACEHOLDER.sub(lambda match: values[match.group(0)], node)
    if isinstance(node, dict):
        return {key: _fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(value, values) for value in node]
    return node


def _reference(raw: bytes) -> str:
    try:
        data = json.loads(raw or b"null")
    except ValueError:
        return ""
    if isinstance(data, dict):
        for key in _REFERENCE_KEYS:
            value = data.get(key)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                return str(value)[:120]
        messages = data.get("messages")
        if isinstance(messages, list) and messages:
            return _reference(json.dumps(messages[0]).encode())
    return ""
