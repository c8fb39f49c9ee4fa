"""BCRP rate caps over the API: ``GET /api/v1/rate-caps/`` (any staff role) and ``POST`` (lender admin).

A cap is never replaced or deleted: the row in force on a day is the record of what applied to that
day's products, offers and disbursements (DOMAIN.md §3). A new semester's circular is a new row."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from asmcredit import roles
from asmcredit.api import ApiDateField, ApiViewMixin, actor_for
from asmcredit.fields import Currency
from asmcredit.idempotency import idempotent
from rates.caps import MAX_CAP_PCT, rate_cap_create
from rates.models import RateCap

TAGS = ["staff: reference rates"]


class RateCapSerializer(serializers.ModelSerializer):
    class Meta:
        model = RateCap
        fields = [
            "id",
            "currency",
            "effective_from",
            "compensatory_tea_max_pct",
            "moratory_tea_max_pct",
            "source",
            "created",
            "updated",
        ]
        read_only_fields = fields


class RateCapInputSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=Currency.choices)
    effective_from = ApiDateField(help_text="The day the cap takes effect (until the next row of the currency).")
    compensatory_tea_max_pct = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=MAX_CAP_PCT,
        help_text="Maximum compensatory TEA in percent (109.83 = 109.83%).",
    )
    moratory_tea_max_pct = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=MAX_CAP_PCT,
        help_text="Maximum moratory TEA in percent.",
    )
    source = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")  # type: ignore[assignment]


class RateCapFilter(django_filters.FilterSet):
    currency = django_filters.ChoiceFilter(choices=Currency.choices)
    on = django_filters.DateFilter(
        method="filter_on",
        help_text="Only the cap in force on this date: the latest row on or before it, per currency.",
    )

    class Meta:
        model = RateCap
        fields = ["currency", "on"]

    def filter_on(self, queryset: QuerySet[RateCap], name: str, value: Any) -> QuerySet[RateCap]:
        ids = [
            row.pk
            for currency in Currency.values
            if (
                row := queryset.filter(currency=currency, effective_from__lte=value).order_by("-effective_from").first()
            )
        ]
        return queryset.filter(pk__in=ids)


_EXAMPLE = {
    "currency": "PEN",
    "effective_from": "2026-07-01",
    "compensatory_tea_max_pct": "109.8300",
    "moratory_tea_max_pct": "109.8300",
    "source": "Circular BCRP",
}


@extend_schema_view(
    list=extend_schema(
        summary="BCRP interest-rate caps by currency and date; ?on=YYYY-MM-DD gives the cap in force that day",
        tags=TAGS,
    ),
    retrieve=extend_schema(summary="A BCRP interest-rate cap", tags=TAGS),
    create=extend_schema(
        summary="Record a new BCRP cap from its effective date (lender admin); caps are never replaced",
        tags=TAGS,
        request=RateCapInputSerializer,
        examples=[OpenApiExample("Semester cap", value=_EXAMPLE, request_only=True)],
        responses={201: OpenApiResponse(RateCapSerializer, description="The new cap.")},
    ),
)
class RateCapViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RateCapSerializer
    filterset_class = RateCapFilter
    # Reference data every product, offer and disbursement is checked against: written by the lender's
    # administrator, read by every staff role.
    write_roles = (roles.LENDER_ADMIN,)

    def get_queryset(self) -> QuerySet[RateCap]:
        return RateCap.objects.order_by("currency", "-effective_from", "id")

    def get_serializer_class(self) -> Any:
        if getattr(self, "action", None) == "create":
            return RateCapInputSerializer
        return RateCapSerializer

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = RateCapInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        cap = rate_cap_create(actor=actor_for(request), **data.validated_data)
        return Response(RateCapSerializer(cap).data, status=status.HTTP_201_CREATED)
