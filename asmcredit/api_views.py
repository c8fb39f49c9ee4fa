"""Shared API view behaviour for master data (miners, buyers, loan products)."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from asmcredit.api import ApiViewMixin, actor_for, model_save_audited
from asmcredit.idempotency import idempotent


class AuditedMasterDataMixin:
    """POST creates and PATCH updates through ``model_save_audited``: the model's own validation,
    the save and the audit row (``<audit_name>.create`` / ``.update``) in one transaction.

    An app whose entity has its own write service (the one its web form and importer call) overrides
    ``record_create`` / ``record_update`` to call it, so the API writes exactly as they do."""

    audit_name: str

    def record_create(self, *, obj: Any, actor: Any, fields: dict[str, Any]) -> Any:
        """Save ``obj``, the new (unsaved) instance the request was validated against."""
        return model_save_audited(obj=obj, actor=actor, action=f"{self.audit_name}.create", fields=fields)

    def record_update(self, *, obj: Any, actor: Any, fields: dict[str, Any]) -> Any:
        return model_save_audited(obj=obj, actor=actor, action=f"{self.audit_name}.update", fields=fields)

    def _save(self, request: Request, obj: Any, verb: str) -> Response:
        serializer = self.get_serializer(obj, data=request.data, partial=verb == "update")  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        actor, fields = actor_for(request), dict(serializer.validated_data)
        if verb == "create":
            saved = self.record_create(obj=obj, actor=actor, fields=fields)
        else:
            saved = self.record_update(obj=obj, actor=actor, fields=fields)
        return Response(
            self.get_serializer_class()(saved).data,  # type: ignore[attr-defined]
            status=status.HTTP_201_CREATED if verb == "create" else status.HTTP_200_OK,
        )

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_queryset().model(), "create")  # type: ignore[attr-defined]

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self._save(request, self.get_object(), "update")  # type: ignore[attr-defined]


class MasterDataViewSet(
    AuditedMasterDataMixin,
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Master data over the API: list, read, create, and correct with PATCH (no PUT, no DELETE: records
    other rows point at are never replaced or removed)."""

    http_method_names = ["get", "post", "patch", "head", "options"]
