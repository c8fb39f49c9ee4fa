"""The SBS report layouts in the admin: the lender follows a new SBS manual by adding a layout version."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from reports.regulatory import fixed_width
from reports.regulatory.models import LayoutField, RegulatoryFile, ReportLayout


class LayoutFieldFormSet(BaseInlineFormSet):  # type: ignore[type-arg]
    def clean(self) -> None:
        """Refuse a layout whose records overlap or cannot be told apart (a file it writes would not
        read back)."""
        super().clean()
        if self.instance.kind != ReportLayout.Kind.RCD:
            return
        by_type: dict[str, list[fixed_width.FieldSpec]] = {}
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE"):
                continue
            by_type.setdefault(data["record_type"], []).append(
                fixed_width.FieldSpec(
                    name=data["name"],
                    source_key=data["source_key"],
                    position=data["position"],
                    width=data["width"],
                    fmt=data["format"],
                    padding=data.get("padding_char") or " ",
                    alignment=data["alignment"],
                    constant=data.get("constant", ""),
                )
            )
        records = {kind: fixed_width.record_spec(kind, specs) for kind, specs in by_type.items()}
        problems = fixed_width.layout_problems(records)
        if problems:
            raise ValidationError(problems)


class LayoutFieldInline(admin.TabularInline):  # type: ignore[type-arg]
    model = LayoutField
    formset = LayoutFieldFormSet
    extra = 0
    fields = ("record_type", "order", "name", "source_key", "constant", "position", "width", "padding_char",
              "alignment", "format")  # fmt: skip


@admin.register(ReportLayout)
class ReportLayoutAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "version", "effective_from", "report_code", "encoding")
    list_filter = ("kind",)
    inlines = [LayoutFieldInline]

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        # A layout that wrote a kept file stays, so the file can be read with it.
        return super().has_delete_permission(request, obj) and not (obj and obj.files.exists())


@admin.register(RegulatoryFile)
class RegulatoryFileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("kind", "format", "cutoff", "layout_version", "sha256", "generated_by_name", "generated_at",
                    "same_as_previous")  # fmt: skip
    list_filter = ("kind", "format")
    readonly_fields = [field.name for field in RegulatoryFile._meta.fields]

    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False
