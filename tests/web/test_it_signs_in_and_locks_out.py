"""Sign-in with Django auth, and django-axes' lockout after repeated failures."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.web.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_it_signs_an_officer_in_to_the_dashboard(client, officer) -> None:  # type: ignore[no-untyped-def]
    page = client.get(reverse("login")).content.decode()
    assert 'for="id_username"' in page and 'for="id_password"' in page
    response = client.post(reverse("login"), {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_it_locks_an_account_out_after_five_failures(client, officer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_ENABLED = True
    for _attempt in range(settings.AXES_FAILURE_LIMIT):
        response = client.post(reverse("login"), {"username": officer.username, "password": "wrong"})
        assert response.status_code in {200, 429}
    # Even the right password is refused while the lock lasts.
    response = client.post(reverse("login"), {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_does_not_lock_out_after_a_single_mistake(client, officer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.AXES_ENABLED = True
    client.post(reverse("login"), {"username": officer.username, "password": "wrong"})
    response = client.post(reverse("login"), {"username": officer.username, "password": PASSWORD})
    assert response.status_code == 302
