"""Errors every layer raises and the API and the web translate (the API: a 409 ``invalid_transition``)."""

from django.core.exceptions import ValidationError


class TransitionError(ValidationError):
    """An illegal state change (approve a draft, decide twice…): a clear error, nothing changed."""
