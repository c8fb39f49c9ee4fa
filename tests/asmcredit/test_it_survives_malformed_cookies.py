"""A session cookie that cannot be a session key is ignored, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/api/v1/schema/", "/"])
def test_it_ignores_a_session_cookie_with_a_nul_byte(path: str) -> None:
    client = Client()
    client.cookies["sessionid"] = "abc\x00def"
    response = client.get(path)
    assert response.status_code in {200, 302, 401, 403}


@pytest.mark.django_db
def test_it_still_reads_a_well_formed_session(officer) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(officer)
    assert client.get("/").status_code == 200
