"""Buyer master data in the API: buyer companies, their API keys and supplier relationships.

The servicing a buyer's system does every day (settlements, remittances, statements) is in
``installments.api.buyers``. Isolation: for a buyer (its API key, or a login linked to it) every queryset
here is filtered by that buyer, so another buyer's supplier is a 404 and another buyer's miner is a 400
on ``miner``. Staff see everything and name the buyer when they write on its behalf.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import SAFE_METHODS
from rest_framework.request import Request
from rest_framework.response import Response

from asmcredit import roles
from asmcredit.api import (
    STAFF_WRITERS,
    ApiDateField,
    ApiModelSerializer,
    ApiViewMixin,
    actor_for,
    for_requesting_buyer,
    model_save_audited,
    request_buyer,
)
from asmcredit.api_views import MasterDataViewSet
from asmcredit.idempotency import idempotent
from buyers.models import ApiKey, Buyer, SupplierRelationship
from buyers.services import api_key_issue, api_key_revoke, buyer_terms_add
from buyers.terms import MAX_BAND_FEE, MAX_BAND_GRADE
from buyers.terms import MaquilaBand as Band
from miners.api import mask_identifiers
from miners.models import Miner

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


def for_requesting_buyer_self(queryset: QuerySet[Buyer], request: Request) -> QuerySet[Buyer]:
    """Buyers as a client may see them: a buyer only itself, staff every buyer."""
    buyer = request_buyer(request)
    return queryset.filter(pk=buyer.pk) if buyer is not None else queryset


def buyer_named(value: Any, field: str = "buyer") -> Buyer:
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
    return buyer_named(data.get("buyer") if isinstance(data, dict) else None)


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


# --- Agreed terms -------------------------------------------------------------------------------


class MaquilaBandSerializer(serializers.Serializer):
    min_grade_oz_tc = serializers.DecimalField(
        max_digits=10, decimal_places=4, min_value=Decimal(0), max_value=MAX_BAND_GRADE, help_text="From (oz/TC)."
    )
    max_grade_oz_tc = serializers.DecimalField(
        max_digits=10,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=MAX_BAND_GRADE,
        allow_null=True,
        required=False,
        default=None,
        help_text="To (oz/TC, exclusive); null for no upper end (the last band only).",
    )
    maquila_usd_tc = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), max_value=MAX_BAND_FEE, help_text="US$ per short ton."
    )


class TermsVersionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    effective_from = serializers.DateField(help_text="In force from this date until the next version's.")
    commercial_deduction_usd_oz = serializers.DecimalField(
        allow_null=True, help_text="Agreed RC, US$/oz (null: not agreed, not checked).", **MONEY
    )
    recovery = serializers.DecimalField(
        max_digits=5, decimal_places=4, allow_null=True, help_text="Agreed recovery (null: not agreed)."
    )
    bands = MaquilaBandSerializer(many=True, help_text="The maquila scale, by grade.")
    note = serializers.CharField()
    created = serializers.DateTimeField()


class BuyerTermsSerializer(serializers.Serializer):
    buyer = serializers.IntegerField()
    as_of = serializers.DateField(help_text="Today: the date `current` is in force on.")
    current = TermsVersionSerializer(allow_null=True, help_text="The version in force today, if any.")
    history = TermsVersionSerializer(many=True, help_text="Every version, newest first (future ones included).")


class BuyerTermsInputSerializer(serializers.Serializer):
    effective_from = ApiDateField(help_text="From 2000-01-01 to a year ahead; one version per buyer and date.")
    commercial_deduction_usd_oz = serializers.DecimalField(
        required=False,
        allow_null=True,
        default=None,
        min_value=Decimal(0),
        max_value=Decimal(5000),
        help_text="Agreed RC, US$/oz; omit if not agreed.",
        **MONEY,
    )
    recovery = serializers.DecimalField(
        max_digits=5,
        decimal_places=4,
        required=False,
        allow_null=True,
        default=None,
        min_value=Decimal("0.0001"),
        max_value=Decimal(1),
        help_text="Agreed recovery factor (0.84); omit if not agreed.",
    )
    bands = MaquilaBandSerializer(
        many=True,
        required=False,
        default=list,
        help_text="In ascending order of grade, not overlapping; a 400 on `bands` names the band at fault.",
    )
    note = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


TERMS_EXAMPLE = {
    "effective_from": "2025-07-01",
    "commercial_deduction_usd_oz": "80.00",
    "recovery": "0.8400",
    "bands": [
        {"min_grade_oz_tc": "0.0000", "max_grade_oz_tc": "0.3000", "maquila_usd_tc": "90.00"},
        {"min_grade_oz_tc": "0.3000", "max_grade_oz_tc": "0.8000", "maquila_usd_tc": "110.00"},
        {"min_grade_oz_tc": "0.8000", "max_grade_oz_tc": None, "maquila_usd_tc": "130.00"},
    ],
    "note": "Addendum 3 to the supply contract",
}


def _version_data(version: Any) -> dict[str, Any]:
    return {
        "id": version.pk,
        "effective_from": version.effective_from,
        "commercial_deduction_usd_oz": version.commercial_deduction_usd_oz,
        "recovery": version.recovery,
        "bands": [
            {
                "min_grade_oz_tc": band.min_grade_oz_tc,
                "max_grade_oz_tc": band.max_grade_oz_tc,
                "maquila_usd_tc": band.maquila_usd_tc,
            }
            for band in version.bands.all()
        ],
        "note": version.note,
        "created": version.created,
    }


def buyer_terms_data(buyer: Buyer) -> dict[str, Any]:
    """A buyer's agreed terms: the version in force today and every version, newest first."""
    today = timezone.localdate()
    history = list(buyer.terms_versions.prefetch_related("bands").order_by("-effective_from"))
    current = next((version for version in history if version.effective_from <= today), None)
    return {
        "buyer": buyer.pk,
        "as_of": today,
        "current": _version_data(current) if current is not None else None,
        "history": [_version_data(version) for version in history],
    }


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
    # ``terms``: every staff role reads; loan officers and lender admins add versions (checked in the view).
    action_roles = {"revoke_api_key": (roles.LENDER_ADMIN,), "terms": roles.ROLES}

    audit_name = "buyer"

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # A buyer reads its own agreed terms and nothing else of the buyers' master data; it never writes.
        self.buyer_access = self.action == "terms" and request.method in SAFE_METHODS
        super().initial(request, *args, **kwargs)

    def get_queryset(self) -> QuerySet[Buyer]:
        # Another buyer's terms are a 404 to a buyer, as anything of another buyer is.
        return for_requesting_buyer_self(super().get_queryset(), self.request)

    @extend_schema(
        summary="The buyer's agreed terms: the version in force and every version (a buyer: its own)",
        tags=TAG_BUYERS,
        responses={200: BuyerTermsSerializer},
        methods=["GET"],
    )
    @extend_schema(
        summary="Add a version of the buyer's agreed terms: RC, recovery, maquila scale (loan officer, admin)",
        description="A new version takes effect on `effective_from` and stays in force until a later version's; "
        "settlements are valued and checked against the version in force on their date, and a settlement that "
        "omits its maquila takes the scale's for its grade. Versions are never edited.",
        tags=TAG_BUYERS,
        request=BuyerTermsInputSerializer,
        responses={201: BuyerTermsSerializer},
        examples=[OpenApiExample("Terms from July", value=TERMS_EXAMPLE, request_only=True)],
        methods=["POST"],
    )
    @action(detail=True, methods=["get", "post"], url_path="terms", pagination_class=None)
    def terms(self, request: Request, pk: str | None = None) -> Response:
        buyer = self.get_object()
        if request.method == "GET":
            return Response(BuyerTermsSerializer(buyer_terms_data(buyer)).data)
        if not roles.has_role(request.user, *STAFF_WRITERS):
            raise exceptions.PermissionDenied("Only loan officers and lender admins change a buyer's agreed terms.")
        return self._add_terms(request, buyer)

    @idempotent
    def _add_terms(self, request: Request, buyer: Buyer) -> Response:
        serializer = BuyerTermsInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        bands = [
            Band(band["min_grade_oz_tc"], band.get("max_grade_oz_tc"), band["maquila_usd_tc"]) for band in data["bands"]
        ]
        buyer_terms_add(
            buyer=buyer,
            actor=actor_for(request),
            effective_from=data["effective_from"],
            bands=bands,
            commercial_deduction_usd_oz=data["commercial_deduction_usd_oz"],
            recovery=data["recovery"],
            note=data["note"],
        )
        return Response(BuyerTermsSerializer(buyer_terms_data(buyer)).data, status=status.HTTP_201_CREATED)

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
    def to_representation(self, instance: Miner) -> dict[str, Any]:
        return mask_identifiers(super().to_representation(instance), self.context.get("request"))

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
