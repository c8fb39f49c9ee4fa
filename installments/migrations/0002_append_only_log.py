"""Make the transaction log append-only in PostgreSQL itself, not only in the ORM: an UPDATE or
DELETE of a loan transaction raises. (TRUNCATE, used by test teardown, is not row-level.)"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION asm_forbid_transaction_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'installments_loantransaction is append-only: record a reversal instead';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER loantransaction_append_only
    BEFORE UPDATE OR DELETE ON installments_loantransaction
    FOR EACH ROW EXECUTE FUNCTION asm_forbid_transaction_change();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS loantransaction_append_only ON installments_loantransaction;
DROP FUNCTION IF EXISTS asm_forbid_transaction_change();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("installments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
