"""The language a person picks is theirs: it outlives signing out, and nobody else gets it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from asmcredit.models import AuditEvent, UserPreference
from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db

ENGLISH, SPANISH = "Dashboard", "Inicio"  # the navigation's first entry


def _sign_in(client: Client, user: Any) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "the sign-in should succeed"


def _home(client: Client) -> str:
    return client.get(reverse("dashboard")).content.decode()


def test_it_speaks_the_chosen_language_again_after_signing_out_and_in(officer: Any, approver: Any) -> None:
    client = Client()
    _sign_in(client, officer)
    assert SPANISH in _home(client)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert ENGLISH in _home(client)

    client.post(reverse("logout"))
    assert "Iniciar sesión" in client.get(reverse("login")).content.decode()  # a new, anonymous session
    _sign_in(client, officer)
    home = _home(client)
    assert ENGLISH in home and '<html lang="en' in home

    someone_else = Client()
    _sign_in(someone_else, approver)
    assert SPANISH in _home(someone_else)

    assert UserPreference.objects.get(user=officer).language == "en"
    assert not UserPreference.objects.filter(user=approver).exists()
    change = AuditEvent.objects.get(action="user.language")
    assert change.actor == officer and change.after == {"language": "en"}


def test_it_keeps_spanish_chosen_again(officer: Any) -> None:
    client = Client()
    _sign_in(client, officer)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    client.post(reverse("set_language"), {"language": "es", "next": "/"})
    client.post(reverse("logout"))
    _sign_in(client, officer)
    assert SPANISH in _home(client)
    assert AuditEvent.objects.filter(action="user.language").count() == 2


def test_it_keeps_a_choice_made_on_the_sign_in_page(officer: Any) -> None:
    client = Client()
    client.post(reverse("set_language"), {"language": "en", "next": reverse("login")})
    assert "Sign in" in client.get(reverse("login")).content.decode()  # anonymous: the session only
    assert not UserPreference.objects.exists()

    _sign_in(client, officer)
    assert ENGLISH in _home(client)
    assert UserPreference.objects.get(user=officer).language == "en"
