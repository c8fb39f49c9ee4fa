"""Applications (wizard, underwriting, maker–checker decision, disbursement) and loan pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.errors import TransitionError
from asmcredit.web import APPROVERS, LENDER_STAFF, OFFICERS, STAFF, VERIFIERS, paginate, role_required
from installments.models import LoanRating, LoanTransaction, ScheduleLine
from loans import services
from loans.forms import (
    ApplicationForm,
    ApproveForm,
    CancelForm,
    DisburseForm,
    RejectForm,
    VerificationForm,
)
from loans.models import Equipment, Loan, LoanApplication, LoanProduct
from loans.underwriting import underwriting_panel
from miners.models import Miner
from miners.views import miner_search


def _errors_into(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _messages_of(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


# --- Applications ------------------------------------------------------------------------------------


@role_required(*STAFF)
def application_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    applications = LoanApplication.objects.select_related("miner", "product", "prepared_by").order_by("-created")
    if status in LoanApplication.Status.values:
        applications = applications.filter(status=status)
    page = paginate(request, applications)
    return render(
        request,
        "applications/list.html",
        {"nav": "applications", "page": page, "status": status, "statuses": LoanApplication.Status.choices},
    )


def _application_form(
    request: HttpRequest, miner: Miner, application: LoanApplication | None = None
) -> ApplicationForm:
    if request.method == "POST":
        return ApplicationForm(request.POST, miner=miner)
    initial: dict[str, Any] = {"miner": miner.pk}
    if application is not None:
        initial.update(
            product=application.product_id,
            equipment=application.equipment_id,
            withholding_buyer=application.withholding_buyer_id,
            amount=application.amount,
            term=application.term,
            tea_pct=application.tea_pct,
            disbursement_date=application.disbursement_date,
            first_due_on=application.first_due_on,
            grace_periods=application.grace_periods,
            purpose_note=application.purpose_note,
        )
    elif request.GET.get("product"):
        initial["product"] = request.GET["product"]
    form = ApplicationForm(initial=initial, miner=miner)
    if form.chosen_product is not None and application is None:
        form.initial.setdefault("tea_pct", form.chosen_product.tea_pct.quantize(Decimal("0.01")))
    return form


@role_required(*OFFICERS)
def application_create(request: HttpRequest) -> HttpResponse:
    miner_id = request.POST.get("miner") or request.GET.get("miner")
    if not miner_id or not str(miner_id).isdigit():
        query = request.GET.get("q", "")
        miners = miner_search(Miner.objects.all(), query, by_document=True).order_by("last_names")[:20] if query else []
        return render(
            request, "applications/choose_miner.html", {"nav": "applications", "query": query, "miners": miners}
        )
    miner = get_object_or_404(Miner, pk=miner_id)
    form = _application_form(request, miner)
    if request.method == "POST" and form.is_valid():
        try:
            application = services.application_create(prepared_by=request.user, **form.application_values())
        except ValidationError as exc:
            _errors_into(form, exc)
        else:
            messages.success(request, _("Application saved as a draft. Review the underwriting panel and submit it."))
            return redirect("loans:application-detail", pk=application.pk)
    return render(
        request,
        "applications/form.html",
        {"nav": "applications", "form": form, "miner": miner, "application": None, "products": _products()},
    )


def _products() -> list[LoanProduct]:
    return list(LoanProduct.objects.filter(is_active=True))


@role_required(*OFFICERS)
def application_edit(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(LoanApplication.objects.select_related("miner", "product"), pk=pk)
    if not _decision_rights(request.user, application)["can_edit"]:
        raise PermissionDenied
    form = _application_form(request, application.miner, application)
    if request.method == "POST" and form.is_valid():
        values = form.application_values()
        values.pop("miner")
        if values.pop("product") != application.product:
            form.add_error("product", _("The product of a draft cannot change; cancel it and start a new one."))
        else:
            try:
                # From the edit page the preparer's change to a submitted application reopens it.
                services.application_update(application=application, actor=request.user, reopen=True, **values)
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Changes saved."))
                return redirect("loans:application-detail", pk=application.pk)
    return render(
        request,
        "applications/form.html",
        {"nav": "applications", "form": form, "miner": application.miner, "application": application},
    )


@role_required(*OFFICERS)
def application_fields(request: HttpRequest) -> HttpResponse:
    """htmx: the form's fields again after the product changed (equipment, buyer, limits adapt)."""
    miner = get_object_or_404(Miner, pk=request.POST.get("miner") or request.GET.get("miner"))
    values: dict[str, Any] = {key: value for key, value in request.POST.items() if key != "csrfmiddlewaretoken"}
    changed = request.headers.get("HX-Trigger-Name", "")
    if changed == "product":
        # A new product brings its own standard rate, limits and catalogue.
        for name in ("tea_pct", "equipment", "grace_periods"):
            values.pop(name, None)
    form = ApplicationForm(initial=values, miner=miner)
    if form.chosen_product is not None:
        if changed == "product":
            form.initial["tea_pct"] = form.chosen_product.tea_pct.quantize(Decimal("0.01"))
            form.initial["term"] = values.get("term") or form.fields["term"].initial
        equipment_id = values.get("equipment")
        if changed == "equipment" and equipment_id and str(equipment_id).isdigit():
            equipment = Equipment.objects.filter(pk=int(equipment_id)).first()
            if equipment is not None:
                form.initial["amount"] = equipment.price
    response = render(request, "applications/_fields.html", {"form": form})
    response["HX-Trigger-After-Settle"] = "refresh-preview"
    return response


