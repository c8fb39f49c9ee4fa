from typing import Any

from django.contrib import admin

from asmcredit.admin import AuditedAdmin, ReadOnlyAdmin
from loans.models import (
    Collateral,
    Equipment,
    EquipmentSupplier,
    Loan,
    LoanApplication,
    LoanProduct,
    NgoPartner,
    VerificationPhoto,
    VerificationVisit,
)


@admin.register(NgoPartner)
class NgoPartnerAdmin(AuditedAdmin):
    list_display = ["name", "ruc"]


@admin.register(EquipmentSupplier)
class EquipmentSupplierAdmin(AuditedAdmin):
    list_display = ["name", "ruc", "region", "preselected_by", "is_active"]
    search_fields = ["name", "ruc"]


@admin.register(Equipment)
class EquipmentAdmin(AuditedAdmin):
    list_display = [
        "name",
        "supplier",
        "kind",
        "mercury_free",
        "mercury_avoided_kg_year",
        "price",
        "currency",
    ]
    list_filter = ["kind", "mercury_free", "supplier"]
    search_fields = ["name"]


@admin.register(LoanProduct)
class LoanProductAdmin(AuditedAdmin):
    list_display = [
        "code",
        "name",
        "purpose",
        "currency",
        "tea_pct",
        "max_tea_pct",
        "min_term",
        "max_term",
        "requires_reinfo",
        "is_active",
    ]
    list_filter = ["purpose", "currency", "is_active"]


@admin.register(LoanApplication)
class LoanApplicationAdmin(AuditedAdmin):
    list_display = ["id", "miner", "product", "amount", "term", "status", "prepared_by", "decided_by"]
    list_filter = ["status", "product"]
    search_fields = ["miner__document_number", "miner__last_names"]
    autocomplete_fields = ["miner"]
    readonly_fields = ["status", "submitted_at", "decided_by", "decided_at", "underwriting"]


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    """Loans change only through the servicing services (disburse, pay, void), which keep the
    transaction log and the audit trail; the admin shows them read-only."""

    list_display = [
        "code",
        "miner",
        "product",
        "principal",
        "outstanding_principal",
        "days_past_due",
        "status",
    ]
    list_filter = ["status", "product"]
    search_fields = ["code", "miner__document_number", "miner__last_names"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


class VerificationPhotoInline(admin.TabularInline):
    model = VerificationPhoto
    fields = readonly_fields = ("original_name", "width", "height", "created")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(VerificationVisit)
class VerificationVisitAdmin(ReadOnlyAdmin):
    """Visits are recorded only through loans.verification, which replays the loan's verification from
    them and audits it; the admin shows them."""

    list_display = ["loan", "visited_on", "delivered", "installed", "recorded_by", "created"]
    list_filter = ["delivered", "installed"]
    search_fields = ["loan__code"]
    date_hierarchy = "visited_on"
    inlines = [VerificationPhotoInline]


@admin.register(VerificationPhoto)
class VerificationPhotoAdmin(ReadOnlyAdmin):
    list_display = ["visit", "original_name", "width", "height", "created"]
    search_fields = ["visit__loan__code"]


@admin.register(Collateral)
class CollateralAdmin(ReadOnlyAdmin):
    """Collateral is recorded and changed only through loans.collateral (validated, audited before →
    after, in the loan's history): from the loan page or the API; the admin shows it."""

    list_display = ["loan", "description", "registry_entry", "registered_on", "appraised_value", "currency"]
    list_filter = ["currency"]
    search_fields = ["loan__code", "registry_entry", "policy_number"]
    list_select_related = ["loan__miner"]
