"""Append-only tables enforced by PostgreSQL itself (the transaction log, the audit trail): a trigger
refuses every UPDATE and DELETE, whoever sends it, so a correction is always a new row. TRUNCATE, used by
test teardown, is not row-level. The demo's SQLite is left as it is. Used by migrations."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def append_only(*, table: str, function: str, trigger: str, message: str) -> migrations.RunPython:
    """The migration operation that makes ``table`` append-only (and its reverse)."""
    forward_sql = f"""
    CREATE OR REPLACE FUNCTION {function}() RETURNS trigger AS $$
    BEGIN
        RAISE EXCEPTION '{message}';
    END;
    $$ LANGUAGE plpgsql;
    CREATE TRIGGER {trigger}
        BEFORE UPDATE OR DELETE ON {table}
        FOR EACH ROW EXECUTE FUNCTION {function}();
    """
    backward_sql = f"""
    DROP TRIGGER IF EXISTS {trigger} ON {table};
    DROP FUNCTION IF EXISTS {function}();
    """

    def run(sql: str) -> Any:
        def apply(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)

        return apply

    return migrations.RunPython(run(forward_sql), run(backward_sql))
