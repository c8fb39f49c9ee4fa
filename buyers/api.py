"""The buyer companies' API: suppliers, settlements (liquidaciones) with their withholding, remittances
and statements — and the lender's side of the same records (buyers, supplier relationships, API keys).

Isolation: for a buyer (its API key, or a login linked to it) every queryset here is filtered by that
buyer, so another buyer's supplier, settlement or remittance is a 404 and another buyer's miner is a
400 on ``miner``. Staff see everything and name the buyer when they write on its behalf.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
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
    ApiModelSerializer,
    ApiViewMixin,
    BoundOnceRepresentation,
    actor_for,
    for_requesting_buyer,
    model_save_audited,
    request_buyer,
)
from asmcredit.api_views import MasterDataViewSet
from asmcredit.fields import Currency
from asmcredit.idempotency import idempotent
from buyers.models import ApiKey, Buyer, Settlement, SupplierRelationship
from buyers.services import api_key_issue, api_key_revoke
from buyers.settlement_input import MAX_BULK_ROWS
from buyers.valuation import convert, oz_tc_to_g_t
from installments.services.settlement_batches import settlements_post_bulk
from miners.models import Miner

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


def _buyer_named(value: Any, field: str = "buyer") -> Buyer:
    """Staff name the buyer they write for: its id or its RUC."""
    text = str(value or "").strip()
    buyer = None
    if text.isdigit() and len(text) == 11:
        buyer = Buyer.objects.filter(ruc=text).first()
    elif text.isdigit() and len(text) < 19:
        buyer = Buyer.objects.filter(pk=int(text)).first()
    if buyer is None:
        raise exceptions.ValidationError({field: ["Name the buyer by its id or RUC."]})
    return buyer


def acting_buyer(request: Request, data: Any) -> Buyer:
    """The buyer a write is for: the caller itself, or the one staff name in ``buyer``."""
    buyer = request_buyer(request)
    if buyer is not None:
        return buyer
    return _buyer_named(data.get("buyer") if isinstance(data, dict) else None)


# --- Buyers (staff) -----------------------------------------------------------------------------


class BuyerSerializer(ApiModelSerializer):
    class Meta:
        model = Buyer
        fields = [
            "id",
            "ruc",
            "name",
            "region",
            "kind",
            "remittance_days",
            "terms_payable_share_pct",
            "contact_email",
            "is_active",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]
        validators: list[Any] = []
        extra_kwargs: dict[str, Any] = {"ruc": {"validators": []}}

    def validate_region(self, value: str) -> str:
        if not (len(value) == 2 and value.isdigit()):
            raise serializers.ValidationError("A department code: two digits (04 Arequipa).")
        return value


class ApiKeySerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "created", "last_used_at", "revoked_at"]


class ApiKeyIssueSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=100, default="default")


class IssuedApiKeySerializer(ApiKeySerializer):
    key = serializers.CharField(help_text="The key itself. Shown once: only its hash is stored.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]


TAG_BUYERS = ["staff: buyers"]


@extend_schema_view(
    list=extend_schema(summary="List buyer companies", tags=TAG_BUYERS),
    retrieve=extend_schema(summary="A buyer company", tags=TAG_BUYERS),
    create=extend_schema(summary="Register a buyer company (lender admin)", tags=TAG_BUYERS),
    partial_update=extend_schema(summary="Change a buyer company (lender admin)", tags=TAG_BUYERS),
)
class BuyerViewSet(MasterDataViewSet):
    queryset = Buyer.objects.order_by("id")
    serializer_class = BuyerSerializer
    filterset_fields = ["ruc", "region", "kind", "is_active"]
    write_roles = (roles.LENDER_ADMIN,)
    action_roles = {"revoke_api_key": (roles.LENDER_ADMIN,)}

    audit_name = "buyer"

    @extend_schema(
        summary="The buyer's API keys (prefixes only)",
        tags=TAG_BUYERS,
        responses={200: ApiKeySerializer(many=True)},
        methods=["GET"],
    )
    @extend_schema(
        summary="Issue an API key for the buyer (lender admin); the key is shown once",
        tags=TAG_BUYERS,
        request=ApiKeyIssueSerializer,
        responses={201: IssuedApiKeySerializer},
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="api-keys", pagination_class=None)
    def api_keys(self, request: Request, pk: str | None = None) -> Response:
        buyer = self.get_object()
        if request.method == "GET":
            return Response(ApiKeySerializer(buyer.api_keys.order_by("id"), many=True).data)
        return self._issue_key(request, buyer)

    @idempotent
    def _issue_key(self, request: Request, buyer: Buyer) -> Response:
        serializer = ApiKeyIssueSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        raw, key = api_key_issue(buyer=buyer, name=serializer.validated_data["name"], actor=actor_for(request))
        data = ApiKeySerializer(key).data
        return Response({**data, "key": raw}, status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Revoke one of the buyer's API keys (lender admin)",
        tags=TAG_BUYERS,
        request=None,
        responses={200: ApiKeySerializer},
    )
    @action(detail=True, methods=["post"], url_path=r"api-keys/(?P<key_id>[0-9]{1,18})/revoke")
    @idempotent
    def revoke_api_key(self, request: Request, pk: str | None = None, key_id: str | None = None) -> Response:
        buyer = self.get_object()
        key = buyer.api_keys.filter(pk=int(key_id or 0)).first()
        if key is None:
            raise exceptions.NotFound()
        return Response(ApiKeySerializer(api_key_revoke(key=key, actor=actor_for(request))).data)


# --- Suppliers ----------------------------------------------------------------------------------


class MinerBriefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Miner
        fields = ["id", "first_names", "last_names", "document_type", "document_number"]


class AmountDueSerializer(serializers.Serializer):
    loan = serializers.CharField(help_text="Loan number.")
    currency = serializers.CharField()
    amount_due = serializers.DecimalField(**MONEY)
    next_due_on = serializers.DateField(allow_null=True)


class SupplierSerializer(serializers.ModelSerializer):
    """A supplier relationship; for a buyer, with what to withhold from this miner's next settlement."""

    miner = MinerBriefSerializer(read_only=True)
    buyer_ruc = serializers.CharField(source="buyer.ruc", read_only=True)
    amount_due = serializers.SerializerMethodField()

    class Meta:
        model = SupplierRelationship
        fields = [
            "id",
            "buyer",
            "buyer_ruc",
            "miner",
            "since",
            "agreement_kind",
            "status",
            "amount_due",
            "created",
            "updated",
        ]

    @extend_schema_field(AmountDueSerializer(many=True))
    def get_amount_due(self, relationship: SupplierRelationship) -> Any:
        from installments.services import miner_amount_due

        dues = miner_amount_due(miner=relationship.miner, as_of=self.context.get("as_of") or timezone.localdate())
        rows = [
            {
                "loan": due.loan.code,
                "currency": due.currency,
                "amount_due": due.amount_due,
                "next_due_on": due.next_due_on,
            }
            for due in dues
            # A buyer withholds only for the loans it collects; staff see every loan's due.
            if self.context.get("buyer") is None or due.loan.withholding_buyer_id in (None, self.context["buyer"].pk)
        ]
        return AmountDueSerializer(rows, many=True).data


