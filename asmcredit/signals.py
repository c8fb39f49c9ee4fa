"""Receivers of Django's signals: each one hands over to a service."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest

from asmcredit.middleware import LANGUAGE_SESSION_KEY
from asmcredit.preferences import user_language_at_sign_in


@receiver(user_logged_in, dispatch_uid="asmcredit.restore_language")
def restore_language(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """Sign-in starts a new session: it speaks the language the person chose, here or last time."""
    session = getattr(request, "session", None)
    if session is None:
        return
    language = user_language_at_sign_in(user=user, chosen=session.get(LANGUAGE_SESSION_KEY))
    if language:
        session[LANGUAGE_SESSION_KEY] = language
