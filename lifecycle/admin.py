"""Read-only: reversal requests, contacts and promises change only through the audited services."""

from __future__ import annotations

from django.contrib import admin

from asmcredit.admin import ReadOnlyAdmin
from lifecycle.models import BookImport, BookImportLine, CollectionContact, PromiseToPay, ReversalRequest


@admin.register(ReversalRequest)
class ReversalRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "original", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["loan__code", "reason"]
    raw_id_fields = ["loan", "original", "reversal"]


@admin.register(CollectionContact)
class CollectionContactAdmin(ReadOnlyAdmin):
    list_display = ["loan", "contacted_on", "channel", "outcome", "recorded_by"]
    list_filter = ["channel", "outcome"]
    search_fields = ["loan__code", "note"]
    raw_id_fields = ["loan"]


@admin.register(PromiseToPay)
class PromiseToPayAdmin(ReadOnlyAdmin):
    list_display = ["loan", "made_on", "promised_on", "amount", "currency", "recorded_by"]
    search_fields = ["loan__code"]
    raw_id_fields = ["loan", "contact"]


@admin.register(BookImport)
class BookImportAdmin(ReadOnlyAdmin):
    """Book migrations as they ran (the files themselves are left out of the page: they can be large)."""

    list_display = ["id", "mode", "status", "cutoff", "file_name", "loans", "tied", "imported", "started_at"]
    list_filter = ["mode", "status"]
    exclude = ["loans_text", "payments_text", "schedule_text"]
    raw_id_fields = ["confirms", "job"]


@admin.register(BookImportLine)
class BookImportLineAdmin(ReadOnlyAdmin):
    list_display = ["batch", "row", "lender_number", "outcome", "loan"]
    list_filter = ["outcome"]
    search_fields = ["lender_number", "loan__code"]
    raw_id_fields = ["batch", "loan"]
