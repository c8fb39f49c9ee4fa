"""Idempotency-Key for API POSTs: a retried request replays the first response instead of acting twice.

The key's record (``IdempotencyRecord``, unique on ``(client, key)``) is written with the response, in
the same transaction as the work, so the key and its effects commit together: a crash or an error
leaves neither behind, and the client may retry with the same key. Before the work:

- on PostgreSQL the request takes a transaction-scoped advisory lock on the key, so a concurrent
  request with the same key waits at most ``LOCK_WAIT_MS`` for the first one. If the first finished by
  then, the duplicate replays its response; if not, it gets 409 ``idempotency_in_progress`` and
  nothing it sent is applied. (On the demo's SQLite, where writers queue for the database, a duplicate
  that got past the check is refused by the unique index when it stores its record: also a 409, and
  its work is rolled back);
- a committed record for the key is replayed, or, when it was for another body or path, refused with
  422 ``idempotency_key_reused`` naming the conflict.

Only successful (2xx) responses are stored: a request rejected with 400 changed nothing, so retrying it
(corrected) with the same key is allowed.

Records are kept for the replay window, ``IDEMPOTENCY_REPLAY_HOURS`` (72 by default), and then purged by
a nightly job (``asmcredit.retention.idempotency_purge``, kept apart because this module sits on the API
layer and jobs must not import it); a key sent again after that is a new request. This module uses
only the database, never the cache, so it keeps working while the cache is down.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
import time
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.encoders import JSONEncoder

from asmcredit.api import IDEMPOTENCY_HEADER, Conflict, UnprocessableEntity, client_key
from asmcredit.models import IdempotencyRecord
from asmcredit.sql import insert_rows

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


def _is_key_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    if getattr(diag, "constraint_name", None) == "idempotency_unique_client_key":
        return True
    return IdempotencyRecord._meta.db_table in str(exc)  # SQLite names the table, not the constraint


def _replay(record: IdempotencyRecord) -> Response:
    return Response(record.response_body, status=record.status_code, headers={REPLAY_HEADER: "true"})


def lock_id(client: str, key: str) -> int:
    """The advisory lock of a client's key: 64 bits of its hash, as PostgreSQL's signed bigint."""
    digest = hashlib.sha256(f"{client}\n{key}".encode("utf-8", "surrogatepass")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def _wait_for_key(client: str, key: str) -> None:
    """Take the key's advisory lock for this transaction, or 409 if another request holds it for longer
    than ``LOCK_WAIT_MS``. (Polled rather than waited on with ``lock_timeout``: a try-lock is one
    statement, where setting and restoring the timeout around a blocking lock took three.)"""
    if connection.vendor != "postgresql":
        return
    deadline = time.monotonic() + LOCK_WAIT_MS / 1000
    with connection.cursor() as cursor:
        while True:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id(client, key)])
            if cursor.fetchone()[0]:
                return
            if time.monotonic() >= deadline:
                raise _in_progress()
            time.sleep(0.02)


def _in_progress() -> Conflict:
    return Conflict(
        detail=_("A request with this Idempotency-Key is still being processed; retry shortly."),
        code="idempotency_in_progress",
    )


def _answered(*, client: str, key: str, request: Request, fingerprint: str) -> Response | None:
    """The stored response for this key, or None when the key is new; 422 when it was used for
    another request."""
    existing = IdempotencyRecord.objects.filter(client=client, key=key).first()
    if existing is None:
        return None
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
        try:
            with transaction.atomic():
                _wait_for_key(client, key)
                answered = _answered(client=client, key=key, request=request, fingerprint=fingerprint)
                if answered is not None:
                    return answered
                response = handler(self, request, *args, **kwargs)
                if not 200 <= response.status_code < 300:
                    # Nothing to replay: forget the key together with whatever the handler did.
                    transaction.set_rollback(True)
                    return response
                record = IdempotencyRecord(
                    client=client,
                    key=key,
                    method=request.method or "",
                    path=request.path[:255],
                    request_hash=fingerprint,
                    status_code=response.status_code,
                    response_body=json.loads(JSONRenderer().render(response.data) or b"null"),
                )
                insert_rows([record])
                return response
        except IntegrityError as exc:
            # Only where no advisory lock serializes the key (SQLite): a duplicate ran alongside the first
            # request and lost the race to store its record; everything it did was rolled back.
            if not _is_key_conflict(exc):
                raise
            raise _in_progress() from exc

    wrapper.idempotent = True  # type: ignore[attr-defined]
    return wrapper
