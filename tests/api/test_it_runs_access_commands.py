"""create_user, create_api_token and create_api_key: the way people and buyers get credentials."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from asmcredit.models import StaffToken
from asmcredit.tokens import hash_staff_token
from buyers.models import ApiKey, hash_api_key
from tests.factories import BuyerFactory

PASSWORD = "correct-horse-battery-9"


def test_it_creates_a_user_with_a_role(db) -> None:
    call_command("create_user", "rita.approver", "--role", "credit_approver", "--password", PASSWORD, stdout=StringIO())
    user = get_user_model().objects.get(username="rita.approver")
    assert user.check_password(PASSWORD)
    assert list(user.groups.values_list("name", flat=True)) == ["credit_approver"]


def test_it_refuses_to_create_a_user_without_a_password_when_it_cannot_prompt(db) -> None:
    with pytest.raises(CommandError, match="No password"):
        call_command("create_user", "rita", "--role", "loan_officer", "--noinput")
    assert not get_user_model().objects.filter(username="rita").exists()


def test_it_exits_non_zero_without_a_password_from_the_shell() -> None:
    # A real process with no terminal on stdin: it must not hang on a prompt, and must say why.
    result = subprocess.run(
        [sys.executable, "manage.py", "create_user", "rita", "--role", "loan_officer", "--skip-checks"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=os.environ,
        check=False,
        timeout=60,
    )
    assert result.returncode != 0
    assert "No password" in result.stderr


def test_it_refuses_a_weak_password(db) -> None:
    with pytest.raises(CommandError, match="Password rejected"):
        call_command("create_user", "rita", "--role", "loan_officer", "--password", "123")


def test_it_refuses_an_unknown_role(db) -> None:
    with pytest.raises(CommandError):
        call_command("create_user", "rita", "--role", "boss", "--password", PASSWORD)


def test_it_prints_a_staff_token(officer) -> None:
    out = StringIO()
    call_command("create_api_token", "--user", officer.username, stdout=out)
    # Only the hash is stored: the printed key is the one whose hash is on record.
    assert StaffToken.objects.get(user=officer).hashed_key == hash_staff_token(out.getvalue().strip())


def test_it_rotates_a_staff_token(officer) -> None:
    first, second = StringIO(), StringIO()
    call_command("create_api_token", "--user", officer.username, stdout=first)
    call_command("create_api_token", "--user", officer.username, "--rotate", stdout=second)
    assert first.getvalue() != second.getvalue()
    assert StaffToken.objects.filter(user=officer, revoked_at__isnull=True).count() == 1


def test_it_refuses_a_token_for_a_user_without_a_role(django_user_model) -> None:
    django_user_model.objects.create_user("sin.rol", password=PASSWORD)
    with pytest.raises(CommandError, match="no role"):
        call_command("create_api_token", "--user", "sin.rol")


def test_it_issues_a_buyer_key_shown_once_and_stored_hashed(db) -> None:
    buyer = BuyerFactory()
    out = StringIO()
    call_command("create_api_key", "--buyer", buyer.ruc, "--name", "ERP", stdout=out, stderr=StringIO())
    raw = out.getvalue().strip()
    key = ApiKey.objects.get(buyer=buyer)
    assert key.name == "ERP"
    assert key.hashed_key == hash_api_key(raw)
    assert raw not in {key.prefix, key.hashed_key}


def test_it_refuses_a_key_for_an_unknown_ruc(db) -> None:
    with pytest.raises(CommandError, match="No buyer"):
        call_command("create_api_key", "--buyer", "20000000001")
