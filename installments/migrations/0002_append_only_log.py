"""Make the transaction log append-only in PostgreSQL itself, not only in the ORM: an UPDATE or
DELETE of a loan transaction raises. (TRUNCATE, used by test teardown, is not row-level.)"""

from django.db import migrations

from asmcredit.append_only import append_only


class Migration(migrations.Migration):
    dependencies = [("installments", "0001_initial")]
    operations = [
        append_only(
            table="installments_loantransaction",
            function="asm_forbid_transaction_change",
            trigger="loantransaction_append_only",
            message="installments_loantransaction is append-only: record a reversal instead",
        )
    ]
