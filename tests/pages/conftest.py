"""Staff pages walked with the test client: plain static files, cookies over http."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _page_settings(settings):  # type: ignore[no-untyped-def]
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    # The personas' passwords are hashed in every test; the production hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
