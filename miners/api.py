"""Miners for the lender's systems: GET for every staff role, writes for loan officers and admins."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import serializers

from asmcredit.api import ApiModelSerializer
from asmcredit.api_views import MasterDataViewSet
from miners.models import Miner

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


class MinerSerializer(ApiModelSerializer):
    birth_date = serializers.DateField(required=False, allow_null=True)

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
