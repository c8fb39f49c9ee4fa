"""Schemathesis against the real WSGI app and PostgreSQL: every operation of the published schema,
as the lender's admin and as a buyer, with generated data — no 5xx and no answer outside the schema.

Slow (about a minute or two); run alone with ``pytest -m slow tests/api``.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationConfig
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import throttle_rate

EXAMPLES_PER_OPERATION = 15


def errors_are_json_in_the_documented_shape(response: Any, case: Any) -> None:
    """Every 4xx answer is JSON ``{"error": {"code", "message"}}``, whatever the schema says of it."""
    if response.status_code < 400:
        return
    content_type = response.headers.get("Content-Type", "")
    assert content_type.startswith("application/json"), f"{response.status_code} answered as {content_type!r}"
    text = response.get_data(as_text=True) if hasattr(response, "get_data") else response.text
    error = json.loads(text).get("error")
    assert isinstance(error, dict) and {"code", "message"} <= error.keys(), text[:300]


CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    errors_are_json_in_the_documented_shape,
)


@pytest.mark.slow
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_answers_1000_generated_requests_without_5xx_or_schema_violations(
    monkeypatch,
    orex,
    rival,
    admin_user,
    officer,
    approver,  # type: ignore[no-untyped-def]
) -> None:
    from asmcredit.tokens import staff_token_issue
    from config.wsgi import application
    from tests.api.conftest import disbursed_loan, settlement_body

    throttle_rate(monkeypatch, "1000000/min")
    # Some data for generated ids to hit: a loan, a settlement with its withholding, a remittance.
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    assert (
        orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json").status_code
        == 201
    )

    # Security parameters are ours to send (the token and the key below); generated session cookies
    # would only probe Django's session middleware, which is outside the API (see the report).
    schema = schemathesis.from_wsgi(
        "/api/v1/schema/", application, generation_config=GenerationConfig(with_security_parameters=False)
    )
    clients = {
        "staff": f"Token {staff_token_issue(user=admin_user, actor='tests')[0]}",
        "buyer": f"Api-Key {orex.key}",
    }
    requests = 0
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40

    def run(who: str, authorization: str, operation: Any) -> None:
        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def call(case):  # type: ignore[no-untyped-def]
            nonlocal requests
            case.headers = {**(case.headers or {}), "Authorization": authorization}
            response = case.call()
            requests += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except AssertionError as exc:
                failures.append(f"{who} {operation.verbose_name}: {str(exc)[:800]}")

        call()

    for who, authorization in clients.items():
        for operation in operations:
            run(who, authorization, operation)

    print(f"schemathesis: {requests} requests, {len(failures)} failing operations")  # for the issue's report
    assert not failures, "\n\n".join(failures[:20])
    assert requests >= 1000, requests
