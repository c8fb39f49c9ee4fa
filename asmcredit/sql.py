"""Helpers for the statements written as SQL on the settlement post's path (``installments.services``,
``buyers.settlement_input``): a buyer's system posts one settlement per request, and for those few rows
the ORM spent more CPU building and compiling each statement than the database spent running it.

Portable between PostgreSQL and the demo's SQLite (``%s`` placeholders; a row lock, and ``::type``
casts, only on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any

from django.db import connection, models
from django.db.models.fields import NOT_PROVIDED


def is_postgres() -> bool:
    """Whether the connection is PostgreSQL (production, tests) rather than the demo's SQLite."""
    return connection.vendor == "postgresql"


def days_between(later: str, earlier: str) -> str:
    """SQL for the whole days from ``earlier`` to ``later`` (two date expressions)."""
    if is_postgres():
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def placeholders(values: Collection[Any]) -> str:
    """``%s, %s, …`` for an ``IN (…)`` of ``values`` (never empty: callers skip the condition instead)."""
    if not values:
        raise ValueError("an IN list needs at least one value")
    return ", ".join(["%s"] * len(values))


def row_lock(mode: str = "UPDATE") -> str:
    """`` FOR <mode>`` (``"UPDATE"``, ``"NO KEY UPDATE"``, ``"KEY SHARE"``) where the database locks rows
    (PostgreSQL); nothing on the demo's SQLite, which locks the whole file on the first write."""
    return f" FOR {mode}" if connection.features.has_select_for_update else ""


def insert_rows(objs: Sequence[models.Model]) -> None:
    """Insert ``objs`` (all of one model) in one ``INSERT … VALUES … RETURNING`` and set their keys.

    What ``bulk_create`` does for the settlement post's handful of rows, without its per-call setup,
    which cost more CPU than the insert: each field is prepared as a save prepares it (``pre_save`` sets
    ``auto_now`` stamps, ``get_db_prep_save`` adapts the value), a foreign key to an object saved since
    it was assigned takes that object's key, and the rows come back in the order they were sent.
    """
    if not objs:
        return
    model = type(objs[0])
    meta = model._meta
    fields = [
        f
        for f in meta.concrete_fields
        if not (f.primary_key and f.get_internal_type().endswith("AutoField")) and not getattr(f, "generated", False)
    ]
    if any(getattr(f, "db_default", NOT_PROVIDED) is not NOT_PROVIDED for f in fields):
        raise ValueError(f"{model.__name__} has a db_default field: use bulk_create, which knows them.")
    relations = [f for f in fields if isinstance(f, models.ForeignKey)]
    params: list[Any] = []
    for obj in objs:
        for relation in relations:
            related = relation.get_cached_value(obj, default=None)
            if related is not None and getattr(obj, relation.attname) is None:
                if related.pk is None:
                    raise ValueError(f"{model.__name__}.{relation.name} points at an unsaved object.")
                setattr(obj, relation.attname, related.pk)
        params.extend(field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields)
    qn = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    pk_column = qn(meta.pk.column) if meta.pk is not None else "id"
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in fields)}) "  # noqa: S608 - names from the model
        f"VALUES {', '.join([row] * len(objs))} RETURNING {pk_column}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = [key for (key,) in cursor.fetchall()]
    for obj, key in zip(objs, keys, strict=True):
        obj.pk = key
        obj._state.adding = False
        obj._state.db = connection.alias


def update_rows(model: type[models.Model], rows: list[tuple[Any, Mapping[str, Any]]], fields: list[str]) -> None:
    """Set ``fields`` of the rows ``(pk, values)`` in one ``UPDATE … FROM (VALUES …)``.

    What ``bulk_update`` does, without its CASE WHEN per field and row: for the few rows a settlement
    changes, building that expression cost more CPU than the rest of the post.
    """
    if not rows or not fields:
        return
    if connection.vendor != "postgresql":
        # The demo's SQLite has no ``::type`` casts; a plain UPDATE per row is fine at its size.
        for pk, values in rows:
            model._default_manager.filter(pk=pk).update(**{name: values[name] for name in fields})
        return
    meta = model._meta
    columns = [column for name in fields if isinstance(column := meta.get_field(name), models.Field)]
    qn = connection.ops.quote_name
    row_sql = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    assignments = ", ".join(f"{qn(c.column)} = v.{qn(c.column)}::{c.db_type(connection)}" for c in columns)
    pk_column = qn(meta.pk.column) if meta.pk is not None else "id"
    names = ", ".join(["pk_", *(qn(c.column) for c in columns)])
    params: list[Any] = []
    for pk, values in rows:
        params.append(pk)
        params.extend(c.get_db_prep_save(values[c.name], connection) for c in columns)
    sql = (
        f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names from the model, values as params
        f"FROM (VALUES {', '.join([row_sql] * len(rows))}) AS v({names}) WHERE t.{pk_column} = v.pk_"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
