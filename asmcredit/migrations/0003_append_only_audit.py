"""Make the audit trail append-only in PostgreSQL itself, as the transaction log is (installments 0002):
an UPDATE or DELETE of an audit event raises, whoever sends it. A correction is a new event."""

from django.db import migrations

from asmcredit.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("asmcredit", "0002_roles")]
    operations = [
        append_only(
            table="asmcredit_auditevent",
            function="asm_forbid_audit_change",
            trigger="auditevent_append_only",
            message="asmcredit_auditevent is append-only: record a new event instead",
        )
    ]
