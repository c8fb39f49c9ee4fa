"""A person's own choices for the web app, kept across sign-ins: today the language of the pages.

The session carries the language of the pages while a person is signed in
(``asmcredit.middleware.UserLanguageMiddleware`` reads it on every request, before anyone is
authenticated); the ``UserPreference`` row brings it back into a new session at sign-in
(``asmcredit.signals``).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record
from asmcredit.models import UserPreference


def user_language(*, user: Any) -> str | None:
    """The language ``user`` chose last, or None if they never chose one."""
    return UserPreference.objects.filter(user=user).values_list("language", flat=True).first()


def user_language_set(*, user: Any, language: str) -> UserPreference:
    """Keep ``language`` as ``user``'s language of the pages (audited when it changes)."""
    if language not in UserPreference.Language.values:
        raise ValidationError({"language": _("Choose Spanish or English.")})
    with transaction.atomic():
        preference, created = UserPreference.objects.select_for_update().get_or_create(
            user=user, defaults={"language": language}
        )
        before = None if created else preference.language
        if before == language:
            return preference
        if not created:
            preference.language = language
            preference.save(update_fields=["language", "updated"])
        audit_record(
            actor=user,
            action="user.language",
            obj=preference,
            before={"language": before} if before else None,
            after={"language": language},
        )
    return preference


def user_language_at_sign_in(*, user: Any, chosen: str | None) -> str | None:
    """The language ``user``'s new session speaks. One ``chosen`` on the sign-in page is theirs (a
    session starts empty after a sign-out) and is kept as their choice; otherwise the one they chose
    last, or None if they never chose."""
    if chosen in UserPreference.Language.values:
        user_language_set(user=user, language=chosen)
        return chosen
    return user_language(user=user)
