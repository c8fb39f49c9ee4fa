from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction

from asmcredit.audit import audit_record, snapshot
from asmcredit.models import AuditEvent, IdempotencyRecord, JobRun, OutboxMessage, StaffToken, UserPreference
from asmcredit.tokens import staff_token_revoke


class AuditedAdmin(admin.ModelAdmin):
    """Admin edits are changes like any other: each save or delete writes an audit event with the
    state before and after, in the same transaction."""

    def save_model(self, request: Any, obj: Any, form: Any, change: bool) -> None:
        with transaction.atomic():
            before = snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
            super().save_model(request, obj, form, change)
            audit_record(
                actor=request.user,
                action="admin.change" if change else "admin.add",
                obj=obj,
                before=before,
                after=snapshot(obj),
            )

    def delete_model(self, request: Any, obj: Any) -> None:
        with transaction.atomic():
            before = snapshot(obj)
            pk = obj.pk
            super().delete_model(request, obj)
            audit_record(
                actor=request.user,
                action="admin.delete",
                object_type=obj._meta.label,
                object_id=pk,
                before=before,
            )

    def delete_queryset(self, request: Any, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: Any) -> bool:
        return False

    def has_change_permission(self, request: Any, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: Any, obj: Any = None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    search_fields = ["actor_label", "object_id", "action"]
    date_hierarchy = "at"


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["name", "as_of", "status", "started_at", "finished_at", "rows_touched"]
    list_filter = ["name", "status"]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["client", "key", "method", "path", "status_code", "created"]
    search_fields = ["client", "key"]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """Tasks queued with the work that asked for them; a pending row with attempts and an error means
    the broker was unreachable. ``manage.py drain_outbox`` (or beat, every 30 s) publishes them."""

    list_display = ["id", "task_name", "created", "dispatched_at", "attempts", "last_error"]
    list_filter = ["task_name", ("dispatched_at", admin.EmptyFieldListFilter)]
    search_fields = ["task_name"]


@admin.register(StaffToken)
class StaffTokenAdmin(ReadOnlyAdmin):
    """Tokens are issued by ``manage.py create_api_token`` (the key is printed once there); here they are
    listed and revoked. Only the hash is stored, so no page can show a key."""

    list_display = ["user", "name", "prefix", "created", "expires_at", "revoked_at", "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["user__username", "name", "prefix"]
    actions = ["revoke"]

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: Any, queryset: Any) -> None:
        for token in queryset:
            staff_token_revoke(token=token, actor=request.user)


@admin.register(UserPreference)
class UserPreferenceAdmin(AuditedAdmin):
    """Each person's language of the pages, set from the header's switch; an edit here takes effect at
    their next sign-in."""

    list_display = ["user", "language", "updated"]
    list_filter = ["language"]
    search_fields = ["user__username"]
    raw_id_fields = ["user"]