@role_required(*OFFICERS)
def application_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the schedule (TEA, TCEA) and the underwriting panel for the terms being typed."""
    miner = get_object_or_404(Miner, pk=request.POST.get("miner"))
    data = request.POST.copy()
    form = ApplicationForm(data, miner=miner)
    context: dict[str, Any] = {"form": form}
    if not form.is_valid():
        context["incomplete"] = True
        return render(request, "applications/_preview.html", context)
    values = form.application_values()
    equipment = values.get("equipment")
    application = LoanApplication(prepared_by=cast(Any, request.user), **values)
    try:
        application.full_clean(exclude=["prepared_by"])
        schedule = services.application_schedule(application)
    except ValidationError as exc:
        context["problems"] = exc.messages
        return render(request, "applications/_preview.html", context)
    context.update(
        schedule=schedule,
        currency=application.product.currency,
        uw=underwriting_panel(application=application).as_dict(),
        equipment=equipment,
        application=application,
    )
    return render(request, "applications/_preview.html", context)


def _decision_rights(user: Any, application: LoanApplication) -> dict[str, bool]:
    status = application.status
    is_officer = roles.has_role(user, *OFFICERS)
    is_approver = roles.has_role(user, *APPROVERS)
    prepared_it = application.prepared_by_id == user.pk
    submitted = status == LoanApplication.Status.SUBMITTED
    # Whoever wrote any of the terms may reject but never approve (the service refuses it too).
    edited_it = is_approver and submitted and not prepared_it and application.editors.filter(pk=user.pk).exists()
    approved_it = application.decided_by_id == user.pk and not settings.ALLOW_APPROVER_TO_DISBURSE
    return {
        # After submission only the preparer may change it, which sends it back to draft.
        "can_edit": is_officer and (status == LoanApplication.Status.DRAFT or (submitted and prepared_it)),
        "can_submit": is_officer and status == LoanApplication.Status.DRAFT,
        "can_decide": is_approver and submitted and not prepared_it,
        "can_approve": is_approver and submitted and not prepared_it and not edited_it,
        "maker_blocked": is_approver and submitted and prepared_it,
        "editor_blocked": edited_it,
        "can_disburse": is_officer and status == LoanApplication.Status.APPROVED and not approved_it,
        "approver_blocked": is_officer and status == LoanApplication.Status.APPROVED and approved_it,
        "can_cancel": is_officer
        and status in {LoanApplication.Status.DRAFT, LoanApplication.Status.SUBMITTED, LoanApplication.Status.APPROVED},
    }


@role_required(*STAFF)
def application_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _render_application_detail(request, pk)


def _render_application_detail(
    request: HttpRequest, pk: int, *, disburse_form: DisburseForm | None = None, status: int = 200
) -> HttpResponse:
    application = get_object_or_404(
        LoanApplication.objects.select_related(
            "miner", "product", "equipment__supplier", "withholding_buyer", "prepared_by", "decided_by"
        ),
        pk=pk,
    )
    rights = _decision_rights(request.user, application)
    try:
        schedule = services.application_schedule(application)
    except ValidationError:
        schedule = None
    # A draft shows the panel live; from submission on, the panel as it was frozen for the committee.
    uw: dict[str, Any] | None
    if application.status == LoanApplication.Status.DRAFT:
        uw = underwriting_panel(application=application).as_dict()
    else:
        uw = application.underwriting or None
    loan = Loan.objects.filter(application=application).only("pk", "code").first()
    from loans.underwriting import failed_eligibility

    context = {
        "failed_rules": failed_eligibility(uw or {}) if application.status == LoanApplication.Status.SUBMITTED else [],
        "justification_min": services.EXCEPTION_JUSTIFICATION_MIN_CHARS,
        "nav": "applications",
        "application": application,
        "schedule": schedule,
        "currency": application.product.currency,
        "uw": uw,
        "uw_frozen": application.status != LoanApplication.Status.DRAFT,
        "loan": loan,
        "approve_form": ApproveForm(),
        "reject_form": RejectForm(),
        "cancel_form": CancelForm(),
        "disburse_form": disburse_form or DisburseForm(initial={"disbursed_on": timezone.localdate()}),
        **rights,
    }
    return render(request, "applications/detail.html", context, status=status)


@require_POST
@role_required(*OFFICERS)
def application_submit(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(LoanApplication, pk=pk)
    try:
        services.application_submit(application=application, actor=request.user)
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("Application submitted to the credit committee."))
    return redirect("loans:application-detail", pk=pk)


@require_POST
@role_required(*APPROVERS)
def application_decide(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(LoanApplication, pk=pk)
    decision = request.POST.get("decision")
    try:
        if decision == "approve":
            form: Any = ApproveForm(request.POST)
            form.is_valid()
            services.application_approve(
                application=application, approver=request.user, comment=form.cleaned_data.get("comment", "")
            )
            messages.success(request, _("Application approved."))
        elif decision == "reject":
            form = RejectForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("A rejection needs a reason."))
                return redirect("loans:application-detail", pk=pk)
            services.application_reject(
                application=application, approver=request.user, reason=form.cleaned_data["reason"]
            )
            messages.success(request, _("Application rejected."))
        else:
            messages.error(request, _("Choose approve or reject."))
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    return redirect("loans:application-detail", pk=pk)


@require_POST
@role_required(*OFFICERS)
def application_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    application = get_object_or_404(LoanApplication, pk=pk)
    form = CancelForm(request.POST)
    form.is_valid()
    try:
        services.application_cancel(
            application=application, actor=request.user, reason=form.cleaned_data.get("reason", "")
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("Application cancelled."))
    return redirect("loans:application-detail", pk=pk)


@require_POST
@role_required(*OFFICERS)
def application_disburse(request: HttpRequest, pk: int) -> HttpResponse:
    from installments.services import loan_disburse

    application = get_object_or_404(LoanApplication, pk=pk)
    form = DisburseForm(request.POST)
    if not form.is_valid():
        return _render_application_detail(request, pk, disburse_form=form, status=400)
    try:
        loan = loan_disburse(
            application=application,
            actor=request.user,
            disbursed_on=form.cleaned_data["disbursed_on"],
            reference=form.cleaned_data["reference"],
        )
    except TransitionError as exc:
        messages.error(request, _messages_of(exc))
        return redirect("loans:application-detail", pk=pk)
    except ValidationError as exc:
        # A refused date or a rate above the BCRP cap: the form again, the error beside the date.
        _errors_into(form, exc)
        return _render_application_detail(request, pk, disburse_form=form, status=400)
    messages.success(request, _("Loan %(code)s disbursed; its schedule is ready.") % {"code": loan.code})
    return redirect("loans:detail", pk=loan.pk)


# --- Loans ---------------------------------------------------------------------------------------------


@role_required(*STAFF)
def loan_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", Loan.Status.ACTIVE)
    # ``category`` is the loan's current SBS category, kept by every event on the loan (DOMAIN.md §6).
    loans = Loan.objects.select_related("miner", "product")
    if status in Loan.Status.values:
        loans = loans.filter(status=status)
    if query:
        condition = Q(code__iexact=query)
        for word in query.split():
            condition |= Q(miner__last_names__icontains=word) | Q(miner__first_names__icontains=word)
        loans = loans.filter(condition)
    if request.GET.get("late"):
        loans = loans.filter(days_past_due__gt=0)
    page = paginate(request, loans.order_by("-days_past_due", "code"))
    return render(
        request,
        "loans/list.html",
        {"nav": "loans", "page": page, "query": query, "status": status, "statuses": Loan.Status.choices},
    )


def _ledger_state(loan: Loan, today: Any) -> Any:
    """The loan replayed to today: how each payment was applied and the payoff quote (two queries)."""
    from installments.selectors import loan_ledger_state

    if loan.disbursed_on is None or loan.disbursed_on > today:
        return None
    return loan_ledger_state(loan=loan, as_of=today, until=today)


def _explain_transactions(state: Any, transactions: list[Any]) -> None:
    """How the ledger applied each payment (adelanto or pago anticipado) and what it left as credit."""
    if state is None:
        return
    overpaid: dict[int, Any] = {}
    for allocation in state.allocations:
        if allocation.component == "overpayment":
            overpaid[allocation.entry_id] = overpaid.get(allocation.entry_id, 0) + allocation.amount
    for txn in transactions:
        txn.applied = state.treatment_of(txn.pk)
        txn.overpaid = overpaid.get(txn.pk)


def cronograma_url(loan: Loan) -> str:
    try:
        return reverse("reports:loan-cronograma", args=[loan.pk])
    except NoReverseMatch:
        return ""


@role_required(*STAFF)
def loan_detail(request: HttpRequest, pk: int) -> HttpResponse:
    loan = get_object_or_404(
        Loan.objects.select_related(
            "miner", "product", "equipment", "payee_supplier", "withholding_buyer", "application", "verified_by"
        ),
        pk=pk,
    )
    today = timezone.localdate()
    lines = list(ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number"))
    for line in lines:
        line.state = line.status  # type: ignore[attr-defined]
        if line.status in {ScheduleLine.Status.PENDING, ScheduleLine.Status.PARTIAL} and line.due_on < today:
            line.state = ScheduleLine.Status.OVERDUE  # type: ignore[attr-defined]
        elif line.status == ScheduleLine.Status.PENDING and line.due_on == today:
            line.state = "due"  # type: ignore[attr-defined]
        line.paid_total = (  # type: ignore[attr-defined]
            line.paid_principal
            + line.paid_interest
            + line.paid_insurance
            + line.paid_fees
            + line.paid_moratory
            + line.paid_late_interest
        )
    transactions = list(
        LoanTransaction.objects.filter(loan=loan)
        .select_related("settlement__buyer", "reverses", "reversed_by", "recorded_by")
        .order_by("-value_date", "-id")
    )
    state = _ledger_state(loan, today)
    _explain_transactions(state, transactions)
    ratings = list(LoanRating.objects.filter(loan=loan).order_by("-as_of")[:24])
    totals = {
        name: sum((getattr(line, name) for line in lines), start=loan.principal * 0)
        for name in ("principal", "interest", "insurance", "fees", "total")
    }
    context = {
        "nav": "loans",
        "loan": loan,
        "lines": lines,
        "totals": totals,
        "transactions": transactions,
        "ratings": ratings,
        "latest_rating": ratings[0] if ratings else None,
        "cronograma_url": cronograma_url(loan),
        "can_pay": roles.has_role(request.user, *OFFICERS) and loan.status == Loan.Status.ACTIVE,
        "can_use_credit": roles.has_role(request.user, *OFFICERS) and loan.overpayment_credit > 0,
        "payoff": state.payoff() if state is not None and loan.status == Loan.Status.ACTIVE else None,
        "can_verify": roles.has_role(request.user, *VERIFIERS) and loan.equipment_id is not None,
        "sees_documents": roles.has_role(request.user, *LENDER_STAFF),
        "verification_form": VerificationForm(
            initial={
                "delivered": bool(loan.delivery_verified_at),
                "installed": bool(loan.installation_verified_at),
                "note": loan.verification_note,
            }
        ),
    }
    context.update(_loan_notices_context(request, loan))
    return render(request, "loans/detail.html", context)


# --- Messages to the miner about this loan, and its paid-off certificate (issue #15) ------------------
def _loan_notices_context(request: HttpRequest, loan: Loan) -> dict[str, Any]:
    from notices.models import Notice

    certificate_url = ""
    if loan.status == Loan.Status.PAID_OFF and roles.has_role(request.user, *LENDER_STAFF):
        certificate_url = reverse("reports:loan-paid-off-certificate", args=[loan.pk])
    notices = list(Notice.objects.filter(loan=loan).order_by("-created", "-id")[:30])
    return {"loan_notices": notices, "certificate_url": certificate_url}


@require_POST
@role_required(*VERIFIERS)
def loan_verify(request: HttpRequest, pk: int) -> HttpResponse:
    from loans.verification import loan_verify_equipment

    loan = get_object_or_404(Loan, pk=pk)
    form = VerificationForm(request.POST)
    form.is_valid()
    try:
        loan_verify_equipment(
            loan=loan,
            actor=request.user,
            delivered=form.cleaned_data.get("delivered", False),
            installed=form.cleaned_data.get("installed", False),
            note=form.cleaned_data.get("note", ""),
        )
    except ValidationError as exc:
        messages.error(request, _messages_of(exc))
    else:
        messages.success(request, _("Equipment verification saved."))
    return redirect(reverse("loans:detail", args=[pk]) + "#verification")
