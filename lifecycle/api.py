"""Payment reversals and write-offs for the lender's systems: asked for on the payment, decided by a second person.

``POST loans/{id}/payments/{payment_id}/reverse/`` asks (201, status ``pending``); a credit approver or
the lender admin who did not ask ``approve``s (the payment is reversed and the loan replays) or
``reject``s it under ``reversals/{id}/``; the one who asked may ``withdraw`` it while it waits.

``POST loans/{id}/refinance/`` proposes a refinanciación of the loan (``also_loans``: other active loans of the
same miner, consolidated into one) for what they owe on the day, with the new term, TEA and first due date:

``POST loans/{id}/reschedule/`` asks for a reprogramación of one loan, ``POST reschedules/`` for every
eligible loan of a buyer or a region (``"preview": true`` answers the eligible loans with their
installment before and after and the others with the reason, changing nothing);
``reschedules/{id}/approve|reject/`` decides it once for all its loans, by someone other than the asker.
a loan application marked ``is_refinancing``, already submitted (201). A credit approver who did not prepare
it decides it on the origination path — ``loan-applications/{id}/approve|reject/`` — and an officer carries
it out with ``loan-applications/{id}/disburse/``: no cash moves; the refinanced loans close at zero with a
``refinance`` entry and the new loan is marked refinanciado.

``POST loans/{id}/write-off/`` prepares a castigo (refused with every reason when the loan is not
eligible); ``write-offs/{id}/approve|reject/`` decides it, by someone other than the preparer.

``POST guarantee-claims/`` files a claim on the loan's guarantee fund; ``guarantee-claims/{id}/approve|
reject/`` decides it (someone other than the filer), ``payment/`` records the fund's payment and
``remittances/`` what was handed to the fund of the recoveries after it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from asmcredit.api import ApiDateField, ApiViewMixin, path_id, path_object, staff_actor
from asmcredit.idempotency import idempotent
from buyers.models import Buyer
from installments.models import LoanTransaction
from installments.services import refinance_propose
from lifecycle import guarantees, reschedules, services
from lifecycle.models import (
    GuaranteeClaim,
    GuaranteeRemittance,
    RescheduleItem,
    RescheduleProposal,
    ReversalRequest,
    WriteOff,
)
from loans.api import ApplicationSerializer
from loans.models import Loan, LoanApplication

MONEY: dict[str, Any] = {"max_digits": 16, "decimal_places": 2}


class ReversalSerializer(serializers.ModelSerializer):
    loan_code = serializers.CharField(source="loan.code")
    original_kind = serializers.CharField(source="original.kind")
    original_amount = serializers.DecimalField(source="original.amount", **MONEY)
    original_value_date = serializers.DateField(source="original.value_date")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = ReversalRequest
        fields = [
            "id",
            "loan",
            "loan_code",
            "original",
            "original_kind",
            "original_amount",
            "original_value_date",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "reversal",
        ]


class ReversalInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the payment was a mistake.")


class DecisionInputSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, default="", help_text="Required to reject."
    )


def _detail(request_id: int) -> ReversalRequest:
    return ReversalRequest.objects.select_related("loan", "original", "requested_by", "decided_by").get(pk=request_id)


class PaymentReverseView(ApiViewMixin, APIView):
    write_roles = services.REVERSAL_REQUESTERS

    @extend_schema(
        summary="Ask for a payment or withholding to be reversed (a second person approves)",
        tags=["staff: loans"],
        request=ReversalInputSerializer,
        responses={201: ReversalSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str, payment_pk: str) -> Response:
        original = path_object(LoanTransaction.objects.filter(loan_id=path_id(loan_pk)), payment_pk)
        serializer = ReversalInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        reversal = services.reversal_request(
            original=original, actor=staff_actor(request), reason=serializer.validated_data["reason"]
        )
        return Response(ReversalSerializer(_detail(reversal.pk)).data, status=status.HTTP_201_CREATED)


class _DecisionViewSet(ApiViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """What the two-person viewsets share: list, detail, and a decision (a note) answered with the request."""

    def present(self, pk: int) -> Any:
        raise NotImplementedError

    def _decide(self, request: Request, decide: Any) -> Response:
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        decided = decide(request=self.get_object(), actor=staff_actor(request), **serializer.validated_data)
        return Response(self.present(decided.pk))


class ReversalFilter(django_filters.FilterSet):
    class Meta:
        model = ReversalRequest
        fields = ["status", "loan"]


@extend_schema_view(
    list=extend_schema(summary="Payment reversal requests (filter by status, loan)", tags=["staff: loans"]),
    retrieve=extend_schema(summary="One payment reversal request", tags=["staff: loans"]),
)
class ReversalViewSet(_DecisionViewSet):
    serializer_class = ReversalSerializer
    filterset_class = ReversalFilter
    action_roles = {
        "approve": services.REVERSAL_APPROVERS,
        "reject": services.REVERSAL_APPROVERS,
        "withdraw": services.REVERSAL_REQUESTERS,
    }

    def get_queryset(self) -> QuerySet[ReversalRequest]:
        return ReversalRequest.objects.select_related("loan", "original", "requested_by", "decided_by").order_by(
            "-requested_at", "-id"
        )

    def present(self, pk: int) -> Any:
        return ReversalSerializer(_detail(pk)).data

    @extend_schema(
        summary="Approve: the payment is reversed today and the loan replays",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: ReversalSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, services.reversal_approve)

    @extend_schema(
        summary="Reject with a note: nothing moves",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: ReversalSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, services.reversal_reject)

    @extend_schema(
        summary="Withdraw a request you made, while it waits",
        tags=["staff: loans"],
        request=None,
        responses={200: ReversalSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        withdrawn = services.reversal_withdraw(request=self.get_object(), actor=staff_actor(request))
        return Response(ReversalSerializer(_detail(withdrawn.pk)).data)


# --- Castigo (write-off) ----------------------------------------------------------------------------


class WriteOffSerializer(serializers.ModelSerializer):
    loan_code = serializers.CharField(source="loan.code")
    currency = serializers.CharField(source="loan.currency")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)

    class Meta:
        model = WriteOff
        fields = [
            "id",
            "loan",
            "loan_code",
            "currency",
            "reason",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "written_off_on",
            "principal",
            "interest_and_charges",
            "provision",
            "rating_as_of",
            "contacts",
        ]


class WriteOffInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, help_text="Why the loan is written off.")


def _write_off(write_off_id: int) -> WriteOff:
    return WriteOff.objects.select_related("loan", "requested_by", "decided_by").get(pk=write_off_id)


class LoanWriteOffView(ApiViewMixin, APIView):
    write_roles = services.WRITE_OFF_PREPARERS

    @extend_schema(
        summary="Prepare the write-off (castigo) of a loan rated Pérdida; a second person approves",
        tags=["staff: loans"],
        request=WriteOffInputSerializer,
        responses={201: WriteOffSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        loan = path_object(Loan, loan_pk)
        serializer = WriteOffInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        prepared = services.write_off_prepare(
            loan=loan, actor=staff_actor(request), reason=serializer.validated_data["reason"]
        )
        return Response(WriteOffSerializer(_write_off(prepared.pk)).data, status=status.HTTP_201_CREATED)


class WriteOffFilter(django_filters.FilterSet):
    class Meta:
        model = WriteOff
        fields = ["status", "loan"]


@extend_schema_view(
    list=extend_schema(summary="Write-offs (filter by status, loan)", tags=["staff: loans"]),
    retrieve=extend_schema(summary="One write-off", tags=["staff: loans"]),
)
class WriteOffViewSet(_DecisionViewSet):
    serializer_class = WriteOffSerializer
    filterset_class = WriteOffFilter
    action_roles = {"approve": services.WRITE_OFF_APPROVERS, "reject": services.WRITE_OFF_APPROVERS}

    def get_queryset(self) -> QuerySet[WriteOff]:
        return WriteOff.objects.select_related("loan", "requested_by", "decided_by").order_by("-requested_at", "-id")

    def present(self, pk: int) -> Any:
        return WriteOffSerializer(_write_off(pk)).data

    @extend_schema(
        summary="Approve: the loan leaves the active book, still owed; later receipts are recoveries",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: WriteOffSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, services.write_off_approve)

    @extend_schema(
        summary="Reject with a note",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: WriteOffSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, services.write_off_reject)


# --- Guarantee funds --------------------------------------------------------------------------------


class GuaranteeRemittanceSerializer(serializers.ModelSerializer):
    recorded_by = serializers.CharField(source="recorded_by.username")

    class Meta:
        model = GuaranteeRemittance
        fields = ["id", "amount", "remitted_on", "reference", "recorded_by", "recorded_at"]


class GuaranteeClaimSerializer(serializers.ModelSerializer):
    loan_code = serializers.CharField(source="loan.code")
    fund = serializers.CharField(source="fund.code")
    fund_name = serializers.CharField(source="fund.name")
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    exposure_after = serializers.SerializerMethodField(
        help_text="Outstanding principal at the claim less the fund's payment."
    )
    recovery = serializers.SerializerMethodField(
        help_text="After the fund paid: recovered by the loan, the fund's pro rata share, remitted, still owed."
    )
    remittances = GuaranteeRemittanceSerializer(many=True, read_only=True)

    class Meta:
        model = GuaranteeClaim
        fields = [
            "id",
            "loan",
            "loan_code",
            "fund",
            "fund_name",
            "status",
            "note",
            "filed_on",
            "days_past_due",
            "outstanding_principal",
            "coverage_pct",
            "amount",
            "currency",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "paid_on",
            "paid_amount",
            "bank_reference",
            "exposure_after",
            "recovery",
            "remittances",
        ]

    def get_exposure_after(self, claim: GuaranteeClaim) -> str | None:
        return str(guarantees.exposure_after(claim)) if claim.paid_amount is not None else None

    def get_recovery(self, claim: GuaranteeClaim) -> dict[str, str]:
        share = guarantees.recovery_share(claim)
        return {
            "recovered": str(share.recovered),
            "fund_share": str(share.fund_share),
            "remitted": str(share.remitted),
            "owed_to_fund": str(share.owed),
        }


class GuaranteeClaimInputSerializer(serializers.Serializer):
    loan = serializers.IntegerField(min_value=1, max_value=2**63 - 1, help_text="The loan's id.")
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class GuaranteePaymentInputSerializer(serializers.Serializer):
    paid_on = ApiDateField()
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), help_text="At most the amount claimed.")
    bank_reference = serializers.CharField(max_length=60)


class GuaranteeRemittanceInputSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY, min_value=Decimal("0.01"), help_text="At most what is owed to the fund.")
    remitted_on = ApiDateField()
    reference = serializers.CharField(max_length=60)


class GuaranteeClaimFilter(django_filters.FilterSet):
    fund = django_filters.CharFilter(field_name="fund__code", help_text="The fund's code (e.g. crecer).")

    class Meta:
        model = GuaranteeClaim
        fields = ["status", "fund", "loan"]


def _claim(claim_id: int) -> GuaranteeClaim:
    return (
        guarantees.claims_with_recoveries(GuaranteeClaim.objects.filter(pk=claim_id))
        .select_related("loan", "fund", "requested_by", "decided_by")
        .prefetch_related("remittances__recorded_by")
        .get()
    )


@extend_schema_view(
    list=extend_schema(summary="Guarantee fund claims (filter by status, fund, loan)", tags=["staff: loans"]),
    retrieve=extend_schema(summary="One guarantee fund claim, with the recoveries shared", tags=["staff: loans"]),
)
class GuaranteeClaimViewSet(_DecisionViewSet):
    """Claims on a guarantee fund: filed by an officer, approved by someone else, paid by the fund
    (recorded by treasury); recoveries after the payment are shared with the fund pro rata."""

    serializer_class = GuaranteeClaimSerializer
    filterset_class = GuaranteeClaimFilter
    write_roles = guarantees.CLAIM_FILERS
    action_roles = {
        "approve": guarantees.CLAIM_APPROVERS,
        "reject": guarantees.CLAIM_APPROVERS,
        "payment": guarantees.FUND_TREASURY,
        "remittances": guarantees.FUND_TREASURY,
    }

    def get_queryset(self) -> QuerySet[GuaranteeClaim]:
        return (
            guarantees.claims_with_recoveries(GuaranteeClaim.objects.all())
            .select_related("loan", "fund", "requested_by", "decided_by")
            .prefetch_related("remittances__recorded_by")
            .order_by("-requested_at", "-id")
        )

    def present(self, pk: int) -> Any:
        return GuaranteeClaimSerializer(_claim(pk)).data

    @extend_schema(
        summary="File a claim for coverage × outstanding principal (a second person approves)",
        tags=["staff: loans"],
        request=GuaranteeClaimInputSerializer,
        responses={201: GuaranteeClaimSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        serializer = GuaranteeClaimInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        loan = Loan.objects.filter(pk=serializer.validated_data["loan"]).first()
        if loan is None:
            raise exceptions.ValidationError({"loan": ["No such loan."]})
        claim = guarantees.claim_file(loan=loan, actor=staff_actor(request), note=serializer.validated_data["note"])
        return Response(self.present(claim.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        summary="Approve the claim as filed: it goes to the fund",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: GuaranteeClaimSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, guarantees.claim_approve)

    @extend_schema(
        summary="Reject with a note: nothing goes to the fund",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: GuaranteeClaimSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, guarantees.claim_reject)

    @extend_schema(
        summary="Record the fund's payment of an approved claim (the miner's debt does not change)",
        tags=["staff: loans"],
        request=GuaranteePaymentInputSerializer,
        responses={200: GuaranteeClaimSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def payment(self, request: Request, pk: str | None = None) -> Response:
        serializer = GuaranteePaymentInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        paid = guarantees.claim_payment_record(
            claim=self.get_object(), actor=staff_actor(request), **serializer.validated_data
        )
        return Response(self.present(paid.pk))

    @extend_schema(
        summary="Record remitting the fund its share of the recoveries",
        tags=["staff: loans"],
        request=GuaranteeRemittanceInputSerializer,
        responses={201: GuaranteeClaimSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def remittances(self, request: Request, pk: str | None = None) -> Response:
        serializer = GuaranteeRemittanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        claim = self.get_object()
        guarantees.recovery_remit(claim=claim, actor=staff_actor(request), **serializer.validated_data)
        return Response(self.present(claim.pk), status=status.HTTP_201_CREATED)


# --- Refinanciación --------------------------------------------------------------------------------


class RefinanceInputSerializer(serializers.Serializer):
    term = serializers.IntegerField(min_value=1, max_value=360, help_text="Installments of the new cronograma.")
    first_due_on = ApiDateField(help_text="The new cronograma's first due date (after the refinancing day).")
    tea_pct = serializers.DecimalField(
        max_digits=7,
        decimal_places=4,
        required=False,
        allow_null=True,
        default=None,
        help_text="Default: the loan's TEA.",
    )
    grace_periods = serializers.IntegerField(min_value=0, max_value=60, required=False, default=0)
    refinanced_on = ApiDateField(
        required=False, allow_null=True, default=None, help_text="The day of the payoff; default today, never later."
    )
    also_loans = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        default=list,
        max_length=20,
        help_text="Ids of other active loans of the same miner to consolidate into the new loan.",
    )
    purpose_note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)


class LoanRefinanceView(ApiViewMixin, APIView):
    write_roles = services.WRITE_OFF_PREPARERS  # loan officers and the lender administrator

    @extend_schema(
        summary="Propose the refinancing of a loan (optionally consolidating others of the same miner); "
        "approved and carried out through the loan application",
        tags=["staff: loans"],
        request=RefinanceInputSerializer,
        responses={201: ApplicationSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        loan = path_object(Loan, loan_pk)
        serializer = RefinanceInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        wanted = data.pop("also_loans")
        also = list(Loan.objects.filter(pk__in=wanted))
        missing = sorted(set(wanted) - {other.pk for other in also})
        if missing:
            raise serializers.ValidationError({"also_loans": [f"No loan with id {pk}." for pk in missing]})
        application = refinance_propose(loan=loan, also_loans=also, prepared_by=staff_actor(request), **data)
        application = LoanApplication.objects.prefetch_related("refinanced_loans").get(pk=application.pk)
        return Response(ApplicationSerializer(application).data, status=status.HTTP_201_CREATED)


# --- Reprogramación -----------------------------------------------------------------------------------


class RescheduleOptionSerializer(serializers.Serializer):
    extra_installments = serializers.IntegerField(min_value=0, default=0, help_text="Installments added to the term.")
    holiday_periods = serializers.IntegerField(
        min_value=0, default=0, help_text="Payment holiday: periods with no installment; their interest is deferred."
    )
    due_day = serializers.IntegerField(
        min_value=1, max_value=31, required=False, allow_null=True, default=None, help_text="New day of the month."
    )


class RescheduleInputSerializer(serializers.Serializer):
    options = RescheduleOptionSerializer(many=True, help_text="The options offered to the borrower (more than one).")
    chosen = serializers.IntegerField(min_value=0, help_text="The index in ``options`` of the one the borrower chose.")
    reason = serializers.CharField(max_length=2000, help_text="The event (e.g. rainy season, plant shut down).")
    effective_on = serializers.DateField(required=False, allow_null=True, default=None)
    preview = serializers.BooleanField(default=False, help_text="Answer what would happen, change nothing.")


class BulkRescheduleInputSerializer(RescheduleInputSerializer):
    buyer = serializers.IntegerField(required=False, allow_null=True, default=None, help_text="A buyer's id.")
    region = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=2,
        help_text="A department code (ubigeo's first two digits).",
    )


class RescheduleItemSerializer(serializers.ModelSerializer):
    loan_code = serializers.CharField(source="loan.code")
    currency = serializers.CharField(source="loan.currency")

    class Meta:
        model = RescheduleItem
        fields = [
            "loan",
            "loan_code",
            "currency",
            "status",
            "installment_before",
            "installment_after",
            "deferred_interest",
            "last_due_before",
            "last_due_after",
            "skip_reason",
            "schedule_version",
        ]


class RescheduleSerializer(serializers.ModelSerializer):
    requested_by = serializers.CharField(source="requested_by.username")
    decided_by = serializers.CharField(source="decided_by.username", allow_null=True, default=None)
    items = RescheduleItemSerializer(many=True)

    class Meta:
        model = RescheduleProposal
        fields = [
            "id",
            "scope",
            "buyer",
            "region",
            "reason",
            "options",
            "chosen",
            "extra_installments",
            "holiday_periods",
            "due_day",
            "effective_on",
            "answer_by",
            "status",
            "requested_by",
            "requested_at",
            "decided_by",
            "decided_at",
            "decision_note",
            "items",
        ]


def _reschedule(proposal_id: int) -> RescheduleProposal:
    return (
        RescheduleProposal.objects.select_related("requested_by", "decided_by")
        .prefetch_related(Prefetch("items", queryset=RescheduleItem.objects.select_related("loan").order_by("id")))
        .get(pk=proposal_id)
    )


def _reschedule_answer(request: Request, *, loan: Loan | None = None) -> Response:
    serializer = (RescheduleInputSerializer if loan is not None else BulkRescheduleInputSerializer)(data=request.data)
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    scope: dict[str, Any] = {"loan": loan}
    if loan is None:
        buyer = None
        if data.get("buyer") is not None:
            buyer = Buyer.objects.filter(pk=data["buyer"]).first()
            if buyer is None:
                raise ValidationError({"buyer": _("No such buyer.")})
        scope = {"buyer": buyer, "region": data.get("region") or None}
    if data["preview"]:
        offered, chosen = reschedules.reschedule_options_input(data["options"], data["chosen"])
        preview = reschedules.reschedule_bulk_preview(
            options=offered[chosen], effective_on=data["effective_on"], **scope
        )
        return Response(preview.as_dict())
    proposal, preview = reschedules.reschedule_request(
        actor=staff_actor(request),
        options=data["options"],
        chosen=data["chosen"],
        reason=data["reason"],
        effective_on=data["effective_on"],
        **scope,
    )
    answer = dict(RescheduleSerializer(_reschedule(proposal.pk)).data)
    answer["ineligible"] = preview.as_dict()["ineligible"]
    return Response(answer, status=status.HTTP_201_CREATED)


class LoanRescheduleView(ApiViewMixin, APIView):
    write_roles = reschedules.RESCHEDULE_REQUESTERS

    @extend_schema(
        summary="Ask for the reprogramación of a loan (options offered, the one chosen); a second person approves",
        tags=["staff: loans"],
        request=RescheduleInputSerializer,
        responses={201: RescheduleSerializer},
    )
    @idempotent
    def post(self, request: Request, loan_pk: str) -> Response:
        loan = path_object(Loan, loan_pk)
        return _reschedule_answer(request, loan=loan)


class RescheduleFilter(django_filters.FilterSet):
    class Meta:
        model = RescheduleProposal
        fields = ["status", "scope", "buyer", "region"]


@extend_schema_view(
    list=extend_schema(summary="Reprogramaciones (filter by status, scope, buyer, region)", tags=["staff: loans"]),
    retrieve=extend_schema(summary="One reprogramación with its loans", tags=["staff: loans"]),
)
class RescheduleViewSet(_DecisionViewSet):
    serializer_class = RescheduleSerializer
    filterset_class = RescheduleFilter
    write_roles = reschedules.RESCHEDULE_REQUESTERS
    action_roles = {"approve": reschedules.RESCHEDULE_APPROVERS, "reject": reschedules.RESCHEDULE_APPROVERS}

    def get_queryset(self) -> QuerySet[RescheduleProposal]:
        return (
            RescheduleProposal.objects.select_related("requested_by", "decided_by")
            .prefetch_related(Prefetch("items", queryset=RescheduleItem.objects.select_related("loan").order_by("id")))
            .order_by("-requested_at", "-id")
        )

    def present(self, pk: int) -> Any:
        return RescheduleSerializer(_reschedule(pk)).data

    @extend_schema(
        summary="Reprogramación of every eligible loan of a buyer or a region; with preview true, only the preview",
        tags=["staff: loans"],
        request=BulkRescheduleInputSerializer,
        responses={201: RescheduleSerializer},
    )
    @idempotent
    def create(self, request: Request) -> Response:
        return _reschedule_answer(request)

    @extend_schema(
        summary="Approve once for all its loans: each gets its new cronograma",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: RescheduleSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def approve(self, request: Request, pk: str | None = None) -> Response:
        serializer = DecisionInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        outcome = reschedules.reschedule_approve(
            proposal=self.get_object(), actor=staff_actor(request), **serializer.validated_data
        )
        return Response(self.present(outcome.proposal.pk))

    @extend_schema(
        summary="Reject with a note: nothing moves",
        tags=["staff: loans"],
        request=DecisionInputSerializer,
        responses={200: RescheduleSerializer},
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def reject(self, request: Request, pk: str | None = None) -> Response:
        return self._decide(request, reschedules.reschedule_reject)
