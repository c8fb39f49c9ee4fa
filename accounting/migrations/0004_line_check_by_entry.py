"""The journal lines' statement trigger checks each entry it touched through the entry's own index.

The first version joined the statement's new rows (a transition table: no statistics) to the whole
journal, and PostgreSQL planned it as a scan of every line ever posted: 0.6 s per posting batch at
150,000 loans (bench/nightly_close.py), growing with the journal. The same three checks, driven from the
distinct entries of the statement: each entry's lines and its row are read by key."""

from django.db import migrations

CHECK_BY_ENTRY = """
CREATE OR REPLACE FUNCTION accounting_line_check() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT entry_id FROM new_rows) n
        CROSS JOIN LATERAL (SELECT SUM(l.debit) - SUM(l.credit) AS diff
                              FROM accounting_journalline l WHERE l.entry_id = n.entry_id) s
        WHERE s.diff <> 0
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: an entry''s debits must equal its credits';
    END IF;
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT entry_id, account_id FROM new_rows) n
        CROSS JOIN LATERAL (SELECT e.currency FROM accounting_journalentry e WHERE e.id = n.entry_id) e
        JOIN accounting_account a ON a.id = n.account_id
        WHERE a.currency <> '' AND a.currency <> e.currency
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: the account is kept in another currency than the entry';
    END IF;
    IF EXISTS (
        SELECT 1 FROM (SELECT DISTINCT entry_id FROM new_rows) n
        CROSS JOIN LATERAL (SELECT e.period FROM accounting_journalentry e WHERE e.id = n.entry_id) e
        JOIN accounting_accountingperiod p ON p.month = e.period AND p.status = 'closed'
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: the period is closed: post in the open month';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

CHECK_BY_JOIN = """
CREATE OR REPLACE FUNCTION accounting_line_check() RETURNS trigger AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM accounting_journalline l
        WHERE l.entry_id IN (SELECT DISTINCT entry_id FROM new_rows)
        GROUP BY l.entry_id HAVING SUM(l.debit) <> SUM(l.credit)
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: an entry''s debits must equal its credits';
    END IF;
    IF EXISTS (
        SELECT 1 FROM new_rows n
        JOIN accounting_journalentry e ON e.id = n.entry_id
        JOIN accounting_account a ON a.id = n.account_id
        WHERE a.currency <> '' AND a.currency <> e.currency
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: the account is kept in another currency than the entry';
    END IF;
    IF EXISTS (
        SELECT 1 FROM new_rows n
        JOIN accounting_journalentry e ON e.id = n.entry_id
        JOIN accounting_accountingperiod p ON p.month = e.period AND p.status = 'closed'
    ) THEN
        RAISE EXCEPTION 'accounting_journalline: the period is closed: post in the open month';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


def _on_postgres(sql: str):  # type: ignore[no-untyped-def]
    def apply(apps, schema_editor):  # type: ignore[no-untyped-def]
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return apply


class Migration(migrations.Migration):
    dependencies = [("accounting", "0003_guarantee_and_recovery_rules")]

    operations = [migrations.RunPython(_on_postgres(CHECK_BY_ENTRY), _on_postgres(CHECK_BY_JOIN))]
