"""Exchange rates over the API: ``GET /api/v1/fx-rates/`` (any staff role) and ``POST`` (lender admin).

A POST is the same upsert as the admin and ``manage.py load_fx_rates``: the day's rate is created, or
replaced when that currency already has a rate for that day (200), audited either way; sending the
same values again changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from asmcredit import roles
from asmcredit.api import ApiDateField, ApiViewMixin, actor_for
from asmcredit.idempotency import idempotent
from rates.fx import SOLES
from rates.imports import MAX_RATE
from rates.models import ExchangeRate
from rates.services import CREATED, exchange_rate_set

TAGS = ["staff: reference rates"]
FOREIGN_CURRENCIES = [
    (value, label) for value, label in ExchangeRate._meta.get_field("currency").choices or [] if value != SOLES
]


class ExchangeRateSerializer(serializers.ModelSerializer):
    class Meta:
        model = ExchangeRate
        fields = ["id", "currency", "rate_on", "soles_per_unit", "source", "created", "updated"]
        read_only_fields = fields


class ExchangeRateInputSerializer(serializers.Serializer):
    currency = serializers.ChoiceField(choices=FOREIGN_CURRENCIES, help_text="Soles need no rate (always 1).")
    rate_on = ApiDateField(help_text="The day the rate applies from (until the next row of the currency).")
    soles_per_unit = serializers.DecimalField(
        max_digits=10,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        max_value=MAX_RATE,
        help_text="Soles per unit, e.g. 3.7500.",
    )
    source = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")  # type: ignore[assignment]


class ExchangeRateFilter(django_filters.FilterSet):
    currency = django_filters.ChoiceFilter(choices=FOREIGN_CURRENCIES)
    on = django_filters.DateFilter(
        method="filter_on",
        help_text="Only the rate in force on this date: the latest row on or before it, per currency.",
    )
    date_from = django_filters.DateFilter(field_name="rate_on", lookup_expr="gte", label="from")
    date_to = django_filters.DateFilter(field_name="rate_on", lookup_expr="lte", label="to")

    class Meta:
        model = ExchangeRate
        fields = ["currency", "on", "date_from", "date_to"]

    def filter_on(self, queryset: QuerySet[ExchangeRate], name: str, value: Any) -> QuerySet[ExchangeRate]:
        ids = [
            row.pk
            for currency, _ in FOREIGN_CURRENCIES
            if (row := queryset.filter(currency=currency, rate_on__lte=value).order_by("-rate_on").first())
        ]
        return queryset.filter(pk__in=ids)


_EXAMPLE = {"currency": "USD", "rate_on": "2025-09-30", "soles_per_unit": "3.7500", "source": "SBS"}


@extend_schema_view(
    list=extend_schema(
        summary="Exchange rates (soles per unit) by date; ?on=YYYY-MM-DD gives the rate in force that day",
        tags=TAGS,
    ),
    create=extend_schema(
        summary="Load a day's exchange rate (lender admin); the same day again replaces it",
        tags=TAGS,
        request=ExchangeRateInputSerializer,
        examples=[OpenApiExample("SBS rate", value=_EXAMPLE, request_only=True)],
        responses={
            201: OpenApiResponse(ExchangeRateSerializer, description="A new rate for that day."),
            200: OpenApiResponse(ExchangeRateSerializer, description="That day's rate replaced (or already so)."),
        },
    ),
)
class ExchangeRateViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = ExchangeRateSerializer
    filterset_class = ExchangeRateFilter
    # Reference data the portfolio figures depend on: written by the lender's administrator, read by
    # every staff role.
    write_roles = (roles.LENDER_ADMIN,)

    def get_queryset(self) -> QuerySet[ExchangeRate]:
        return ExchangeRate.objects.order_by("currency", "-rate_on")

    def get_serializer_class(self) -> Any:
        if getattr(self, "action", None) == "create":
            return ExchangeRateInputSerializer
        return ExchangeRateSerializer

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data = ExchangeRateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            outcome = exchange_rate_set(actor=actor_for(request), **data.validated_data)
        except DjangoValidationError as exc:
            raise exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from exc
        return Response(
            ExchangeRateSerializer(outcome.rate).data,
            status=status.HTTP_201_CREATED if outcome.result == CREATED else status.HTTP_200_OK,
        )
