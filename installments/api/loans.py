"""Servicing for the lender's systems: direct payments on a loan, risk ratings, portfolio aggregates.

Payments are a sub-resource of the loan (``loans/{id}/payments/``): GET lists the loan's payment-like
transactions (direct payments, prepayments, withholdings, reversals) with how each was allocated;
POST records a direct payment (miner paying at a branch), allocated like any other.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Max, QuerySet
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asmcredit.api import ApiDateField, ApiViewMixin, path_object, staff_actor
from asmcredit.fields import Currency
from asmcredit.idempotency import idempotent
from buyers.models import Buyer
from installments.models import LoanRating, LoanTransaction
from loans.models import Loan, LoanProduct

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}
PAYMENT_KINDS = ("payment", "prepayment", "withholding", "reversal", "credit_refund", "credit_transfer")


class AllocationSerializer(serializers.Serializer):
    installment = serializers.IntegerField(source="schedule_line.number", allow_null=True, default=None)
    due_on = serializers.DateField(source="schedule_line.due_on", allow_null=True, default=None)
    component = serializers.CharField(
        help_text="moratory, late_interest (compensatory interest on overdue principal), interest, "
        "deferred_interest (a reprogramación's payment holiday, spread over the new installments), insurance, "
        "fees, principal, or overpayment (beyond everything owed: a credit in the miner's favour, on no "
        "installment)."
    )
    amount = serializers.DecimalField(**MONEY)


class PaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan = serializers.IntegerField(source="loan_id")
    kind = serializers.CharField()
    value_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)
    currency = serializers.CharField()
    reference = serializers.CharField()
    prepayment_mode = serializers.CharField()
    treatment = serializers.CharField(help_text="What was asked for: auto, pago_anticipado or adelanto.")
    settlement = serializers.IntegerField(source="settlement_id", allow_null=True)
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)
    recorded_at = serializers.DateTimeField()
    allocations = AllocationSerializer(many=True)


class PaymentInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    paid_on = ApiDateField()
    reference = serializers.CharField(required=False, allow_blank=True, default="", max_length=80)
    prepayment_mode = serializers.ChoiceField(
        choices=["reduce_term", "reduce_installment"],
        required=False,
        allow_null=True,
        default=None,
        help_text="For a pago anticipado (more than 2 installments' worth): shorter term (default) or "
        "lower installment.",
    )
    treatment = serializers.ChoiceField(
        choices=["auto", "pago_anticipado", "adelanto"],
        required=False,
        default="auto",
        help_text="auto (default): more than two installments, counting the exigible one, is a pago "
        "anticipado, up to that an adelanto de cuotas. pago_anticipado / adelanto: the borrower asked for "
        "the other treatment. An amount that reaches the payoff always closes the loan.",
    )

    def validate_paid_on(self, value: dt.date) -> dt.date:
        if value > timezone.localdate():
            raise serializers.ValidationError("A payment cannot be dated in the future.")
        return value


class PaymentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=[(k, k) for k in PAYMENT_KINDS])
    value_from = django_filters.DateFilter(field_name="value_date", lookup_expr="gte")
    value_to = django_filters.DateFilter(field_name="value_date", lookup_expr="lte")


PAYMENT_EXAMPLE = {"amount": "1838.45", "paid_on": "2025-02-17", "reference": "Caja Arequipa op. 5521"}


@extend_schema_view(
    list=extend_schema(
        summary="The loan's payments, withholdings and reversals with allocations", tags=["staff: loans"]
    ),
)
class PaymentViewSet(ApiViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = PaymentSerializer
    filterset_class = PaymentFilter

    def loan(self) -> Loan:
        return _loan_from_path(self.kwargs.get("loan_pk"))

    def get_queryset(self) -> QuerySet[LoanTransaction]:
        if getattr(self, "swagger_fake_view", False):
            return LoanTransaction.objects.none()
        return (
            LoanTransaction.objects.filter(loan=self.loan(), kind__in=PAYMENT_KINDS)
            .prefetch_related("allocations__schedule_line")
            .order_by("value_date", "id")
        )

    @extend_schema(
        summary="Record a direct payment (miner paid at a branch)",
        tags=["staff: loans"],
        request=PaymentInputSerializer,
        responses={201: PaymentSerializer},
        examples=[OpenApiExample("Installment paid at a branch", value=PAYMENT_EXAMPLE, request_only=True)],
    )
    @idempotent
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        from installments.services import payment_record

        loan = self.loan()
        serializer = PaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        transaction = payment_record(loan=loan, actor=staff_actor(request), **serializer.validated_data)
        transaction = LoanTransaction.objects.prefetch_related("allocations__schedule_line").get(pk=transaction.pk)
        return Response(PaymentSerializer(transaction).data, status=status.HTTP_201_CREATED)


# --- Payoff and overpayment credit --------------------------------------------------------------


def _loan_from_path(value: Any) -> Loan:
    return path_object(Loan, value)  # type: ignore[no-any-return]


class PayoffQuerySerializer(serializers.Serializer):
    on = ApiDateField(required=False, help_text="The day of payment (default: today).")


class PayoffSerializer(serializers.Serializer):
    loan = serializers.IntegerField()
    on = serializers.DateField()
    currency = serializers.CharField()
    amount = serializers.DecimalField(**MONEY, help_text="What closes the loan that day, at exactly zero.")
    exigible = serializers.DecimalField(**MONEY, help_text="Installments due on or before the day, late charges in.")
    exigible_moratory = serializers.DecimalField(**MONEY)
    exigible_late_interest = serializers.DecimalField(
        **MONEY, help_text="Compensatory interest on overdue principal after its due dates."
    )
    principal = serializers.DecimalField(**MONEY, help_text="Principal of the installments not yet due.")
    interest = serializers.DecimalField(**MONEY, help_text="The current period's interest accrued to the day.")
    insurance = serializers.DecimalField(**MONEY, help_text="The current period's insurance accrued to the day.")
    deferred_interest = serializers.DecimalField(
        **MONEY, help_text="Interest a reprogramación deferred, unpaid on the installments not yet due (owed in full)."
    )
    credit_back = serializers.DecimalField(
        **MONEY, help_text="Interest, insurance and fees already paid for days after the day, credited back."
    )
    overpayment_credit = serializers.DecimalField(**MONEY, help_text="A credit the loan already holds.")


@extend_schema(
    summary="Payoff quote: the amount that closes the loan on a day, with its parts",
    tags=["staff: loans"],
    parameters=[OpenApiParameter("on", OpenApiTypes.DATE, description="Default: today; never before disbursement.")],
    responses={200: PayoffSerializer},
)
class LoanPayoffView(ApiViewMixin, APIView):
    def get(self, request: Request, loan_pk: str) -> Response:
        from installments.services import payoff_quote

        loan = _loan_from_path(loan_pk)
        query = PayoffQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        on = query.validated_data.get("on") or timezone.localdate()
        if loan.status != Loan.Status.ACTIVE:
            raise exceptions.ValidationError({"loan": ["The loan is not active: nothing to pay off."]})
        quote = payoff_quote(loan=loan, on=on)
        return Response(
            PayoffSerializer(
                {
                    "loan": loan.pk,
                    "on": on,
                    "currency": loan.currency,
                    "amount": quote.total,
                    "exigible": quote.exigible,
                    "exigible_moratory": quote.exigible_by_component["moratory"],
                    "exigible_late_interest": quote.exigible_by_component["late_interest"],
                    "principal": quote.principal,
                    "interest": quote.interest,
                    "insurance": quote.insurance,
                    "deferred_interest": quote.deferred_interest,
                    "credit_back": quote.credit_back,
                    "overpayment_credit": loan.overpayment_credit,
                }
            ).data
        )


class CreditRefundInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    refunded_on = ApiDateField()
    bank_reference = serializers.CharField(max_length=80)


class CreditApplyInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    applied_on = ApiDateField()
    target = serializers.IntegerField(min_value=1, max_value=2**62, help_text="Another active loan of the miner.")
    request_reference = serializers.CharField(max_length=80, help_text="The miner's written request.")


class CreditUseSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    loan = serializers.IntegerField(source="loan_id")
    kind = serializers.CharField()
    value_date = serializers.DateField()
    amount = serializers.DecimalField(**MONEY)
    reference = serializers.CharField()
    target_payment = serializers.IntegerField(source="transfer_payment_id", allow_null=True)
    overpayment_credit = serializers.DecimalField(source="loan.overpayment_credit", **MONEY)


class LoanCreditRefundView(ApiViewMixin, APIView):
    @extend_schema(
        summary="Refund the loan's overpayment credit to the miner (with the bank reference)",
        tags=["staff: loans"],
        request=CreditRefundInputSerializer,
        responses={201: CreditUseSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        from installments.services import overpayment_refund

        loan = _loan_from_path(loan_pk)
        serializer = CreditRefundInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        txn = overpayment_refund(loan=loan, actor=staff_actor(request), **serializer.validated_data)
        txn = LoanTransaction.objects.select_related("loan").get(pk=txn.pk)
        return Response(CreditUseSerializer(txn).data, status=status.HTTP_201_CREATED)


class LoanCreditApplyView(ApiViewMixin, APIView):
    @extend_schema(
        summary="Apply the loan's overpayment credit to another loan of the same miner (written request)",
        tags=["staff: loans"],
        request=CreditApplyInputSerializer,
        responses={201: CreditUseSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        from installments.services import overpayment_apply

        loan = _loan_from_path(loan_pk)
        serializer = CreditApplyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        target = Loan.objects.filter(pk=data.pop("target")).first()
        if target is None:
            raise exceptions.ValidationError({"target": ["No loan with this id."]})
        txn = overpayment_apply(loan=loan, target=target, actor=staff_actor(request), **data)
        txn = LoanTransaction.objects.select_related("loan").get(pk=txn.pk)
        return Response(CreditUseSerializer(txn).data, status=status.HTTP_201_CREATED)


# --- Ratings and the portfolio ------------------------------------------------------------------


class RatingSerializer(serializers.ModelSerializer):
    loan_code = serializers.CharField(source="loan.code")
    miner = serializers.IntegerField(source="loan.miner_id")

    class Meta:
        model = LoanRating
        fields = [
            "id",
            "loan",
            "loan_code",
            "miner",
            "as_of",
            "days_past_due",
            "category",
            "aligned_category",
            "outstanding_principal",
            "covered_share",
            "provision_rate",
            "provision",
            "warnings",
        ]


class RatingFilter(django_filters.FilterSet):
    as_of = django_filters.DateFilter(
        method="filter_as_of", help_text="Ratings as of this date (default: the latest rating date)."
    )

    class Meta:
        model = LoanRating
        fields = ["as_of", "category", "aligned_category", "loan"]

    def filter_as_of(self, queryset: QuerySet[LoanRating], name: str, value: dt.date) -> QuerySet[LoanRating]:
        return queryset.filter(as_of=value)


@extend_schema_view(
    list=extend_schema(summary="SBS risk ratings per loan as of a date (default: latest)", tags=["staff: portfolio"]),
    retrieve=extend_schema(summary="One loan rating", tags=["staff: portfolio"]),
)
class RatingViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = RatingSerializer
    filterset_class = RatingFilter

    def get_queryset(self) -> QuerySet[LoanRating]:
        queryset = LoanRating.objects.select_related("loan").order_by("-as_of", "loan_id")
        if getattr(self, "swagger_fake_view", False):
            return queryset
        if self.action == "list" and "as_of" not in self.request.query_params:
            latest = LoanRating.objects.aggregate(latest=Max("as_of"))["latest"]
            queryset = queryset.filter(as_of=latest) if latest else queryset.none()
        return queryset


class PortfolioQuerySerializer(serializers.Serializer):
    def get_fields(self) -> dict[str, serializers.Field]:
        return {
            "as_of": ApiDateField(required=False),
            "from": ApiDateField(required=False),
            "buyer": serializers.RegexField(r"^[0-9]{11}$", required=False),
            "region": serializers.RegexField(r"^[0-9]{2}$", required=False),
            "product": serializers.CharField(required=False, max_length=30),
            "currency": serializers.ChoiceField(choices=Currency.choices, required=False),
        }


class PortfolioSerializer(serializers.Serializer):
    """The headline figures; the body carries every figure of ``reports.selectors.PortfolioSummary``."""

    as_of = serializers.DateField()
    currency = serializers.CharField()
    active_loans = serializers.IntegerField()
    borrowers = serializers.IntegerField()
    women_borrowers = serializers.IntegerField()
    outstanding = serializers.DecimalField(**MONEY)
    par1 = serializers.DecimalField(max_digits=7, decimal_places=4)
    par30 = serializers.DecimalField(max_digits=7, decimal_places=4)
    par90 = serializers.DecimalField(max_digits=7, decimal_places=4)
    withheld = serializers.DecimalField(**MONEY)
    remitted_in_period = serializers.DecimalField(**MONEY)
    unremitted = serializers.DecimalField(**MONEY)


class PortfolioView(ApiViewMixin, APIView):
    """Portfolio aggregates for staff and NGO analysts (read-only)."""

    @extend_schema(
        summary="Portfolio aggregates: PAR, categories, withheld and remitted, impact",
        tags=["staff: portfolio"],
        parameters=[
            OpenApiParameter("as_of", OpenApiTypes.DATE, description="Default: today."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="Start of the period for flows."),
            OpenApiParameter("buyer", str, description="A buyer's RUC."),
            OpenApiParameter("region", str, description="Department code, e.g. 04."),
            OpenApiParameter("product", str, description="Product code."),
            OpenApiParameter("currency", str, enum=["PEN", "USD"]),
        ],
        responses={200: PortfolioSerializer},
    )
    def get(self, request: Request) -> Response:
        from reports.selectors import portfolio_summary

        query = PortfolioQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        params = query.validated_data
        as_of = params.get("as_of") or timezone.localdate()
        if params.get("from") and params["from"] > as_of:
            raise exceptions.ValidationError({"from": ["`from` must not be after `as_of`."]})
        if params.get("buyer") and not Buyer.objects.filter(ruc=params["buyer"]).exists():
            raise exceptions.ValidationError({"buyer": ["No buyer with this RUC."]})
        if params.get("product") and not LoanProduct.objects.filter(code=params["product"]).exists():
            raise exceptions.ValidationError({"product": ["No product with this code."]})
        try:
            summary = portfolio_summary(
                as_of=as_of,
                date_from=params.get("from"),
                buyer=params.get("buyer"),
                region=params.get("region"),
                product=params.get("product"),
                currency=params.get("currency", "PEN"),
            )
        except (ValueError, LookupError, ObjectDoesNotExist) as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(summary.as_dict())
