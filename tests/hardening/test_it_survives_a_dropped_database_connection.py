"""A persistent database connection that dies between requests (a PostgreSQL restart, a failover, an idle
timeout in a pooler) costs no request a 500: ``CONN_HEALTH_CHECKS`` tests it before reuse.

Django's test client unhooks ``close_old_connections`` from the request signals, and that hook is where
the health check is re-armed each request; so these requests go through the WSGI handler, as under
gunicorn.
"""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.client import RequestFactory

from asmcredit.tokens import staff_token_issue


def _wsgi_get(path: str, **headers: str) -> int:
    environ = RequestFactory().get(path, **headers).environ
    statuses: list[str] = []
    response = WSGIHandler()(environ, lambda status, _headers, *_: statuses.append(status))
    b"".join(response)
    response.close()  # request_finished, as a WSGI server sends it
    return int(statuses[0].split()[0])


def _terminate(pid: int) -> None:
    params = connection.get_connection_params()
    other = psycopg2.connect(**params)
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_reconnects_after_the_database_drops_the_connection(officer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert connection.vendor == "postgresql"
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] is True
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    token = staff_token_issue(user=officer, actor="tests")[0]
    connection.close()  # reopen below with the persistent settings

    auth = {"HTTP_AUTHORIZATION": f"Token {token}"}
    assert _wsgi_get("/api/v1/miners/", **auth) == 200
    assert connection.connection is not None, "the connection should persist between requests"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]

    _terminate(pid)

    assert _wsgi_get("/api/v1/miners/", **auth) == 200
    assert _wsgi_get("/api/v1/miners/", **auth) == 200
