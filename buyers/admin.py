from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.forms.models import BaseInlineFormSet
from django.utils import timezone

from asmcredit.admin import AuditedAdmin
from asmcredit.audit import audit_record
from buyers.models import (
    ApiKey,
    Buyer,
    BuyerTerms,
    BuyerUser,
    FairPriceReference,
    MaquilaBand,
    Settlement,
    SupplierRelationship,
)
from buyers.terms import BandError, bands_text, validate_bands
from buyers.terms import MaquilaBand as Band


class MaquilaBandFormSet(BaseInlineFormSet):
    """The bands of one version, checked together as the staff page and the API check them."""

    def clean(self) -> None:
        super().clean()
        rows = [
            f.cleaned_data
            for f in self.forms
            if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get("min_grade_oz_tc") is not None
        ]
        bands = sorted(
            (Band(row["min_grade_oz_tc"], row.get("max_grade_oz_tc"), row["maquila_usd_tc"]) for row in rows),
            key=lambda band: band.min_grade_oz_tc,
        )
        try:
            validate_bands(bands)
        except BandError as exc:
            raise forms.ValidationError(exc.message) from exc


class MaquilaBandInline(admin.TabularInline):
    model = MaquilaBand
    formset = MaquilaBandFormSet
    extra = 0


class BuyerTermsInline(admin.TabularInline):
    """The buyer's agreed-terms versions, read here; a version (with its bands) is added on its own page."""

    model = BuyerTerms
    extra = 0
    fields = ("effective_from", "commercial_deduction_usd_oz", "recovery", "note")
    readonly_fields = ("effective_from", "commercial_deduction_usd_oz", "recovery", "note")
    show_change_link = True

    def has_add_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(Buyer)
class BuyerAdmin(AuditedAdmin):
    list_display = ["name", "ruc", "region", "kind", "remittance_days", "is_active"]
    list_filter = ["kind", "region", "is_active"]
    search_fields = ["name", "ruc"]
    inlines = [BuyerTermsInline]


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


@admin.register(BuyerTerms)
class BuyerTermsAdmin(AuditedAdmin):
    """A version of a buyer's agreed terms with its maquila bands. The staff page and the API add versions
    through ``buyer_terms_add`` (which checks the bands); here the admin corrects one, audited."""

    list_display = ["buyer", "effective_from", "commercial_deduction_usd_oz", "recovery", "note"]
    list_filter = ["buyer"]
    date_hierarchy = "effective_from"
    autocomplete_fields = ["buyer"]
    readonly_fields = ["created_by"]
    inlines = [MaquilaBandInline]

    def save_formset(self, request: Any, form: Any, formset: Any, change: bool) -> None:
        with transaction.atomic():
            super().save_formset(request, form, formset, change)
            terms = form.instance
            audit_record(
                actor=request.user,
                action="admin.buyer_terms.bands",
                obj=terms,
                after={"bands": bands_text(band_of(row) for row in terms.bands.order_by("min_grade_oz_tc"))},
            )


def band_of(row: MaquilaBand) -> Band:
    return Band(row.min_grade_oz_tc, row.max_grade_oz_tc, row.maquila_usd_tc)


@admin.register(FairPriceReference)
class FairPriceReferenceAdmin(AuditedAdmin):
    """The lender's price-share reference (DOMAIN.md §4): a new row from a date changes the reference for
    settlements dated from then on."""

    list_display = ["effective_from", "min_price_share", "source"]


@admin.register(MaquilaBand)
class MaquilaBandAdmin(admin.ModelAdmin):
    """The bands of every terms version, to read and search; they are edited with their version (the
    bands are checked together: ordered, non-overlapping), never one by one."""

    list_display = ["terms", "min_grade_oz_tc", "max_grade_oz_tc", "maquila_usd_tc"]
    list_filter = ["terms__buyer"]
    list_select_related = ["terms__buyer"]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
