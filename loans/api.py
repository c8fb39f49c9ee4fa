"""Lending for the lender's systems: products, applications (maker–checker), loans, the simulator.

Disbursement is an action on the **application** (``POST loan-applications/{id}/disburse/``): the
application is what an approver approved, and disbursing it is what creates the loan, so the URL
names the thing that exists before the call. The answer is the new loan (201).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asmcredit import roles
from asmcredit.api import (
    ANY_STAFF,
    ApiDateField,
    ApiModelSerializer,
    ApiViewMixin,
    path_object,
    staff_actor,
)
from asmcredit.api_views import MasterDataViewSet
from asmcredit.fields import Currency
from asmcredit.idempotency import idempotent
from asmcredit.money import pct_to_rate
from loans import services
from loans.collateral import COLLATERAL_EDITORS, collateral_add, collateral_update
from loans.models import Collateral, Equipment, Loan, LoanApplication, LoanProduct
from loans.models import GraceKind as LoanGraceKind
from loans.schedule import GraceKind, Schedule, ScheduleError, ScheduleTerms, build_schedule
from loans.tcea import TceaError

APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
OFFICERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)

# --- Products -----------------------------------------------------------------------------------


class LoanProductSerializer(ApiModelSerializer):
    class Meta:
        model = LoanProduct
        fields = [
            "id",
            "code",
            "name",
            "purpose",
            "currency",
            "tea_pct",
            "max_tea_pct",
            "moratory_tea_pct",
            "min_amount",
            "max_amount",
            "min_term",
            "max_term",
            "grace_kind",
            "max_grace_periods",
            "insurance_monthly_rate_pct",
            "upfront_fee",
            "fee_per_installment",
            "max_withholding_share_pct",
            "max_installment_to_capacity_pct",
            "requires_reinfo",
            "requires_equipment",
            "guarantee_fund_coverage_pct",
            "is_active",
            "created",
            "updated",
        ]
        read_only_fields = ["id", "created", "updated"]
        validators: list[Any] = []
        extra_kwargs: dict[str, Any] = {"code": {"validators": []}}


PRODUCT_EXAMPLE = {
    "code": "equipo-hg0",
    "name": "Equipo libre de mercurio",
    "purpose": "mercury_free_equipment",
    "currency": "PEN",
    "tea_pct": "40.0000",
    "max_tea_pct": "60.0000",
    "min_amount": "1000.00",
    "max_amount": "100000.00",
    "min_term": 3,
    "max_term": 36,
}


@extend_schema_view(
    list=extend_schema(summary="List loan products", tags=["staff: products"]),
    retrieve=extend_schema(summary="A loan product", tags=["staff: products"]),
    create=extend_schema(
        summary="Create a loan product (lender admin)",
        tags=["staff: products"],
        examples=[OpenApiExample("Equipment product", value=PRODUCT_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(summary="Change a loan product (lender admin)", tags=["staff: products"]),
)
class LoanProductViewSet(MasterDataViewSet):
    queryset = LoanProduct.objects.order_by("id")
    serializer_class = LoanProductSerializer
    filterset_fields = ["purpose", "currency", "is_active", "code"]
    write_roles = (roles.LENDER_ADMIN,)

    audit_name = "product"


# --- Schedules (shared by simulations, application previews and loans) ---------------------------


class ScheduleRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    days = serializers.IntegerField()
    opening_balance = serializers.DecimalField(max_digits=16, decimal_places=2)
    principal = serializers.DecimalField(max_digits=16, decimal_places=2)
    interest = serializers.DecimalField(max_digits=16, decimal_places=2)
    insurance = serializers.DecimalField(max_digits=16, decimal_places=2)
    fees = serializers.DecimalField(max_digits=16, decimal_places=2)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)
    closing_balance = serializers.DecimalField(max_digits=16, decimal_places=2)
    capitalized = serializers.DecimalField(max_digits=16, decimal_places=2)


class ScheduleTotalsSerializer(serializers.Serializer):
    principal = serializers.DecimalField(max_digits=16, decimal_places=2)
    interest = serializers.DecimalField(max_digits=16, decimal_places=2)
    insurance = serializers.DecimalField(max_digits=16, decimal_places=2)
    fees = serializers.DecimalField(max_digits=16, decimal_places=2)
    total = serializers.DecimalField(max_digits=16, decimal_places=2)


class ScheduleSerializer(serializers.Serializer):
    """A cronograma: the installment (principal + interest), TEA and TCEA in percent, every row."""

    tea_pct = serializers.DecimalField(max_digits=12, decimal_places=4)
    tcea_pct = serializers.DecimalField(max_digits=12, decimal_places=2)
    installment = serializers.DecimalField(max_digits=16, decimal_places=2)
    net_received = serializers.DecimalField(max_digits=16, decimal_places=2)
    totals = ScheduleTotalsSerializer()
    rows = ScheduleRowSerializer(many=True)


def schedule_data(schedule: Schedule) -> dict[str, Any]:
    return {
        "tea_pct": schedule.terms.tea * 100,
        "tcea_pct": schedule.tcea,
        "installment": schedule.installment,
        "net_received": schedule.terms.net_received,
        "totals": {
            "principal": schedule.total_principal,
            "interest": schedule.total_interest,
            "insurance": schedule.total_insurance,
            "fees": schedule.total_fees,
            "total": schedule.total_paid,
        },
        "rows": [line.__dict__ for line in schedule.lines],
    }


# --- Simulations --------------------------------------------------------------------------------

FIELD_FOR_TERM = {
    "principal": "amount",
    "tea": "tea",
    "installments": "term",
    "first_due_on": "first_due_date",
    "grace_periods": "grace_periods",
    "grace_kind": "grace_kind",
    "insurance_monthly_rate": "insurance_monthly_rate",
    "fee_per_installment": "fee_per_installment",
    "upfront_fees": "upfront_fees",
    "due_dates": "due_dates",
}


class SimulationInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    tea = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(1000),
        help_text="TEA in percent (40 = 40%), 360-day year.",
    )
    term = serializers.IntegerField(min_value=1, max_value=120, help_text="Installments, grace included.")
    disbursement_date = ApiDateField()
    first_due_date = ApiDateField()
    grace_periods = serializers.IntegerField(min_value=0, max_value=119, default=0)
    grace_kind = serializers.ChoiceField(choices=LoanGraceKind.choices, default="none")
    insurance_monthly_rate = serializers.DecimalField(
        max_digits=9,
        decimal_places=4,
        min_value=Decimal(0),
        max_value=Decimal(100),
        default=Decimal(0),
        help_text="Credit-life insurance, percent per month.",
    )
    fee_per_installment = serializers.DecimalField(
        max_digits=14, decimal_places=2, min_value=Decimal(0), default=Decimal(0)
    )
    upfront_fees = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal(0), default=Decimal(0))
    due_dates = serializers.ListField(
        child=ApiDateField(),
        required=False,
        max_length=120,
        help_text="Optional: every due date (one per installment, the first = first_due_date), when some "
        "are moved off the fixed day of the month.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["first_due_date"] <= attrs["disbursement_date"]:
            raise serializers.ValidationError({"first_due_date": "The first due date must come after disbursement."})
        if (attrs["first_due_date"] - attrs["disbursement_date"]).days > 366:
            raise serializers.ValidationError({"first_due_date": "The first due date must be within a year."})
        return attrs

    def build(self) -> Schedule:
        data = self.validated_data
        terms = ScheduleTerms(
            principal=data["amount"],
            tea=pct_to_rate(data["tea"]),
            disbursed_on=data["disbursement_date"],
            first_due_on=data["first_due_date"],
            installments=data["term"],
            grace_periods=data["grace_periods"],
            grace_kind=GraceKind(data["grace_kind"]),
            insurance_monthly_rate=pct_to_rate(data["insurance_monthly_rate"]),
            fee_per_installment=data["fee_per_installment"],
            upfront_fees=data["upfront_fees"],
            due_dates=tuple(data["due_dates"]) if data.get("due_dates") else None,
        )
        try:
            return build_schedule(terms)
        except ScheduleError as exc:
            raise serializers.ValidationError(
                {FIELD_FOR_TERM.get(exc.field, "non_field_errors"): [exc.message]}
            ) from exc
        except (TceaError, ArithmeticError) as exc:
            raise serializers.ValidationError({"non_field_errors": [f"These terms have no TCEA: {exc}"]}) from exc


SIMULATION_EXAMPLE = {
    "amount": "10000.00",
    "tea": "40",
    "term": 6,
    "disbursement_date": "2025-01-15",
    "first_due_date": "2025-02-17",
}


class SimulationView(ApiViewMixin, APIView):
    """The loan simulator: any authenticated client (buyer, any staff role) may use it; nothing is saved."""

    buyer_access = True
    write_roles = ANY_STAFF

    @extend_schema(
        summary="Simulate a loan: installment, TCEA and the whole cronograma",
        tags=["simulator"],
        request=SimulationInputSerializer,
        responses={200: ScheduleSerializer},
        examples=[OpenApiExample("DOMAIN.md worked example", value=SIMULATION_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request) -> Response:
        serializer = SimulationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(ScheduleSerializer(schedule_data(serializer.build())).data)


class LoanSerializer(ApiModelSerializer):
    next_due_on = serializers.SerializerMethodField(
        help_text="The due date of the first installment not fully paid, overdue or not (an installment paid "
        "early is skipped, one paid in part is not); null once every installment is paid."
    )

    class Meta:
        model = Loan
        fields = [
            "id",
            "code",
            "application",
            "miner",
            "product",
            "withholding_buyer",
            "equipment",
            "currency",
            "principal",
            "tea_pct",
            "moratory_tea_pct",
            "tcea_pct",
            "insurance_monthly_rate_pct",
            "upfront_fees",
            "fee_per_installment",
            "term",
            "grace_kind",
            "grace_periods",
            "installment_amount",
            "disbursed_on",
            "first_due_on",
            "payee",
            "payee_supplier",
            "disbursement_reference",
            "status",
            "schedule_version",
            "outstanding_principal",
            "overdue_amount",
            "moratory_accrued",
            "late_interest_accrued",
            "overpayment_credit",
            "days_past_due",
            "category",
            "rated_category",
            "rated_on",
            "withholding_treatment",
            "next_due_on",
            "state_as_of",
            "is_refinanced",
            "refinanced_on",
            "refinance_category",
            "refinance_floor",
            "refinance_punctual_since",
            "created",
            "updated",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.DateField(allow_null=True))
    def get_next_due_on(self, loan: Loan) -> str | None:
        from installments.next_due import loans_with_next_due

        if not hasattr(loan, "next_unpaid_due_on"):  # a loan not read through LoanViewSet (a disbursement)
            loan = loans_with_next_due(Loan.objects.filter(pk=loan.pk)).get()
        due_on = loan.next_unpaid_due_on  # type: ignore[attr-defined]
        return due_on.isoformat() if due_on else None


# --- Applications -------------------------------------------------------------------------------


class ApplicationSerializer(ApiModelSerializer):
    prepared_by = serializers.CharField(source="prepared_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True, default=None)
    loan = serializers.SerializerMethodField()

    class Meta:
        model = LoanApplication
        fields = [
            "id",
            "miner",
            "product",
            "amount",
            "term",
            "tea_pct",
            "disbursement_date",
            "first_due_on",
            "grace_periods",
            "equipment",
            "withholding_buyer",
            "purpose_note",
            "status",
            "prepared_by",
            "submitted_at",
            "decided_by",
            "decided_at",
            "decision_comment",
            "approved_as_exception",
            "exception_justification",
            "underwriting",
            "is_refinancing",
            "refinanced_loans",
            "loan",
            "created",
            "updated",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_loan(self, application: LoanApplication) -> int | None:
        try:
            return application.loan.pk
        except Loan.DoesNotExist:
            return None


class ApplicationInputSerializer(ApiModelSerializer):
    tea_pct = serializers.DecimalField(max_digits=9, decimal_places=4, min_value=Decimal(0), required=False)
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    term = serializers.IntegerField(min_value=1, max_value=360)
    grace_periods = serializers.IntegerField(min_value=0, max_value=359, required=False)

    class Meta:
        model = LoanApplication
        fields = [
            "miner",
            "product",
            "amount",
            "term",
            "tea_pct",
            "disbursement_date",
            "first_due_on",
            "grace_periods",
            "equipment",
            "withholding_buyer",
            "purpose_note",
        ]


class DecisionSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2000,
        help_text="Required (at least 20 characters) when the frozen underwriting panel failed an eligibility "
        "rule: the approval is then recorded and reported as an exception.",
    )


class RejectionSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class DisburseSerializer(serializers.Serializer):
    disbursed_on = ApiDateField(
        required=False,
        help_text="Defaults to today (Lima); never in the future nor before the approval. On another day than "
        "the application's planned date the cronograma is regenerated from it: the same payment day of the "
        "month, the first due date the one nearest to the planned first period, and a new TCEA. A TEA or "
        "moratory TEA above the BCRP cap in force that day is a 400 naming `tea_pct` or `moratory_tea_pct`.",
    )
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=60)


class ApplicationFilter(django_filters.FilterSet):
    class Meta:
        model = LoanApplication
        fields = ["status", "miner", "product", "withholding_buyer", "approved_as_exception"]


APPLICATION_EXAMPLE = {
    "miner": 1,
    "product": 1,
    "amount": "10000.00",
    "term": 6,
    "disbursement_date": "2025-01-15",
    "first_due_on": "2025-02-17",
    "withholding_buyer": 1,
}
TAG_APPLICATIONS = ["staff: loan applications"]


@extend_schema_view(
    list=extend_schema(summary="List applications", tags=TAG_APPLICATIONS),
    retrieve=extend_schema(summary="An application", tags=TAG_APPLICATIONS),
    create=extend_schema(
        summary="Prepare an application (loan officer)",
        tags=TAG_APPLICATIONS,
        request=ApplicationInputSerializer,
        responses={201: ApplicationSerializer},
        examples=[OpenApiExample("Application", value=APPLICATION_EXAMPLE, request_only=True)],
    ),
    partial_update=extend_schema(
        summary="Edit a draft application (loan officer); its preparer may edit a submitted one, back to draft",
        tags=TAG_APPLICATIONS,
        request=ApplicationInputSerializer,
        responses={200: ApplicationSerializer},
    ),
)
class LoanApplicationViewSet(
    ApiViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = (
        LoanApplication.objects.select_related("prepared_by", "decided_by", "loan")
        .prefetch_related("refinanced_loans")
        .order_by("id")
    )
    serializer_class = ApplicationSerializer
    filterset_class = ApplicationFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    action_roles = {
        "submit": OFFICERS,
        "withdraw": OFFICERS,
        "cancel": OFFICERS,
        "disburse": OFFICERS,
        "approve": APPROVERS,
        "reject": APPROVERS,
    }

    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = ApplicationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.application_create(prepared_by=request.user, **serializer.validated_data)
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        application = self.get_object()
        serializer = ApplicationInputSerializer(application, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {k: v for k, v in serializer.validated_data.items() if k not in {"miner", "product"}}
        if set(serializer.validated_data) & {"miner", "product"}:
            raise serializers.ValidationError({"miner": ["Start a new application to change the miner or product."]})
        application = services.application_update(application=application, actor=request.user, **changes)
        return Response(ApplicationSerializer(application).data)

    @extend_schema(
        summary="Submit a draft to the credit committee",
        tags=TAG_APPLICATIONS,
        request=None,
        responses={200: ApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def submit(self, request: Request, pk: str | None = None) -> Response:
        application = services.application_submit(application=self.get_object(), actor=request.user)
        return Response(ApplicationSerializer(application).data)

    @extend_schema(
        summary="Withdraw a submitted application to draft (its preparer only) to change it",
        tags=TAG_APPLICATIONS,
        request=None,
        responses={200: ApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        application = services.application_withdraw(application=self.get_object(), actor=request.user)
        return Response(ApplicationSerializer(application).data)

    def _transition(
        self, request: Request, input_serializer: type[serializers.Serializer], service: Any, user_arg: str, text: str
    ) -> Response:
        """Validate the body, call the application service as ``user_arg=request.user`` with the body's
        ``text`` field, and answer with the application."""
        serializer = input_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = service(
            application=self.get_object(), **{user_arg: request.user, text: serializer.validated_data[text]}
        )
        return Response(ApplicationSerializer(application).data)

    @extend_schema(
        summary="Approve (credit approver, never the preparer nor anyone who edited it)",
        tags=TAG_APPLICATIONS,
        request=DecisionSerializer,
        responses={200: ApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, DecisionSerializer, services.application_approve, "approver", "comment")

    @extend_schema(
        summary="Reject with a reason (credit approver, never the preparer)",
        tags=TAG_APPLICATIONS,
        request=RejectionSerializer,
        responses={200: ApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, RejectionSerializer, services.application_reject, "approver", "reason")

    @extend_schema(
        summary="Cancel an undisbursed application",
        tags=TAG_APPLICATIONS,
        request=CancelSerializer,
        responses={200: ApplicationSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        return self._transition(request, CancelSerializer, services.application_cancel, "actor", "reason")

    @extend_schema(
        summary="The cronograma this application would be disbursed with",
        tags=TAG_APPLICATIONS,
        responses={200: ScheduleSerializer},
    )
    @action(detail=True, methods=["get"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        return Response(ScheduleSerializer(schedule_data(services.application_schedule(self.get_object()))).data)

    @extend_schema(
        summary="Disburse an approved application: creates the loan",
        tags=TAG_APPLICATIONS,
        request=DisburseSerializer,
        responses={201: LoanSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def disburse(self, request: Request, pk: str | None = None) -> Response:
        from installments.services import loan_disburse

        serializer = DisburseSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        loan = loan_disburse(application=self.get_object(), actor=staff_actor(request), **serializer.validated_data)
        return Response(LoanSerializer(loan).data, status=status.HTTP_201_CREATED)


# --- Loans --------------------------------------------------------------------------------------


class LoanFilter(django_filters.FilterSet):
    disbursed_from = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="gte")
    disbursed_to = django_filters.DateFilter(field_name="disbursed_on", lookup_expr="lte")
    min_days_past_due = django_filters.NumberFilter(field_name="days_past_due", lookup_expr="gte")

    class Meta:
        model = Loan
        fields = ["status", "miner", "product", "withholding_buyer", "currency", "code"]


class InstallmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_on = serializers.DateField()
    days = serializers.IntegerField()
    opening_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    principal = serializers.DecimalField(max_digits=14, decimal_places=2)
    interest = serializers.DecimalField(max_digits=14, decimal_places=2)
    insurance = serializers.DecimalField(max_digits=14, decimal_places=2)
    fees = serializers.DecimalField(max_digits=14, decimal_places=2)
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    closing_balance = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_principal = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_interest = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_insurance = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_fees = serializers.DecimalField(max_digits=14, decimal_places=2)
    moratory_accrued = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_moratory = serializers.DecimalField(max_digits=14, decimal_places=2)
    paid_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()


class LoanScheduleSerializer(serializers.Serializer):
    loan = serializers.CharField(help_text="Loan number.")
    currency = serializers.CharField()
    tea_pct = serializers.DecimalField(max_digits=9, decimal_places=4)
    tcea_pct = serializers.DecimalField(max_digits=9, decimal_places=4)
    version = serializers.IntegerField()
    installments = InstallmentSerializer(many=True)


@extend_schema_view(
    list=extend_schema(summary="List loans", tags=["staff: loans"]),
    retrieve=extend_schema(summary="A loan with its derived state", tags=["staff: loans"]),
)
class LoanViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Loan.objects.order_by("id")
    serializer_class = LoanSerializer
    filterset_class = LoanFilter

    def get_queryset(self) -> Any:
        from installments.next_due import loans_with_next_due

        return loans_with_next_due(super().get_queryset())

    @extend_schema(
        summary="The loan's current cronograma with what was paid",
        tags=["staff: loans"],
        responses={200: LoanScheduleSerializer},
    )
    @action(detail=True, methods=["get"])
    def schedule(self, request: Request, pk: str | None = None) -> Response:
        loan = self.get_object()
        lines = loan.schedule_lines.filter(is_current=True).order_by("number")
        data = {
            "loan": loan.code,
            "currency": loan.currency,
            "tea_pct": loan.tea_pct,
            "tcea_pct": loan.tcea_pct,
            "version": loan.schedule_version,
            "installments": lines,
        }
        return Response(LoanScheduleSerializer(data).data)


# --- Collateral (garantía mobiliaria) -------------------------------------------------------------


class CollateralSerializer(ApiModelSerializer):
    loan_code = serializers.CharField(source="loan.code", read_only=True)
    recorded_by = serializers.CharField(source="recorded_by.username", read_only=True)
    is_registered = serializers.BooleanField(
        read_only=True,
        help_text="Entry number and registration date present and not released: a preferred guarantee, so "
        "the part of the loan its appraised value covers is provisioned at the preferred-guarantee rates.",
    )

    class Meta:
        model = Collateral
        fields = [
            "id",
            "loan",
            "loan_code",
            "equipment",
            "description",
            "registry_entry",
            "registered_on",
            "appraised_value",
            "currency",
            "appraised_on",
            "insurer",
            "policy_number",
            "policy_expires_on",
            "released_on",
            "is_registered",
            "recorded_by",
            "created",
            "updated",
        ]
        read_only_fields = fields


class CollateralInputSerializer(serializers.Serializer):
    """What a person writes of a collateral; the service checks the whole (every bad field at once)."""

    # Blank passes here so the service names it with every other bad field at once.
    description = serializers.CharField(max_length=300, allow_blank=True)
    equipment = serializers.PrimaryKeyRelatedField(
        queryset=Equipment.objects.all(),
        required=False,
        allow_null=True,
        help_text="The financed equipment when that is what is pledged (only the loan's own).",
    )
    registry_entry = serializers.CharField(
        max_length=40,
        required=False,
        allow_blank=True,
        help_text="Registro Mobiliario de Contratos (SUNARP) entry of the pledge; with registered_on.",
    )
    registered_on = ApiDateField(required=False, allow_null=True)
    appraised_value = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    currency = serializers.ChoiceField(
        choices=Currency.choices, required=False, help_text="Of the appraisal; defaults to the loan's."
    )
    appraised_on = ApiDateField()
    insurer = serializers.CharField(max_length=200, required=False, allow_blank=True)
    policy_number = serializers.CharField(max_length=60, required=False, allow_blank=True)
    policy_expires_on = ApiDateField(required=False, allow_null=True)
    released_on = ApiDateField(
        required=False, allow_null=True, help_text="The pledge lifted (loan paid off, or given up). PATCH only."
    )


COLLATERAL_EXAMPLE = {
    "description": "Concentrador centrífugo Knelson KC-MD3, serie 2231",
    "equipment": 1,
    "registry_entry": "RMC-2025-004512",
    "registered_on": "2025-02-03",
    "appraised_value": "20000.00",
    "currency": "PEN",
    "appraised_on": "2025-01-20",
    "insurer": "Rímac Seguros",
    "policy_number": "POL-778812",
    "policy_expires_on": "2026-01-20",
}
TAG_COLLATERAL = ["staff: loans"]


def _collateral(pk: int) -> Collateral:
    return Collateral.objects.select_related("loan", "recorded_by").get(pk=pk)


class LoanCollateralView(ApiViewMixin, APIView):
    """``GET|POST loans/{id}/collateral/``: a loan's collateral, and recording more."""

    write_roles = COLLATERAL_EDITORS

    def _loan(self, loan_pk: str) -> Loan:
        return path_object(Loan, loan_pk)  # type: ignore[no-any-return]

    @extend_schema(
        summary="A loan's collateral (garantía mobiliaria), released ones included",
        tags=TAG_COLLATERAL,
        responses={200: CollateralSerializer(many=True)},
    )
    def get(self, request: Request, loan_pk: str) -> Response:
        loan = self._loan(loan_pk)
        rows = Collateral.objects.filter(loan=loan).select_related("loan", "recorded_by").order_by("id")
        return Response(CollateralSerializer(rows, many=True).data)

    @extend_schema(
        summary="Record collateral on an active loan (loan officer, credit approver)",
        tags=TAG_COLLATERAL,
        request=CollateralInputSerializer,
        responses={201: CollateralSerializer},
        examples=[OpenApiExample("Registered equipment pledge", value=COLLATERAL_EXAMPLE, request_only=True)],
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        loan = self._loan(loan_pk)
        serializer = CollateralInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        if values.pop("released_on", None) is not None:
            raise serializers.ValidationError({"released_on": ["Record the collateral first, then its release."]})
        made = collateral_add(loan=loan, actor=staff_actor(request), **values)
        return Response(CollateralSerializer(_collateral(made.pk)).data, status=status.HTTP_201_CREATED)


@extend_schema_view(
    retrieve=extend_schema(summary="One collateral", tags=TAG_COLLATERAL),
    partial_update=extend_schema(
        summary="Change a collateral: its registration, appraisal, policy or release (officer, approver)",
        tags=TAG_COLLATERAL,
        request=CollateralInputSerializer,
        responses={200: CollateralSerializer},
    ),
)
class CollateralViewSet(ApiViewMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = CollateralSerializer
    write_roles = COLLATERAL_EDITORS
    http_method_names = ["get", "patch", "head", "options"]

    def get_queryset(self) -> Any:
        return Collateral.objects.select_related("loan", "recorded_by").order_by("id")

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = CollateralInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changed = collateral_update(
            collateral=self.get_object(), actor=staff_actor(request), **serializer.validated_data
        )
        return Response(CollateralSerializer(_collateral(changed.pk)).data)
