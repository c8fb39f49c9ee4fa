from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.utils import timezone

from asmcredit.admin import AuditedAdmin
from asmcredit.audit import audit_record
from buyers.models import ApiKey, Buyer, BuyerUser, MaquilaScale, Settlement, SupplierRelationship


class MaquilaInline(admin.TabularInline):
    model = MaquilaScale
    extra = 0


@admin.register(Buyer)
class BuyerAdmin(AuditedAdmin):
    list_display = ["name", "ruc", "region", "kind", "remittance_days", "is_active"]
    list_filter = ["kind", "region", "is_active"]
    search_fields = ["name", "ruc"]
    inlines = [MaquilaInline]


@admin.register(SupplierRelationship)
class SupplierRelationshipAdmin(AuditedAdmin):
    list_display = ["miner", "buyer", "since", "agreement_kind", "status"]
    list_filter = ["buyer", "status", "agreement_kind"]
    autocomplete_fields = ["miner", "buyer"]


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    """Read-only here: settlements are recorded through the servicing services (API, CSV, UI), which
    compute the values and the withholding together."""

    list_display = ["lot_code", "buyer", "miner", "settled_on", "dry_tonnes", "payable_usd", "status"]
    list_filter = ["buyer", "status", "source"]
    search_fields = ["lot_code", "miner__document_number", "miner__last_names"]
    date_hierarchy = "settled_on"

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(BuyerUser)
class BuyerUserAdmin(AuditedAdmin):
    list_display = ["user", "buyer"]
    autocomplete_fields = ["buyer"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["buyer", "name", "prefix", "created", "last_used_at", "revoked_at"]
    list_filter = ["buyer"]
    fields = ["buyer", "name", "prefix", "created", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request: Any, obj: Any = None) -> list[str]:
        return [*self.readonly_fields, "buyer", "name"] if obj else list(self.readonly_fields)

    def save_model(self, request: Any, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            return
        from buyers.services import api_key_issue

        raw, key = api_key_issue(buyer=obj.buyer, name=obj.name, actor=request.user)
        obj.pk = key.pk
        obj.prefix = key.prefix
        # Shown once: only the hash is stored.
        messages.warning(request, f"New API key (copy it now, it will not be shown again): {raw}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request: Any, queryset: Any) -> None:
        with transaction.atomic():
            for key in queryset.filter(revoked_at__isnull=True):
                key.revoked_at = timezone.now()
                key.save(update_fields=["revoked_at", "updated"])
                audit_record(actor=request.user, action="api_key.revoke", obj=key)


@admin.register(MaquilaScale)
class MaquilaScaleAdmin(AuditedAdmin):
    list_display = ["buyer", "min_grade_oz_tc", "max_grade_oz_tc", "maquila_usd_tc"]
    list_filter = ["buyer"]
