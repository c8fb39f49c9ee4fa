"""The chart of accounts, role mappings and posting rules are edited here (effective-dated: a change is a
new row from a date on); every add, change or delete is audited with the row before and after. The
journal, periods and tie-outs are read-only: they change only through the posting job and the audited
month-end services."""

from __future__ import annotations

from django.contrib import admin

from accounting.models import (
    Account,
    AccountingPeriod,
    JournalEntry,
    JournalLine,
    PostingMark,
    PostingRule,
    RoleMapping,
    TieOut,
)
from asmcredit.admin import AuditedAdmin, ReadOnlyAdmin


@admin.register(Account)
class AccountAdmin(AuditedAdmin):
    list_display = ["code", "name", "kind", "currency", "sbs_code", "active"]
    list_filter = ["kind", "currency", "active"]
    search_fields = ["code", "name"]


@admin.register(RoleMapping)
class RoleMappingAdmin(AuditedAdmin):
    list_display = ["role", "currency", "account", "effective_from"]
    list_filter = ["currency", "role"]
    autocomplete_fields = ["account"]


@admin.register(PostingRule)
class PostingRuleAdmin(AuditedAdmin):
    list_display = ["event", "component", "debit_role", "credit_role", "effective_from"]
    list_filter = ["event"]
    search_fields = ["event", "component", "debit_role", "credit_role"]


class JournalLineInline(admin.TabularInline):
    model = JournalLine
    extra = 0
    can_delete = False
    readonly_fields = ["account", "loan", "debit", "credit"]

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "value_date", "source_value_date", "event", "currency", "loan", "memo"]
    list_filter = ["event", "currency", "period"]
    search_fields = ["loan__code", "memo"]
    raw_id_fields = ["loan"]
    inlines = [JournalLineInline]


@admin.register(AccountingPeriod)
class AccountingPeriodAdmin(ReadOnlyAdmin):
    list_display = ["month", "status", "closed_by", "closed_at"]


@admin.register(TieOut)
class TieOutAdmin(ReadOnlyAdmin):
    list_display = ["period", "currency", "ok", "as_of", "run_by", "run_at"]
    list_filter = ["ok", "currency"]


@admin.register(PostingMark)
class PostingMarkAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "created_at", "completed_at", "max_transaction_id", "max_allocation_id", "close_id"]
