"""Miners for the lender's systems: GET for every staff role, writes for loan officers and admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers

from asmcredit import roles
from asmcredit.api import ApiModelSerializer, request_buyer
from asmcredit.api_views import MasterDataViewSet
from miners.identity import IDENTIFIERS, normalize_identifier
from miners.imports import miner_create, miner_update
from miners.models import Miner
from reports.formatting import mask_document

# Who reads a miner's DNI, CE and RUC whole: as on the web (``asmcredit.templatetags.ui.sees_documents``).
IDENTITY_ROLES = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
MASKED_FIELDS = ("document_number", "ruc")


def sees_identity(request: Any) -> bool:
    """Whether this API client may read miners' document numbers and RUCs whole.

    Officers, approvers and admins may; a buyer reads its own suppliers' (it withholds by them); NGO
    analysts work with aggregates and get them masked (``*****567``), as on their PDFs. A serializer
    rendered without a request (the answer to a write, which analysts cannot make) is not masked.
    """
    if request is None:
        return True
    return request_buyer(request) is not None or roles.has_role(request.user, *IDENTITY_ROLES)


def mask_identifiers(data: dict[str, Any], request: Any, fields: tuple[str, ...] = MASKED_FIELDS) -> dict[str, Any]:
    """``data`` (one rendered row) with ``fields`` masked unless the client ``sees_identity``."""
    if not sees_identity(request):
        for name in fields:
            if data.get(name):
                data[name] = mask_document(data[name])
    return data


MINER_EXAMPLE = {
    "first_names": "Rosa",
    "last_names": "Huamán Condori",
    "document_type": "DNI",
    "document_number": "41234567",
    "gender": "F",
    "ubigeo": "040112",
    "role": "owner_operator",
    "reinfo_code": "REINFO-000123",
    "reinfo_status": "vigente",
    "formalization_stage": "reinfo",
}


class IdentifierField(serializers.CharField):
    """A document number, RUC or REINFO code as people type it (``ab12345``, ``45-678-912``), compacted
    before the field's length and RUC checks, so those judge the value that will be stored. The service
    (``miners.imports.miner_create`` / ``miner_update``) applies the same normalization again."""

    def to_internal_value(self, data: Any) -> str:
        return normalize_identifier(self.field_name or "", super().to_internal_value(data))


class MinerSerializer(ApiModelSerializer):
    birth_date = serializers.DateField(required=False, allow_null=True)

    def build_standard_field(self, field_name: str, model_field: Any) -> tuple[Any, dict[str, Any]]:
        # Same arguments (max length, validators, help text), so the schema is unchanged.
        field_class, field_kwargs = super().build_standard_field(field_name, model_field)
        return (IdentifierField if field_name in IDENTIFIERS else field_class), field_kwargs

    def to_representation(self, instance: Miner) -> dict[str, Any]:
        return mask_identifiers(super().to_representation(instance), self.context.get("request"))

    def validate_birth_date(self, value: dt.date | None) -> dt.date | None:
        if value is not None and not dt.date(1900, 1, 1) <= value <= dt.date.today():
            raise serializers.ValidationError("The birth date must be between 1900 and today.")
        return value

    class Meta:
        model = Miner
        fields = [
            "id",
            "first_names",
            "last_names",
            "document_type",
            "document_number",
            "ruc",
            "gender",
            "birth_date",
            "phone",
            "ubigeo",
            "role",
            "reinfo_code",
            "reinfo_status",
            "reinfo_date",
            "formalization_stage",
            "association",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]
        # Uniqueness is checked by the model's full_clean, in the same transaction as the save.
        validators: list[Any] = []


class MinerFilter(django_filters.FilterSet):
    document_number = django_filters.CharFilter()
    last_names = django_filters.CharFilter(lookup_expr="icontains")
    department = django_filters.CharFilter(field_name="ubigeo", lookup_expr="startswith", max_length=2)

    class Meta:
        model = Miner
        fields = ["document_type", "document_number", "gender", "role", "reinfo_status", "ubigeo", "association"]


@extend_schema_view(
    list=extend_schema(summary="List miners", tags=["staff: miners"]),
    retrieve=extend_schema(summary="A miner", tags=["staff: miners"]),
    create=extend_schema(
        summary="Register a miner",
        tags=["staff: miners"],
        examples=[OpenApiExample("Miner", value=MINER_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(summary="Correct a miner's data", tags=["staff: miners"]),
)
class MinerViewSet(MasterDataViewSet):
    queryset = Miner.objects.order_by("id")
    serializer_class = MinerSerializer
    filterset_class = MinerFilter

    audit_name = "miner"

    # One write path: the same services as the officer's form, so identifiers are stored normalized.
    def record_create(self, *, obj: Miner, actor: Any, fields: dict[str, Any]) -> Miner:
        return miner_create(actor=actor, **fields)

    def record_update(self, *, obj: Miner, actor: Any, fields: dict[str, Any]) -> Miner:
        return miner_update(miner=obj, actor=actor, **fields)
