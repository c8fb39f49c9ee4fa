"""Accounts at go-live: long passwords, lockout per account across addresses, an idle timeout on
sessions, and a Content-Security-Policy on every page and API answer."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from config.demo import DEMO_PASSWORD
from tests.asmcredit.test_it_settings import ROOT

PASSWORD = "correct-horse-battery-9"  # the personas' password (tests/conftest.py)

pytestmark = pytest.mark.django_db


def test_it_refuses_a_password_shorter_than_twelve_characters() -> None:
    with pytest.raises(ValidationError, match="at least 12 characters"):
        validate_password("Qx7-mineral")  # 11 characters, otherwise unremarkable


def test_it_refuses_common_passwords_and_ones_like_the_username(django_user_model: Any) -> None:
    with pytest.raises(ValidationError):
        validate_password("password1234")
    user = django_user_model(username="rosaquispe2025", first_name="Rosa")
    with pytest.raises(ValidationError):
        validate_password("rosaquispe2025!", user=user)


def test_it_accepts_the_demo_password() -> None:
    validate_password(DEMO_PASSWORD)


def test_it_keeps_create_user_from_setting_a_short_password() -> None:
    with pytest.raises(CommandError):
        call_command("create_user", "rita", "--role", "loan_officer", "--password", "Qx7-mineral", stdout=StringIO())
    call_command("create_user", "rita", "--role", "loan_officer", "--password", "Qx7-mineral-ore", stdout=StringIO())


def _attempt(username: str, password: str, address: str) -> Any:
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": password})


def test_it_locks_an_account_out_after_failures_from_many_addresses(officer: Any, settings: Any) -> None:
    settings.AXES_ENABLED = True
    for n in range(settings.AXES_FAILURE_LIMIT):
        assert _attempt(officer.username, "wrong", f"203.0.113.{n + 1}").status_code in {200, 429}
    # From yet another address, even the right password is refused while the lock lasts.
    assert _attempt(officer.username, PASSWORD, "198.51.100.7").status_code == 429


def test_it_still_locks_one_address_guessing_one_account(officer: Any, settings: Any) -> None:
    settings.AXES_ENABLED = True
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _attempt(officer.username, "wrong", "203.0.113.9")
    assert _attempt(officer.username, PASSWORD, "203.0.113.9").status_code == 429


def test_it_does_not_lock_other_accounts(officer: Any, approver: Any, settings: Any) -> None:
    settings.AXES_ENABLED = True
    for n in range(settings.AXES_FAILURE_LIMIT):
        _attempt(officer.username, "wrong", f"203.0.113.{n + 1}")
    assert _attempt(approver.username, PASSWORD, "203.0.113.1").status_code == 302


def _max_age(response: Any) -> int:
    return int(response.cookies[settings.SESSION_COOKIE_NAME]["max-age"])


def test_it_ends_a_session_after_thirty_idle_minutes_and_renews_it_on_each_request(
    client: Client, officer: Any
) -> None:
    login = client.post(reverse("login"), {"username": officer.username, "password": PASSWORD})
    assert login.status_code == 302
    assert _max_age(login) == 30 * 60
    # Any later request sends the cookie again, so the 30 minutes count from the last request.
    page = client.get(reverse("dashboard"))
    assert page.status_code == 200
    assert _max_age(page) == 30 * 60
    assert 29 * 60 < client.session.get_expiry_age() <= 30 * 60


def _session_cookie_age(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY", "DATABASE_URL"}}
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django; from django.conf import settings; django.setup(); print(settings.SESSION_COOKIE_AGE)",
        ],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true", **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_it_reads_the_idle_timeout_from_the_environment() -> None:
    result = _session_cookie_age(SESSION_IDLE_MINUTES="15")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "900"
    refused = _session_cookie_age(SESSION_IDLE_MINUTES="soon")
    assert refused.returncode != 0
    assert "SESSION_IDLE_MINUTES" in refused.stderr


def _csp(response: Any) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


def _assert_strict(response: Any) -> None:
    policy = _csp(response)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["script-src"] == "script-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"


def test_it_sends_a_csp_on_the_login_page(client: Client) -> None:
    _assert_strict(client.get(reverse("login")))


def test_it_sends_a_csp_on_the_dashboard(client: Client, officer: Any) -> None:
    client.force_login(officer)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    _assert_strict(response)


def test_it_sends_a_csp_on_api_answers(officer_api: APIClient) -> None:
    _assert_strict(officer_api.get("/api/v1/miners/"))
    _assert_strict(officer_api.get("/api/v1/no-such-thing/"))


def test_it_serves_pages_without_inline_scripts(client: Client, officer: Any, officer_api: APIClient) -> None:
    """What the policy forbids must not be needed: no inline <script> bodies or on…= handlers."""
    client.force_login(officer)
    for path in (reverse("login"), reverse("dashboard"), reverse("loans:applications")):
        page = client.get(path).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), path
        assert not re.search(r"\son[a-z]+\s*=", page), path
    docs = officer_api.get("/api/v1/docs/").content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", docs)
