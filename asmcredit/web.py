"""Helpers for the officer web application's views: role checks and pagination.

Pagination never counts the list: ``COUNT(*)`` over 300,000 miners costs more than the page itself, and
an officer needs "next", not "page 7 of 12,000". ``paginate`` reads one row more than it shows to know
whether there is a next page, and moves through a list ordered by its model's fields with a *keyset*
(``?after=`` the last row's sort key, ``?before=`` the first's): ``WHERE (last_names, first_names, id) >
(…) ORDER BY … LIMIT 26`` starts where the index says, so the 500th page costs what the first does. A
list ordered otherwise (an expression, mixed directions, a nullable column) falls back to ``?page=N`` with
OFFSET, still without a count.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import F, Field, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.http import HttpRequest, HttpResponseBase, QueryDict

from asmcredit import roles

_Response = TypeVar("_Response", bound=HttpResponseBase)

STAFF = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.NGO_ANALYST, roles.LENDER_ADMIN, roles.TREASURY)
OFFICERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
VERIFIERS = (roles.NGO_ANALYST, roles.LENDER_ADMIN)
# Everyone but the NGO analyst, who works with aggregates and never sees document numbers.
LENDER_STAFF = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)


def role_required(*allowed: str) -> Callable[[Callable[..., _Response]], Callable[..., _Response]]:
    """Signed in (else the login page) and holding one of ``allowed`` (else 403)."""

    def decorator(view: Callable[..., _Response]) -> Callable[..., _Response]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> _Response:
            if not roles.has_role(request.user, *allowed):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return login_required(wrapped)

    return decorator


def require_role(user: Any, *allowed: str) -> None:
    if not roles.has_role(user, *allowed):
        raise PermissionDenied


# Query parameters that position a page; every other parameter (filters, search) is kept across pages.
PAGE_PARAMS = ("after", "before", "page", "start")
MAX_PAGE = 10_000  # an OFFSET list stops here rather than let a typed URL scan the table


@dataclass
class ListPage:
    """One page of a list and the links around it (querystrings that keep the list's filters)."""

    object_list: list[Any]
    start: int  # the 1-based position of the first row, for "rows 26–50"
    has_next: bool
    has_previous: bool
    next_query: str = ""
    previous_query: str = ""
    first_query: str = ""
    per_page: int = 25

    def __iter__(self) -> Iterator[Any]:
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def __bool__(self) -> bool:
        return bool(self.object_list)

    @property
    def has_other_pages(self) -> bool:
        return self.has_next or self.has_previous

    @property
    def start_index(self) -> int:
        return self.start if self.object_list else 0

    @property
    def end_index(self) -> int:
        return self.start + len(self.object_list) - 1


def paginate(request: HttpRequest, items: Any, per_page: int = 25) -> ListPage:
    """The page of ``items`` (a queryset, or any sequence) the request asks for, without counting them.

    A queryset ordered by concrete, non-null fields all in one direction (``order_by("-created", "-id")``;
    the primary key is added when the order may tie) pages by keyset; any other order by OFFSET."""
    params = request.GET.copy()
    start = _positive_int(params.get("start"), default=1)
    if isinstance(items, QuerySet):
        keyset = _keyset(items)
        if keyset is not None:
            return _keyset_page(items, keyset, params, start=start, per_page=per_page)
    return _offset_page(items, params, per_page=per_page)


def page_after(queryset: QuerySet[Any], row: Any) -> str | None:
    """The ``after`` cursor of the page that follows ``row`` in ``queryset``'s order (a link, a benchmark);
    None when the list does not page by keyset."""
    keyset = _keyset(queryset)
    return keyset.encode(row) if keyset is not None else None


@dataclass(frozen=True)
class _Keyset:
    fields: tuple[Field, ...]
    descending: bool

    def values_of(self, row: Any) -> list[Any]:
        return [getattr(row, f.attname) for f in self.fields]

    def encode(self, row: Any) -> str:
        text = json.dumps(self.values_of(row), cls=DjangoJSONEncoder, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    def decode(self, token: str | None) -> list[Any] | None:
        """The sort key a cursor carries, or None when it is missing or not one of ours (a typed URL)."""
        if not token:
            return None
        try:
            values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if not isinstance(values, list) or len(values) != len(self.fields):
                return None
            return [f.to_python(value) for f, value in zip(self.fields, values, strict=True)]
        except (ValueError, TypeError, ValidationError, binascii.Error, UnicodeDecodeError):
            return None


def _keyset(queryset: QuerySet[Any]) -> _Keyset | None:
    meta = queryset.model._meta
    ordering = list(queryset.query.order_by or (meta.ordering if queryset.query.default_ordering else []))
    if not ordering or not all(isinstance(name, str) for name in ordering):
        return None
    directions = {name.startswith("-") for name in ordering}
    if len(directions) != 1:
        return None
    fields: list[Field] = []
    for name in ordering:
        name = name.lstrip("-")
        try:
            found = meta.pk if name == "pk" else meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not getattr(found, "concrete", False) or found.null or found.is_relation:
            return None
        fields.append(found)
    if not (fields[-1].primary_key or fields[-1].unique):
        fields.append(meta.pk)
    return _Keyset(tuple(fields), descending=directions.pop())


def _after(keyset: _Keyset, values: Sequence[Any], *, forward: bool) -> Any:
    """The rows past ``values`` in the list's order (``forward``) or before them (backwards)."""
    columns = Tuple(*(F(f.attname) for f in keyset.fields))
    later = TupleLessThan if keyset.descending else TupleGreaterThan
    earlier = TupleGreaterThan if keyset.descending else TupleLessThan
    return (later if forward else earlier)(columns, tuple(values))


def _keyset_page(queryset: QuerySet[Any], keyset: _Keyset, params: QueryDict, *, start: int, per_page: int) -> ListPage:
    ordering = [("-" if keyset.descending else "") + f.attname for f in keyset.fields]
    after, before = keyset.decode(params.get("after")), keyset.decode(params.get("before"))
    if before is not None:
        reverse = [name[1:] if name.startswith("-") else "-" + name for name in ordering]
        rows = list(queryset.filter(_after(keyset, before, forward=False)).order_by(*reverse)[: per_page + 1])
        has_previous, has_next = len(rows) > per_page, True
        rows = rows[:per_page][::-1]
        start = max(start, 1)
    else:
        rows = list(
            (queryset.filter(_after(keyset, after, forward=True)) if after is not None else queryset).order_by(
                *ordering
            )[: per_page + 1]
        )
        has_previous, has_next = after is not None, len(rows) > per_page
        rows = rows[:per_page]
        if after is None:
            start = 1
    if not has_previous:
        start = 1
    page = ListPage(rows, start=start, has_next=has_next, has_previous=has_previous, per_page=per_page)
    if rows:
        page.next_query = _query(params, after=keyset.encode(rows[-1]), start=start + len(rows))
        page.previous_query = _query(params, before=keyset.encode(rows[0]), start=max(start - per_page, 1))
    page.first_query = _query(params)
    return page


def _offset_page(items: Any, params: QueryDict, *, per_page: int) -> ListPage:
    number = min(_positive_int(params.get("page"), default=1), MAX_PAGE)
    offset = (number - 1) * per_page
    rows = list(items[offset : offset + per_page + 1])
    page = ListPage(
        rows[:per_page], start=offset + 1, has_next=len(rows) > per_page, has_previous=number > 1, per_page=per_page
    )
    page.next_query = _query(params, page=str(number + 1))
    page.previous_query = _query(params, page=str(number - 1)) if number > 2 else _query(params)
    page.first_query = _query(params)
    return page


def _query(params: QueryDict, **position: Any) -> str:
    """``params`` without the old position, with the new one: the querystring of another page."""
    query = params.copy()
    for name in PAGE_PARAMS:
        query.pop(name, None)
    for name, value in position.items():
        if name == "start" and value == 1:
            continue
        query[name] = str(value)
    return query.urlencode()


def _positive_int(value: Any, *, default: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return default
    return number if number >= 1 else default
