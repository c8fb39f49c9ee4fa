"""Small helpers for the few queries written as SQL on hot paths (see ``installments.services``).

Portable between PostgreSQL and the demo's SQLite: plain ``%s`` placeholders, and a row lock only
where the database has one.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import connection


def placeholders(values: Collection[Any]) -> str:
    """``%s, %s, …`` for an ``IN (…)`` of ``values`` (never empty: callers skip the condition instead)."""
    if not values:
        raise ValueError("an IN list needs at least one value")
    return ", ".join(["%s"] * len(values))


def for_update() -> str:
    """`` FOR UPDATE`` where the database locks rows (PostgreSQL); nothing on SQLite, which locks the file."""
    return " FOR UPDATE" if connection.features.has_select_for_update else ""