class SupplierInputSerializer(ApiModelSerializer):
    class Meta:
        model = SupplierRelationship
        fields = ["buyer", "miner", "since", "agreement_kind", "status"]
        validators: list[Any] = []


class SupplierFilter(django_filters.FilterSet):
    miner_document = django_filters.CharFilter(field_name="miner__document_number")

    class Meta:
        model = SupplierRelationship
        fields = ["miner", "status", "buyer"]


TAG_SUPPLIERS = ["suppliers"]


@extend_schema_view(
    list=extend_schema(
        summary="Suppliers: a buyer's miners with what to withhold; for staff, every relationship", tags=TAG_SUPPLIERS
    ),
    retrieve=extend_schema(summary="One supplier relationship", tags=TAG_SUPPLIERS),
    create=extend_schema(
        summary="Record a supplier relationship (staff)",
        tags=TAG_SUPPLIERS,
        request=SupplierInputSerializer,
        responses={201: SupplierSerializer},
    ),
    partial_update=extend_schema(
        summary="Suspend or end a relationship (staff)",
        tags=TAG_SUPPLIERS,
        request=SupplierInputSerializer,
        responses={200: SupplierSerializer},
    ),
)
class SupplierViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = SupplierSerializer
    filterset_class = SupplierFilter
    buyer_access = True
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[SupplierRelationship]:
        queryset = SupplierRelationship.objects.select_related("miner", "buyer").order_by("id")
        return for_requesting_buyer(queryset, self.request)

    def get_serializer_context(self) -> dict[str, Any]:
        return {**super().get_serializer_context(), "buyer": request_buyer(self.request)}

    def _staff_only(self) -> None:
        if request_buyer(self.request) is not None:
            raise exceptions.PermissionDenied("Suppliers are recorded by the lender.")

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._staff_only()
        serializer = SupplierInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        relationship = model_save_audited(
            obj=SupplierRelationship(),
            actor=actor_for(request),
            action="relationship.create",
            fields=serializer.validated_data,
        )
        return Response(self.get_serializer(relationship).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        self._staff_only()
        relationship = self.get_object()
        serializer = SupplierInputSerializer(relationship, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        relationship = model_save_audited(
            obj=relationship,
            actor=actor_for(request),
            action="relationship.update",
            fields=serializer.validated_data,
        )
        return Response(self.get_serializer(relationship).data)


# --- Settlements --------------------------------------------------------------------------------


class SettlementInputSerializer(serializers.Serializer):
    """One settlement as a buyer sends it (DOMAIN.md §4). Documentation of the fields; the values are
    validated by ``buyers.settlement_input`` — the same rules for the API, the bulk API and CSV uploads."""

    buyer = serializers.CharField(required=False, help_text="Staff only: the buyer's id or RUC.")
    miner = serializers.IntegerField(required=False, help_text="The miner's id — or give miner_document.")
    miner_document = serializers.CharField(required=False, max_length=12, help_text="The miner's DNI or CE number.")
    miner_document_type = serializers.ChoiceField(choices=["DNI", "CE"], required=False)
    lot_code = serializers.CharField(max_length=40)
    settled_on = serializers.DateField()
    currency = serializers.ChoiceField(
        choices=["USD", "PEN"], default="USD", help_text="Currency the miner is paid in."
    )
    exchange_rate = serializers.DecimalField(max_digits=10, decimal_places=4, help_text="PEN per US$.")
    wet_tonnes = serializers.DecimalField(max_digits=12, decimal_places=3, help_text="TMH.")
    moisture_pct = serializers.DecimalField(max_digits=5, decimal_places=2, help_text="H2O %.")
    grade_oz_tc = serializers.DecimalField(max_digits=10, decimal_places=4, required=False, help_text="Ley, oz/TC.")
    grade_g_t = serializers.DecimalField(max_digits=12, decimal_places=4, required=False, help_text="Or ley in g/t.")
    recovery = serializers.DecimalField(max_digits=5, decimal_places=4, help_text="Fraction, e.g. 0.84.")
    gold_price_usd_oz = serializers.DecimalField(max_digits=14, decimal_places=2, help_text="INTER, US$/oz.")
    gold_price_on = serializers.DateField(required=False)
    gold_price_source = serializers.CharField(required=False, max_length=60)
    commercial_deduction_usd_oz = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    maquila_usd_tc = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    reagents_usd_tms = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    freight_usd_tms = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    other_usd_tms = serializers.DecimalField(max_digits=14, decimal_places=2, required=False)
    declared_payable = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text="The payable the buyer computed, US$."
    )


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
    fair_price_share = serializers.DecimalField(
        max_digits=7, decimal_places=4, help_text="Payable / value of the contained gold at INTER."
    )
    fair_price_flags = serializers.ListField(child=serializers.CharField())
    withholding = serializers.SerializerMethodField()
    net_to_miner = serializers.SerializerMethodField(help_text="Payable less withholding, settlement currency.")
    status = serializers.CharField()
    voided_at = serializers.DateTimeField(allow_null=True)
    void_reason = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    created = serializers.DateTimeField()
    updated = serializers.DateTimeField()

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
            row = per_line.setdefault(
                line.pk,
                {
                    "number": line.number,
                    "due_on": line.due_on,
                    "moratory": Decimal("0.00"),
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
    "reagents_usd_tms": "30.26",
    "freight_usd_tms": "22.00",
    "other_usd_tms": "0.00",
    "dry_tonnes": "9.200",
    "value_per_tms": "1327.4816",
    "payable": "12212.83",
    "declared_payable": "12212.83",
    "payable_difference": "0.00",
    "contained_gold_usd": "16845.38",
    "fair_price_share": "0.7250",
    "fair_price_flags": ["below_fairtrade_reference"],
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
        buyer = request_buyer(request) or _buyer_named(request.query_params.get("buyer"))
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
