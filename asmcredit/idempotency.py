"""Idempotency-Key for API POSTs: a retried request replays the first response instead of acting twice.

The key row (``IdempotencyRecord``, unique on ``(client, key)``) is inserted first, inside the same
transaction as the work, and completed with the response before commit. So:

- the key and its effects commit together — a crash or an error leaves neither behind, and the client
  may retry with the same key;
- a concurrent request with the same key blocks on the unique index while the first one runs. It waits
  at most ``LOCK_WAIT_MS``: if the first finished by then, the duplicate replays its response; if not,
  it gets 409 ``idempotency_in_progress`` and nothing it sent is applied;
- the same key with a different body or path is a 422 ``idempotency_key_reused`` naming the conflict.

Only successful (2xx) responses are stored: a request rejected with 400 changed nothing, so retrying it
(corrected) with the same key is allowed.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from asmcredit.api import IDEMPOTENCY_HEADER, Conflict, UnprocessableEntity, client_key
from asmcredit.models import IdempotencyRecord

LOCK_WAIT_MS = 250
REPLAY_HEADER = "Idempotent-Replayed"
_KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


def request_fingerprint(request: Request) -> str:
    """A hash of what the request asks for: method, path and the parsed body in canonical form, so
    the same JSON sent with other whitespace or key order is the same request."""
    try:
        body = json.dumps(request.data, sort_keys=True, cls=JSONEncoder, default=str, separators=(",", ":"))
    except (TypeError, ValueError):
        body = repr(request.data)
    raw = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _clean_key(raw: str) -> str:
    if not _KEY_RE.fullmatch(raw):
        raise exceptions.ValidationError(
            {IDEMPOTENCY_HEADER: [_("Use 1 to 255 visible ASCII characters, without spaces.")]}
        )
    return raw


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.response_body, status=record.status_code, headers={REPLAY_HEADER: "true"})


def _claim(*, client: str, key: str, request: Request, fingerprint: str) -> IdempotencyRecord | Response:
    """Insert the key row, or answer from the row another request committed."""
    fields = {"method": request.method or "", "path": request.path[:255], "request_hash": fingerprint}
    try:
        with transaction.atomic():
            if connection.vendor != "postgresql":
                return IdempotencyRecord.objects.create(client=client, key=key, **fields)
            with connection.cursor() as cursor:
                # A duplicate waits briefly on the unique index, never for the whole of the first job.
                cursor.execute("SELECT current_setting('lock_timeout')")
                previous = cursor.fetchone()[0]
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{LOCK_WAIT_MS}ms"])
                record = IdempotencyRecord.objects.create(client=client, key=key, **fields)
                cursor.execute("SELECT set_config('lock_timeout', %s, true)", [previous])
            return record
    except OperationalError as exc:  # lock_timeout: the first request with this key is still running
        raise Conflict(
            detail=_("A request with this Idempotency-Key is still being processed; retry shortly."),
            code="idempotency_in_progress",
        ) from exc
    except IntegrityError:
        pass
    existing = IdempotencyRecord.objects.get(client=client, key=key)
    if existing.path != request.path[:255] or existing.method != request.method:
        raise UnprocessableEntity(
            detail=_("Idempotency-Key %(key)r was first used for %(method)s %(path)s.")
            % {"key": key, "method": existing.method, "path": existing.path},
            code="idempotency_key_reused",
        )
    if existing.request_hash != fingerprint:
        raise UnprocessableEntity(
            detail=_("Idempotency-Key %(key)r was first used with a different request body on %(method)s %(path)s.")
            % {"key": key, "method": existing.method, "path": existing.path},
            code="idempotency_key_reused",
        )
    if existing.status_code is None:
        raise Conflict(
            detail=_("A request with this Idempotency-Key is still being processed; retry shortly."),
            code="idempotency_in_progress",
        )
    return _replay(existing)


def idempotent(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Decorate an API view's POST handler (``create``, an ``@action``…) to honour Idempotency-Key.

    The handler runs inside the transaction that holds the key row, so its service calls (which open
    their own ``atomic`` blocks) nest as savepoints and commit with the stored response.
    """

    @functools.wraps(handler)
    def wrapper(self: Any, request: Request, *args: Any, **kwargs: Any) -> Response:
        raw_key = request.headers.get(IDEMPOTENCY_HEADER)
        if raw_key is None:
            return handler(self, request, *args, **kwargs)
        key = _clean_key(raw_key)
        client = client_key(request)
        fingerprint = request_fingerprint(request)
        with transaction.atomic():
            claimed = _claim(client=client, key=key, request=request, fingerprint=fingerprint)
            if isinstance(claimed, Response):
                return claimed
            response = handler(self, request, *args, **kwargs)
            if 200 <= response.status_code < 300:
                claimed.status_code = response.status_code
                claimed.response_body = json.loads(JSONRenderer().render(response.data) or b"null")
                claimed.save(update_fields=["status_code", "response_body"])
            else:
                # Nothing to replay: forget the key together with whatever the handler did.
                transaction.set_rollback(True)
            return response

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
