"""The buyer companies' servicing API: settlements (liquidaciones) with their withholding, remittances
and statements — what a buyer's system posts and reads every day, beside the servicing it calls.

Isolation: for a buyer (its API key, or a login linked to it) every queryset here is filtered by that
buyer, so another buyer's settlement or remittance is a 404 and another buyer's miner is a 400 on
``miner``. Staff see everything and name the buyer when they write on its behalf.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asmcredit import roles
from asmcredit.api import (
    ApiDateField,
    ApiViewMixin,
    BoundOnceRepresentation,
    actor_for,
    for_requesting_buyer,
    request_buyer,
)
from asmcredit.fields import Currency
from asmcredit.idempotency import idempotent
from buyers.api import MONEY, acting_buyer, buyer_named
from buyers.models import Settlement
from buyers.settlement_input import MAX_BULK_ROWS, SETTLEMENT_FIELDS, FieldSpec
from buyers.valuation import convert, oz_tc_to_g_t
from installments.services.settlement_batches import settlements_post_bulk
from miners.api import mask_identifiers

# --- Settlements --------------------------------------------------------------------------------


class BoundedDecimalField(serializers.DecimalField):
    """A decimal input documented with every bound the row form holds it to."""


class BoundedDecimalFieldExtension(OpenApiSerializerFieldExtension):
    """A decimal travels as a string (``COERCE_DECIMAL_TO_STRING``, a JSON number is accepted too), for
    which drf-spectacular documents digits and places but drops ``min_value``/``max_value``: add them,
    and no minus sign where the minimum forbids it."""

    target_class = BoundedDecimalField

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        field = self.target
        schema: dict[str, Any] = auto_schema._map_serializer_field(field, direction, bypass_extensions=True)
        if field.min_value is not None:
            schema["minimum"] = field.min_value
            if field.min_value >= 0 and schema.get("pattern", "").startswith("^-?"):
                schema["pattern"] = "^" + schema["pattern"][len("^-?") :]
        if field.max_value is not None:
            schema["maximum"] = field.max_value
        return schema


def _input_field(spec: FieldSpec) -> serializers.Field:
    """The serializer field documenting ``spec`` with the very bounds the row form enforces."""
    options: dict[str, Any] = {"help_text": spec.help_text or None}
    if spec.default is not None:
        options["default"] = spec.default
    else:
        options["required"] = spec.required
    if spec.kind == "integer":
        for key, bound in (("min_value", spec.int_bound("min")), ("max_value", spec.int_bound("max"))):
            if bound is not None:
                options[key] = bound
        return serializers.IntegerField(**options)
    if spec.kind == "decimal":
        return BoundedDecimalField(
            max_digits=spec.max_digits,
            decimal_places=spec.decimal_places,
            min_value=spec.min_value,
            max_value=spec.max_value,
            **options,
        )
    if spec.kind == "choice":
        # Values only: the API documents codes (the labels are the officers' screens' business).
        return serializers.ChoiceField(choices=[value for value, _label in spec.choices], **options)
    if spec.kind == "date":
        return serializers.DateField(**options)
    if spec.max_length is not None:
        options["max_length"] = spec.max_length
    # An optional text may be sent blank (the form reads it as not given).
    return serializers.CharField(allow_blank=not spec.required, **options)


class SettlementInputSerializer(serializers.Serializer):
    """One settlement as a buyer sends it (DOMAIN.md §4). Documentation of the fields, generated from
    ``buyers.settlement_input.SETTLEMENT_FIELDS``; the values are validated there — the same rules for
    the API, the bulk API and CSV uploads."""

    buyer = serializers.CharField(required=False, help_text="Staff only: the buyer's id or RUC.")

    def get_fields(self) -> dict[str, serializers.Field]:
        return {**super().get_fields(), **{spec.name: _input_field(spec) for spec in SETTLEMENT_FIELDS}}


class BulkSettlementInputSerializer(serializers.Serializer):
    buyer = serializers.CharField(required=False, help_text="Staff only: the buyer's id or RUC.")
    dry_run = serializers.BooleanField(default=False, help_text="Compute everything, save nothing.")
    rows = serializers.ListField(
        child=serializers.DictField(),
        min_length=1,
        max_length=MAX_BULK_ROWS,
        help_text="Up to 1,000 settlements; all are saved or none.",
    )


class BulkSettlementDocSerializer(BulkSettlementInputSerializer):
    rows = SettlementInputSerializer(many=True)  # type: ignore[assignment]


class WithholdingInstallmentSerializer(BoundOnceRepresentation, serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    moratory = serializers.DecimalField(**MONEY)
    late_interest = serializers.DecimalField(
        **MONEY, help_text="Compensatory interest on the installment's overdue principal after its due date."
    )
    interest = serializers.DecimalField(**MONEY)
    insurance = serializers.DecimalField(**MONEY)
    fees = serializers.DecimalField(**MONEY)
    principal = serializers.DecimalField(**MONEY)


class WithholdingLoanSerializer(BoundOnceRepresentation, serializers.Serializer):
    loan = serializers.CharField(help_text="Loan number.")
    loan_id = serializers.IntegerField()
    amount = serializers.DecimalField(**MONEY)
    installments = WithholdingInstallmentSerializer(many=True)


class WithholdingSerializer(BoundOnceRepresentation, serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, help_text="In the loan's currency.")
    currency = serializers.CharField(allow_null=True)
    amount_settlement_currency = serializers.DecimalField(**MONEY)
    status = serializers.CharField(help_text="none, withheld or reversed.")
    breakdown = WithholdingLoanSerializer(many=True)


class SettlementSerializer(BoundOnceRepresentation, serializers.Serializer):
    id = serializers.IntegerField()
    buyer = serializers.IntegerField(source="buyer_id")
    miner = serializers.IntegerField(source="miner_id")
    miner_document = serializers.CharField(source="miner.document_number")
    lot_code = serializers.CharField()
    settled_on = serializers.DateField()
    currency = serializers.CharField()
    exchange_rate = serializers.DecimalField(max_digits=10, decimal_places=4)
    wet_tonnes = serializers.DecimalField(max_digits=12, decimal_places=3)
    moisture_pct = serializers.DecimalField(max_digits=5, decimal_places=2)
    grade_oz_tc = serializers.DecimalField(max_digits=10, decimal_places=4)
    grade_g_t = serializers.SerializerMethodField()
    recovery = serializers.DecimalField(max_digits=5, decimal_places=4)
    gold_price_usd_oz = serializers.DecimalField(**MONEY)
    gold_price_on = serializers.DateField(allow_null=True)
    gold_price_source = serializers.CharField()
    commercial_deduction_usd_oz = serializers.DecimalField(**MONEY)
    maquila_usd_tc = serializers.DecimalField(**MONEY)
    maquila_source = serializers.ChoiceField(
        choices=["stated", "scale"],
        help_text="stated: sent with the settlement; scale: omitted, taken from the buyer's agreed scale.",
    )
    reagents_usd_tms = serializers.DecimalField(**MONEY)
    freight_usd_tms = serializers.DecimalField(**MONEY)
    other_usd_tms = serializers.DecimalField(**MONEY)
    dry_tonnes = serializers.DecimalField(max_digits=12, decimal_places=3, help_text="TMS, recomputed.")
    value_per_tms = serializers.DecimalField(max_digits=16, decimal_places=4, help_text="US$ per TMS, recomputed.")
    payable = serializers.DecimalField(source="payable_usd", **MONEY, help_text="US$, recomputed.")
    declared_payable = serializers.DecimalField(source="declared_payable_usd", allow_null=True, **MONEY)
    payable_difference = serializers.DecimalField(
        source="payable_difference_usd", allow_null=True, **MONEY, help_text="Declared − recomputed, US$."
    )
    contained_gold_usd = serializers.DecimalField(**MONEY)
    price_share = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        help_text="(INTER − RC) / INTER: the share of the international price credited per recovered ounce; "
        "flagged price_below_reference under the lender's reference (95% by default).",
    )
    value_share = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        help_text="Payable / (recoverable gold × INTER), recoverable gold = TMS × 1.10231 × ley × recovery. "
        "Reported, not flagged.",
    )
    terms_deviations = serializers.ListField(
        child=serializers.ChoiceField(choices=["maquila", "rc", "recovery"]),
        help_text="What is off the buyer's agreed terms in force on the settlement date: maquila above the "
        "scale for the grade, RC above, recovery below. Empty when on terms or with no terms in force.",
    )
    fair_price_flags = serializers.ListField(
        child=serializers.CharField(),
        help_text="price_below_reference, off_agreed_terms (see terms_deviations), declared_payable_differs.",
    )
    withholding = serializers.SerializerMethodField()
    net_to_miner = serializers.SerializerMethodField(help_text="Payable less withholding, settlement currency.")
    status = serializers.CharField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The bound-once fields do not see the request; the masking is applied here, per answer.
        return mask_identifiers(super().to_representation(instance), self.context.get("request"), ("miner_document",))

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=4))
    def get_grade_g_t(self, settlement: Settlement) -> str:
        return str(oz_tc_to_g_t(settlement.grade_oz_tc))

    @extend_schema_field(WithholdingSerializer)
    def get_withholding(self, settlement: Settlement) -> dict[str, Any]:
        return WithholdingSerializer(withholding_of(settlement)).data

    @extend_schema_field(serializers.DecimalField(**MONEY))
    def get_net_to_miner(self, settlement: Settlement) -> str:
        payable = settlement.payable_usd
        if settlement.currency != "USD":
            payable = convert(payable, settlement.exchange_rate)
        withheld = withholding_of(settlement)["amount_settlement_currency"]
        return f"{payable - withheld:.2f}"


def withholding_of(settlement: Settlement) -> dict[str, Any]:
    """The settlement's withholding per loan and installment, read back from the withholdings and the
    allocations of their transactions — the same shape ``settlement_post`` answers with."""
    cached = getattr(settlement, "_withholding_view", None)
    if cached is not None:
        return cached
    withholdings = list(settlement.withholdings.all())
    live = [w for w in withholdings if w.status != "reversed"]
    shown = live or withholdings
    breakdown = []
    for withholding in shown:
        per_line: dict[Any, dict[str, Any]] = {}
        for allocation in withholding.transaction.allocations.all():
            line = allocation.schedule_line
            if line is None:
                continue  # an overpayment credit, on no installment
            row = per_line.setdefault(
                line.pk,
                {
                    "number": line.number,
                    "due_on": line.due_on,
                    "moratory": Decimal("0.00"),
                    "late_interest": Decimal("0.00"),
                    "interest": Decimal("0.00"),
                    "insurance": Decimal("0.00"),
                    "fees": Decimal("0.00"),
                    "principal": Decimal("0.00"),
                },
            )
            row[allocation.component] += allocation.amount
        breakdown.append(
            {
                "loan": withholding.loan.code,
                "loan_id": withholding.loan_id,
                "amount": withholding.amount,
                "installments": sorted(per_line.values(), key=lambda r: r["number"]),
            }
        )
    data = {
        "amount": sum((w.amount for w in live), Decimal("0.00")),
        "currency": shown[0].currency if shown else None,
        "amount_settlement_currency": sum((w.amount_settlement_currency for w in live), Decimal("0.00")),
        "status": "withheld" if live else ("reversed" if withholdings else "none"),
        "breakdown": breakdown,
    }
    settlement._withholding_view = data  # type: ignore[attr-defined]
    return data


def settlements_for_output(ids: list[int]) -> list[Settlement]:
    by_id = {s.pk: s for s in settlement_queryset().filter(pk__in=ids)}
    return [by_id[i] for i in ids]


def settlement_queryset() -> QuerySet[Settlement]:
    from installments.models import Allocation, Withholding

    allocations = Prefetch("transaction__allocations", queryset=Allocation.objects.select_related("schedule_line"))
    return Settlement.objects.select_related("miner").prefetch_related(
        Prefetch("withholdings", queryset=Withholding.objects.select_related("loan", "transaction").order_by("id")),
        Prefetch("withholdings__transaction__allocations", queryset=allocations.queryset),
    )


class SettlementFilter(django_filters.FilterSet):
    miner_document = django_filters.CharFilter(field_name="miner__document_number")
    settled_from = django_filters.DateFilter(field_name="settled_on", lookup_expr="gte")
    settled_to = django_filters.DateFilter(field_name="settled_on", lookup_expr="lte")

    class Meta:
        model = Settlement
        fields = ["miner", "status", "lot_code", "buyer", "source"]


class VoidSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255)


class BulkResultSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    dry_run = serializers.BooleanField()
    settlements = SettlementSerializer(many=True)


SETTLEMENT_EXAMPLE = {
    "miner_document": "41234567",
    "lot_code": "L-2025-0001",
    "settled_on": "2025-03-03",
    "currency": "USD",
    "exchange_rate": "3.7500",
    "wet_tonnes": "10.000",
    "moisture_pct": "8.00",
    "grade_oz_tc": "0.5000",
    "recovery": "0.8400",
    "gold_price_usd_oz": "3322.10",
    "commercial_deduction_usd_oz": "80.00",
    "maquila_usd_tc": "110.00",
    "reagents_usd_tms": "30.26",
    "freight_usd_tms": "22.00",
    "declared_payable": "12212.83",
}
SETTLEMENT_RESPONSE_EXAMPLE = {
    "id": 812,
    "buyer": 3,
    "miner": 41,
    "miner_document": "41234567",
    "lot_code": "L-2025-0001",
    "settled_on": "2025-03-03",
    "currency": "USD",
    "exchange_rate": "3.7500",
    "wet_tonnes": "10.000",
    "moisture_pct": "8.00",
    "grade_oz_tc": "0.5000",
    "grade_g_t": "17.1429",
    "recovery": "0.8400",
    "gold_price_usd_oz": "3322.10",
    "gold_price_on": None,
    "gold_price_source": "",
    "commercial_deduction_usd_oz": "80.00",
    "maquila_usd_tc": "110.00",
    "maquila_source": "stated",
    "reagents_usd_tms": "30.26",
    "freight_usd_tms": "22.00",
    "other_usd_tms": "0.00",
    "dry_tonnes": "9.200",
    "value_per_tms": "1327.4816",
    "payable": "12212.83",
    "declared_payable": "12212.83",
    "payable_difference": "0.00",
    "contained_gold_usd": "16845.38",
    # DOMAIN.md §4: (3,322.10 − 80) / 3,322.10 = 0.9759; 12,212.83 / (9.200 × 1.10231 × 0.5 × 0.84 × 3,322.10)
    # = 12,212.83 / 14,149.91 = 0.8631. On the buyer's agreed terms: no flag.
    "price_share": "0.9759",
    "value_share": "0.8631",
    "terms_deviations": [],
    "fair_price_flags": [],
    "withholding": {
        "amount": "1838.45",
        "currency": "PEN",
        "amount_settlement_currency": "490.25",
        "status": "withheld",
        "breakdown": [
            {
                "loan": "P-000017",
                "loan_id": 17,
                "amount": "1838.45",
                "installments": [
                    {
                        "number": 2,
                        "due_on": "2025-03-17",
                        "moratory": "0.00",
                        "late_interest": "0.00",
                        "interest": "224.71",
                        "insurance": "0.00",
                        "fees": "0.00",
                        "principal": "1613.74",
                    }
                ],
            }
        ],
    },
    "net_to_miner": "11722.58",
    "status": "posted",
    "voided_at": None,
    "void_reason": "",
    "source": "api",
    "created": "2025-03-03T15:04:05-05:00",
    "updated": "2025-03-03T15:04:05-05:00",
}
TAG_SETTLEMENTS = ["settlements"]


@extend_schema_view(
    list=extend_schema(summary="List settlements (filter by miner and dates)", tags=TAG_SETTLEMENTS),
    retrieve=extend_schema(summary="A settlement with its withholding", tags=TAG_SETTLEMENTS),
)
class SettlementViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = SettlementSerializer
    filterset_class = SettlementFilter
    buyer_access = True

    def get_queryset(self) -> QuerySet[Settlement]:
        queryset = settlement_queryset().order_by("-settled_on", "-id")
        return for_requesting_buyer(queryset, self.request)

    @extend_schema(
        summary="Post a settlement: recomputed value, fair-price check and what to withhold",
        tags=TAG_SETTLEMENTS,
        request=SettlementInputSerializer,
        responses={
            201: OpenApiResponse(
                SettlementSerializer,
                examples=[
                    OpenApiExample("Posted with a withholding", value=SETTLEMENT_RESPONSE_EXAMPLE, response_only=True)
                ],
            )
        },
        examples=[OpenApiExample("DOMAIN.md §4 lot", value=SETTLEMENT_EXAMPLE, request_only=True)],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["Send one settlement as a JSON object."]})
        buyer = acting_buyer(request, request.data)
        result = settlements_post_bulk(buyer=buyer, rows=[request.data], actor=actor_for(request), source="api")
        if not result.ok:
            raise exceptions.ValidationError(result.errors[0])
        return Response(SettlementSerializer(_answered(result.outcomes)[0]).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Post up to 1,000 settlements at once: all or nothing, errors per row",
        tags=TAG_SETTLEMENTS,
        request=BulkSettlementDocSerializer,
        responses={201: BulkResultSerializer, 200: BulkResultSerializer},
        description="Every row is validated, then all are posted in one transaction. Any bad row → 400 with "
        "`fields` keyed `rows.<n>.<field>` (n from 0) and nothing saved. With `dry_run` the answer (200) "
        "shows what would be posted and withheld.",
    )
    @action(detail=False, methods=["post"], pagination_class=None)
    @idempotent
    def bulk(self, request: Request) -> Response:
        serializer = BulkSettlementInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        buyer = acting_buyer(request, request.data)
        dry_run = serializer.validated_data["dry_run"]
        result = settlements_post_bulk(
            buyer=buyer,
            rows=serializer.validated_data["rows"],
            actor=actor_for(request),
            source="api",
            dry_run=dry_run,
        )
        if not result.ok:
            raise exceptions.ValidationError(result.field_errors())
        settlements = _answered(result.outcomes)
        return Response(
            {
                "count": len(settlements),
                "dry_run": dry_run,
                "settlements": SettlementSerializer(settlements, many=True).data,
            },
            status=status.HTTP_200_OK if dry_run else status.HTTP_201_CREATED,
        )

    @extend_schema(
        summary="Void a settlement: its withholding is reversed",
        tags=TAG_SETTLEMENTS,
        request=VoidSerializer,
        responses={200: SettlementSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def void(self, request: Request, pk: str | None = None) -> Response:
        from installments.services import settlement_void

        settlement = self.get_object()
        serializer = VoidSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        settlement_void(settlement=settlement, actor=actor_for(request), reason=serializer.validated_data["reason"])
        return Response(SettlementSerializer(settlements_for_output([settlement.pk])[0]).data)


def _answered(outcomes: list[Any]) -> list[Settlement]:
    """The settlements as posted, with their withholding from the service's own outcome: the same
    shape ``withholding_of`` reads back from the database, without reading it back."""
    settlements = [outcome.settlement for outcome in outcomes]
    for settlement, outcome in zip(settlements, outcomes, strict=True):
        settlement._withholding_view = _withholding_from_outcome(outcome)  # type: ignore[attr-defined]
    return settlements


def _withholding_from_outcome(outcome: Any) -> dict[str, Any]:
    live = list(outcome.withholdings)
    return {
        "amount": outcome.withholding_amount,
        "currency": outcome.withholding_currency if live else None,
        "amount_settlement_currency": sum((w.amount_settlement_currency for w in live), Decimal("0.00")),
        "status": "withheld" if live else "none",
        "breakdown": outcome.breakdown,
    }


# --- Remittances and statements -----------------------------------------------------------------


class RemittanceInputSerializer(serializers.Serializer):
    buyer = serializers.CharField(required=False, help_text="Staff only: the buyer's id or RUC.")
    reference = serializers.CharField(max_length=80, help_text="The bank transfer's reference.")
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.ChoiceField(choices=Currency.choices)
    paid_on = ApiDateField()
    settlements = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**62),
        required=False,
        max_length=MAX_BULK_ROWS,
        help_text="Optional: ids of the settlements whose withholdings this pays.",
    )


class RemittanceMatchSerializer(serializers.Serializer):
    withholding = serializers.IntegerField(source="withholding_id")
    settlement = serializers.IntegerField(source="withholding.settlement_id")
    lot_code = serializers.CharField(source="withholding.settlement.lot_code")
    loan = serializers.CharField(source="withholding.loan.code")
    amount = serializers.DecimalField(**MONEY)


class ReconciliationExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    detail = serializers.CharField()
    detected_on = serializers.DateField()
    status = serializers.CharField()
    withholding = serializers.IntegerField(source="withholding_id", allow_null=True)


class RemittanceSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    buyer = serializers.IntegerField(source="buyer_id")
    reference = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    paid_on = serializers.DateField()
    settlements = serializers.SerializerMethodField()
    unmatched_amount = serializers.DecimalField(**MONEY)
    reconciled_at = serializers.DateTimeField(allow_null=True)
    matches = RemittanceMatchSerializer(many=True)
    exceptions = ReconciliationExceptionSerializer(many=True)
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_settlements(self, remittance: Any) -> list[int]:
        return sorted(s.pk for s in remittance.settlements.all())


def remittance_queryset() -> QuerySet[Any]:
    from installments.models import ReconciliationException, Remittance, RemittanceMatch

    return Remittance.objects.prefetch_related(
        "settlements",
        Prefetch("exceptions", queryset=ReconciliationException.objects.order_by("id")),
        Prefetch(
            "matches",
            queryset=RemittanceMatch.objects.select_related("withholding__settlement", "withholding__loan").order_by(
                "id"
            ),
        ),
    )


class RemittanceFilter(django_filters.FilterSet):
    paid_from = django_filters.DateFilter(field_name="paid_on", lookup_expr="gte")
    paid_to = django_filters.DateFilter(field_name="paid_on", lookup_expr="lte")
    reference = django_filters.CharFilter()
    buyer = django_filters.NumberFilter()


REMITTANCE_EXAMPLE = {
    "reference": "BCP-000123",
    "amount": "1838.45",
    "currency": "PEN",
    "paid_on": "2025-03-06",
    "settlements": [812],
}
TAG_REMITTANCES = ["remittances"]


@extend_schema_view(
    list=extend_schema(summary="List remittances", tags=TAG_REMITTANCES),
    retrieve=extend_schema(summary="A remittance with its matches and exceptions", tags=TAG_REMITTANCES),
)
class RemittanceViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RemittanceSerializer
    filterset_class = RemittanceFilter
    buyer_access = True
    # Treasury records remittances on screen; its token may do so through the API too.
    write_roles = roles.TREASURY_WRITERS

    def get_queryset(self) -> QuerySet[Any]:
        queryset = remittance_queryset().order_by("-paid_on", "-id")
        return for_requesting_buyer(queryset, self.request)

    @extend_schema(
        summary="Record a remittance: the answer is its reconciliation",
        tags=TAG_REMITTANCES,
        request=RemittanceInputSerializer,
        responses={201: RemittanceSerializer},
        examples=[OpenApiExample("Remittance", value=REMITTANCE_EXAMPLE, request_only=True)],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from installments.services import remittance_record

        serializer = RemittanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        buyer = acting_buyer(request, data)
        data.pop("buyer", None)
        # Another buyer's (or a made-up) settlement id is not an error here: the reconciliation records
        # it as an "unknown settlement" exception, saying no more about it than about a missing one.
        settlement_ids = data.pop("settlements", None)
        outcome = remittance_record(buyer=buyer, actor=actor_for(request), settlement_ids=settlement_ids, **data)
        remittance = remittance_queryset().get(pk=outcome.remittance.pk)
        return Response(RemittanceSerializer(remittance).data, status=status.HTTP_201_CREATED)


class StatementRowSerializer(serializers.Serializer):
    date = serializers.DateField()
    kind = serializers.ChoiceField(choices=["withholding", "remittance"])
    reference = serializers.CharField(help_text="Lot code of a withholding, bank reference of a remittance.")
    loan = serializers.CharField()
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)
    remitted = serializers.DecimalField(**MONEY)
    status = serializers.CharField()


class StatementSerializer(serializers.Serializer):
    buyer = serializers.IntegerField(source="buyer.pk")
    buyer_ruc = serializers.CharField(source="buyer.ruc")
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    withheld = serializers.DictField(child=serializers.DecimalField(**MONEY), help_text="Per currency.")
    remitted = serializers.DictField(child=serializers.DecimalField(**MONEY), help_text="Per currency.")
    owed = serializers.DictField(
        child=serializers.DecimalField(**MONEY), help_text="Per currency at `to`; negative is a credit."
    )
    exceptions = ReconciliationExceptionSerializer(many=True)
    rows = StatementRowSerializer(many=True)


class StatementView(ApiViewMixin, APIView):
    """What the buyer withheld, remitted and owes over a period, with open reconciliation exceptions."""

    buyer_access = True

    @extend_schema(
        summary="The buyer's statement: withheld, remitted, owed, exceptions",
        tags=TAG_REMITTANCES,
        parameters=[
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (default: today)."),
            OpenApiParameter("buyer", str, description="Staff only: the buyer's id or RUC."),
        ],
        responses={200: StatementSerializer},
    )
    def get(self, request: Request) -> Response:
        from installments.selectors import buyer_statement

        query = _StatementQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        buyer = request_buyer(request) or buyer_named(request.query_params.get("buyer"))
        today = timezone.localdate()
        date_to = query.validated_data.get("to") or today
        date_from = query.validated_data.get("from") or date_to - dt.timedelta(days=30)
        if date_from > date_to:
            raise exceptions.ValidationError({"from": ["`from` must not be after `to`."]})
        statement = buyer_statement(buyer=buyer, date_from=date_from, date_to=date_to)
        return Response(StatementSerializer(statement).data)


class _StatementQuery(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {"from": ApiDateField(required=False), "to": ApiDateField(required=False)}
