"""Read-only: reversal requests, contacts, promises, guarantee enrolments and claims change only through
the audited services. Guarantee funds, their coverage rules and the products they cover are the lender's
data, edited here with an audit row per change."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from asmcredit.admin import AuditedAdmin, ReadOnlyAdmin
from lifecycle.guarantees import guarantee_enrol_loans
from lifecycle.models import (
    BookImport,
    BookImportLine,
    CollectionContact,
    GuaranteeClaim,
    GuaranteeCoverageRule,
    GuaranteedProduct,
    GuaranteeEnrolment,
    GuaranteeFund,
    GuaranteeRemittance,
    PromiseToPay,
    ReversalRequest,
)


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


@admin.register(GuaranteeFund)
class GuaranteeFundAdmin(AuditedAdmin):
    list_display = ["name", "code", "claim_threshold_dpd", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["name", "code"]
    actions = ["enrol_loans"]

    @admin.action(description=_("Enrol the active loans of the fund's products not enrolled yet"))
    def enrol_loans(self, request: Any, queryset: Any) -> None:
        for fund in queryset:
            run = guarantee_enrol_loans(fund=fund, actor=request.user)
            self.message_user(
                request,
                ngettext("%(fund)s: %(count)d loan enrolled.", "%(fund)s: %(count)d loans enrolled.", len(run.enrolled))
                % {"fund": fund.name, "count": len(run.enrolled)},
                messages.SUCCESS,
            )
            for code, reason in run.refused[:20]:
                self.message_user(request, f"{code}: {reason}", messages.WARNING)


@admin.register(GuaranteeCoverageRule)
class GuaranteeCoverageRuleAdmin(AuditedAdmin):
    list_display = [
        "fund",
        "product",
        "purpose",
        "min_term_months",
        "max_term_months",
        "coverage_pct",
        "effective_from",
    ]
    list_filter = ["fund", "purpose"]
    date_hierarchy = "effective_from"


@admin.register(GuaranteedProduct)
class GuaranteedProductAdmin(AuditedAdmin):
    list_display = ["product", "fund"]
    list_filter = ["fund"]


@admin.register(GuaranteeEnrolment)
class GuaranteeEnrolmentAdmin(ReadOnlyAdmin):
    list_display = ["loan", "fund", "coverage_pct", "enrolled_on", "enrolled_by"]
    list_filter = ["fund"]
    search_fields = ["loan__code"]
    raw_id_fields = ["loan", "rule"]


@admin.register(GuaranteeClaim)
class GuaranteeClaimAdmin(ReadOnlyAdmin):
    list_display = ["loan", "fund", "status", "filed_on", "amount", "currency", "paid_on", "paid_amount"]
    list_filter = ["status", "fund"]
    search_fields = ["loan__code", "bank_reference"]
    raw_id_fields = ["loan"]


@admin.register(GuaranteeRemittance)
class GuaranteeRemittanceAdmin(ReadOnlyAdmin):
    list_display = ["claim", "amount", "remitted_on", "reference", "recorded_by"]
    search_fields = ["claim__loan__code", "reference"]
    raw_id_fields = ["claim"]
