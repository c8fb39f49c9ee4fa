"""Staff API tokens: shown once, stored as a hash, expiring after STAFF_TOKEN_DAYS, revocable."""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib
from io import StringIO

import pytest
from django.apps import apps
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.models import AuditEvent, StaffToken


def _issue(username: str, *args: str) -> str:
    out = StringIO()
    call_command("create_api_token", "--user", username, *args, stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def _get(raw: str, path: str = "/api/v1/miners/") -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client.get(path).status_code


def test_it_prints_the_token_once_and_stores_only_its_hash(officer) -> None:
    raw = _issue(officer.username)
    token = StaffToken.objects.get(user=officer)
    assert token.hashed_key == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in {token.prefix, token.hashed_key, token.name}
    assert raw.startswith(token.prefix)
    assert _get(raw) == 200
    assert AuditEvent.objects.filter(action="api_token.issue", object_id=str(token.pk)).exists()


def test_it_expires_a_token_after_staff_token_days(officer, settings) -> None:
    settings.STAFF_TOKEN_DAYS = 7
    before = timezone.now()
    _issue(officer.username)
    expires_at = StaffToken.objects.get(user=officer).expires_at
    assert before + dt.timedelta(days=7) <= expires_at <= timezone.now() + dt.timedelta(days=7)


def test_it_issues_a_token_for_the_days_asked(officer) -> None:
    _issue(officer.username, "--days", "30")
    expires_at = StaffToken.objects.get(user=officer).expires_at
    assert dt.timedelta(days=29, hours=23) < expires_at - timezone.now() <= dt.timedelta(days=30)


def test_it_refuses_zero_days(officer) -> None:
    with pytest.raises(CommandError, match="at least 1"):
        _issue(officer.username, "--days", "0")
    assert not StaffToken.objects.exists()


def test_it_stops_accepting_a_token_once_it_expires(officer) -> None:
    raw = _issue(officer.username, "--days", "1")
    StaffToken.objects.filter(user=officer).update(expires_at=timezone.now() - dt.timedelta(minutes=1))
    assert _get(raw) == 401


def test_it_revokes_every_token_of_a_user(officer, approver) -> None:
    first, second = _issue(officer.username), _issue(officer.username, "--name", "ERP")
    theirs = _issue(approver.username)
    assert _issue(officer.username, "--revoke") == ""  # nothing to show
    assert (_get(first), _get(second), _get(theirs)) == (401, 401, 200)
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 2


def test_it_rotates_a_token(officer) -> None:
    old = _issue(officer.username)
    new = _issue(officer.username, "--rotate")
    assert old != new
    assert (_get(old), _get(new)) == (401, 200)
    assert StaffToken.objects.filter(user=officer, revoked_at__isnull=True).count() == 1


def test_it_lets_an_admin_revoke_a_token_but_never_read_one(officer, admin_user, client) -> None:
    raw = _issue(officer.username)
    token = StaffToken.objects.get(user=officer)
    client.force_login(admin_user)
    changelist = reverse("admin:asmcredit_stafftoken_changelist")
    page = client.get(changelist)
    assert page.status_code == 200
    assert raw not in page.content.decode()
    response = client.post(changelist, {"action": "revoke", "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert _get(raw) == 401


def test_it_hashes_the_plain_text_tokens_of_drf_authtoken_on_migrating(officer) -> None:
    # Existing clients keep their key: the migration keeps its hash and deletes the clear text.
    from rest_framework.authtoken.models import Token

    legacy = Token.objects.create(user=officer).key
    migration = importlib.import_module("asmcredit.migrations.0004_staff_token")
    migration.hash_legacy_tokens(apps, None)
    assert not Token.objects.exists()
    assert StaffToken.objects.get(user=officer).hashed_key == hashlib.sha256(legacy.encode()).hexdigest()
    assert _get(legacy) == 200
