"""Small helpers for the officer templates: roles, badges, masked identifiers, the nav."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.safestring import mark_safe

from asmcredit import roles

register = template.Library()


@register.filter
def has_role(user: Any, names: str) -> bool:
    """``{% if user|has_role:"loan_officer,lender_admin" %}``."""
    return roles.has_role(user, *[name.strip() for name in names.split(",") if name.strip()])


@register.filter
def sees_documents(user: Any) -> bool:
    """NGO analysts work with aggregates: they never see document numbers."""
    return roles.has_role(user, roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)


@register.simple_tag(takes_context=True)
def document(context: dict[str, Any], value: str, kind: str = "") -> str:
    """A document number, or a mask for users who may not see it."""
    if not value:
        return "—"
    user = context.get("user")
    if sees_documents(user):
        return f"{kind} {value}".strip()
    return f"{kind} ••••".strip()


@register.filter
def badge_class(value: Any, prefix: str = "st") -> str:
    return f"{prefix}-{str(value or '').lower()}"


@register.simple_tag(takes_context=True)
def nav_current(context: dict[str, Any], section: str) -> str:
    """The attribute that marks the current section's link (markup: a simple tag's output is escaped)."""
    return mark_safe('aria-current="page"') if context.get("nav") == section else ""  # noqa: S308 - a constant


@register.simple_tag
def url_or_empty(name: str, *args: Any) -> str:
    """A URL that another app may not expose yet (the cronograma PDF): empty instead of an error."""
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def isodate(value: Any) -> Any:
    """An ISO date string (as frozen in JSON) → a date, so ``|date:"d/m/Y"`` can format it."""
    import datetime as dt

    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        return value


@register.filter
def role_names(user: Any) -> list[str]:
    return sorted(roles.user_roles(user))
