"""Read-only: reversal requests change only through the audited two-person services."""

from __future__ import annotations

from django.contrib import admin

from asmcredit.admin import ReadOnlyAdmin
from lifecycle.models import ReversalRequest


@admin.register(ReversalRequest)
class ReversalRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "loan", "original", "status", "requested_by", "requested_at", "decided_by", "decided_at"]
    list_filter = ["status"]
    search_fields = ["loan__code", "reason"]
    raw_id_fields = ["loan", "original", "reversal"]
