"""Helpers for the officer web application's views: role checks and pagination."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.http import HttpRequest, HttpResponse

from asmcredit import roles

STAFF = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.NGO_ANALYST, roles.LENDER_ADMIN)
OFFICERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
VERIFIERS = (roles.NGO_ANALYST, roles.LENDER_ADMIN)
# Everyone but the NGO analyst, who works with aggregates and never sees document numbers.
LENDER_STAFF = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)


def role_required(*allowed: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Signed in (else the login page) and holding one of ``allowed`` (else 403)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not roles.has_role(request.user, *allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def require_role(user: Any, *allowed: str) -> None:
    if not roles.has_role(user, *allowed):
        raise PermissionDenied


def paginate(request: HttpRequest, items: Any, per_page: int = 25) -> Page:
    return Paginator(items, per_page).get_page(request.GET.get("page"))
