"""Miner search: a document number through its own index; names accent- and case-insensitive through
PostgreSQL's ``unaccent`` and ``pg_trgm`` (see ``miners.search``).

``name_folded`` is the name folded once, when the row is written (a stored generated column over an
IMMUTABLE wrapper — ``unaccent`` itself is only STABLE, since its dictionary could change, so it can be
neither indexed nor stored directly), and the GIN trigram index is on it: a trigram match is lossy, so
every candidate row is checked again, and comparing a stored text costs far less than folding the name
again for each (40 ms → a few for 2,000 candidates). The column is PostgreSQL's alone, unknown to the
ORM's model (which never writes it); on the demo's SQLite this step does nothing and ``miners.search``
folds names in Python.
"""

from django.db import migrations, models

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """CREATE OR REPLACE FUNCTION asm_unaccent(text) RETURNS text
       LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
       AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$""",
    """ALTER TABLE miners_miner ADD COLUMN IF NOT EXISTS name_folded text
       GENERATED ALWAYS AS (asm_unaccent(lower(last_names || ' ' || first_names))) STORED""",
    "CREATE INDEX IF NOT EXISTS miner_name_folded_trgm ON miners_miner USING gin (name_folded gin_trgm_ops)",
]
BACKWARD = [
    "DROP INDEX IF EXISTS miner_name_folded_trgm",
    "ALTER TABLE miners_miner DROP COLUMN IF EXISTS name_folded",
    "DROP FUNCTION IF EXISTS asm_unaccent(text)",
]


def _run(statements):  # type: ignore[no-untyped-def]
    def run(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("miners", "0003_miner_document_number_expiry")]

    operations = [
        migrations.AddIndex(
            model_name="miner",
            index=models.Index(fields=["document_number"], name="miner_document_number"),
        ),
        migrations.RunPython(_run(FORWARD), _run(BACKWARD)),
    ]
