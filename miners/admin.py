from django.contrib import admin

from asmcredit.admin import AuditedAdmin
from miners.models import Association, Miner, MinerDocument, Training


class TrainingInline(admin.TabularInline):
    model = Training
    extra = 0


class DocumentInline(admin.TabularInline):
    model = MinerDocument
    extra = 0


@admin.register(Miner)
class MinerAdmin(AuditedAdmin):
    list_display = [
        "last_names",
        "first_names",
        "document_type",
        "document_number",
        "role",
        "gender",
        "reinfo_status",
        "formalization_stage",
    ]
    list_filter = ["role", "gender", "reinfo_status", "formalization_stage"]
    search_fields = ["first_names", "last_names", "document_number", "ruc", "reinfo_code"]
    inlines = [TrainingInline, DocumentInline]


@admin.register(Association)
class AssociationAdmin(AuditedAdmin):
    list_display = ["name", "ruc", "ubigeo"]
    search_fields = ["name", "ruc"]


@admin.register(Training)
class TrainingAdmin(AuditedAdmin):
    list_display = ["miner", "topic", "held_on", "provider", "hours"]
    list_filter = ["topic"]
    autocomplete_fields = ["miner"]


@admin.register(MinerDocument)
class MinerDocumentAdmin(AuditedAdmin):
    list_display = ["miner", "kind", "note", "created"]
    list_filter = ["kind"]
    autocomplete_fields = ["miner"]
