"""Applications (wizard, underwriting, maker–checker decision, disbursement) and loan pages."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F, Q, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.errors import TransitionError
from asmcredit.exports import Column, export_format, export_response
from asmcredit.listing import ListFilters, choice_field, search_field
from asmcredit.web import APPROVERS, LENDER_STAFF, OFFICERS, STAFF, VERIFIERS, paginate, require_role, role_required
from buyers.models import Buyer
from installments.models import LoanRating, LoanTransaction, ScheduleLine
from installments.next_due import loans_with_next_due
from installments.services.common import COLLECTING_STATUSES
from loans import services
from loans.forms import (
    ApplicationForm,
    ApproveForm,
    CancelForm,
    CollateralForm,
    DisburseForm,
    RejectForm,
    VerificationForm,
)
from loans.models import (
    Collateral,
    Equipment,
    Loan,
    LoanApplication,
    LoanProduct,
    VerificationPhoto,
    VerificationVisit,
)
from loans.sbs import DPD_BANDS, Category
from loans.underwriting import underwriting_panel
from miners.identity import DEPARTMENTS
from miners.models import Miner
from miners.search import document_condition, is_document_query, miner_search, named


def _errors_into(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _messages_of(exc: ValidationError) -> str:
    return " ".join(str(m) for m in exc.messages)


# --- Applications ------------------------------------------------------------------------------------


class _PortfolioFilters(ListFilters):
    """What loans and applications are both filtered by: buyer, region, product, officer."""

    buyer = choice_field(gettext_lazy("Buyer"), [])
    region = choice_field(gettext_lazy("Region"), sorted(DEPARTMENTS.items(), key=lambda item: item[1]), coerce=str)
    product = choice_field(gettext_lazy("Product"), [])
    officer = choice_field(gettext_lazy("Officer"), [])

    def prepare(self, request: HttpRequest) -> None:
        self.set_choices("buyer", Buyer.objects.order_by("name").values_list("pk", "name"))
        self.set_choices("product", LoanProduct.objects.order_by("name").values_list("pk", "name"))
        officers = (
            get_user_model()
            .objects.filter(Q(groups__name__in=OFFICERS) | Q(is_superuser=True), is_active=True)
            .distinct()
            .order_by("first_name", "last_name", "username")
        )
        self.set_choices("officer", ((user.pk, _person(user)) for user in officers))


def _portfolio_filtered(rows: QuerySet[Any], values: dict[str, Any], *, officer: str) -> QuerySet[Any]:
    if "buyer" in values:
        rows = rows.filter(withholding_buyer_id=values["buyer"])
    if "region" in values:
        code = values["region"]
        rows = rows.filter(miner__ubigeo__gte=code, miner__ubigeo__lt=f"{int(code) + 1:02d}")
    if "product" in values:
        rows = rows.filter(product_id=values["product"])
    if "officer" in values:
        rows = rows.filter(**{officer: values["officer"]})
    return rows


def _person(user: Any) -> str:
    return (user.get_full_name() or user.get_username()) if user is not None else ""


class ApplicationFilters(_PortfolioFilters):
    status = choice_field(gettext_lazy("Status"), LoanApplication.Status.choices, coerce=str)

    field_order = ["status", "buyer", "region", "product", "officer"]


APPLICATION_COLUMNS = [
    Column("#", "pk", kind=Column.INTEGER),
    Column(gettext_lazy("Miner"), "miner.full_name"),
    Column(gettext_lazy("Document"), "miner.document_number", sensitive=True),
    Column(gettext_lazy("Product"), "product.name"),
    Column(gettext_lazy("Currency"), "product.currency"),
    Column(gettext_lazy("Amount"), "amount", kind=Column.MONEY),
    Column(gettext_lazy("Term"), "term", kind=Column.INTEGER),
    Column(gettext_lazy("Buyer"), "withholding_buyer.name"),
    Column(gettext_lazy("Prepared by"), lambda app: _person(app.prepared_by)),
    Column(gettext_lazy("Created"), "created", kind=Column.DATETIME),
    Column(gettext_lazy("Status"), lambda app: app.get_status_display()),
]


@role_required(*STAFF)
def application_list(request: HttpRequest) -> HttpResponseBase:
    filters = ApplicationFilters(request)
    values = filters.values
    applications: QuerySet[LoanApplication] = LoanApplication.objects.select_related(
        "miner", "product", "prepared_by"
    ).order_by("-created", "-id")
    if "status" in values:
        applications = applications.filter(status=values["status"])
    applications = _portfolio_filtered(applications, values, officer="prepared_by_id")
    if export_format(request):
        return export_response(
            request,
            rows=applications.select_related("withholding_buyer"),
            columns=APPLICATION_COLUMNS,
            filename="solicitudes",
        )
    page = paginate(request, applications)
    return render(request, "applications/list.html", {"nav": "applications", "page": page, "filters": filters})


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


LOAN_STATUS_ALL = "all"
CATEGORY_NAMES = {
    Category.NORMAL: gettext_lazy("Normal"),
    Category.CPP: gettext_lazy("CPP"),
    Category.DEFICIENTE: gettext_lazy("Deficient"),
    Category.DUDOSO: gettext_lazy("Doubtful"),
    Category.PERDIDA: gettext_lazy("Loss"),
}


class LoanFilters(_PortfolioFilters):
    q = search_field(gettext_lazy("Search"))
    status = choice_field(
        gettext_lazy("Status"),
        [*Loan.Status.choices, (LOAN_STATUS_ALL, gettext_lazy("All"))],
        coerce=str,
        empty=gettext_lazy("Active"),
    )
    category = choice_field(gettext_lazy("Category"), list(CATEGORY_NAMES.items()), coerce=str)
    late = forms.BooleanField(label=gettext_lazy("Only late loans"), required=False)

    field_order = ["q", "status", "category", "buyer", "region", "product", "officer", "late"]

    def prepare(self, request: HttpRequest) -> None:
        super().prepare(request)
        sees_documents = roles.has_role(request.user, *LENDER_STAFF)
        self.fields["q"].widget.attrs["placeholder"] = (
            _("Loan number, miner name or DNI") if sees_documents else _("Loan number or miner name")
        )


def _loan_search(loans: QuerySet[Loan], query: str, *, by_document: bool) -> QuerySet[Loan]:
    """A loan number or a borrower's document exactly (their unique indexes), else the borrower's name.

    The borrowers with that document are looked up first (a handful of ids), so the database can take
    both matches from their indexes instead of testing every loan against a subquery."""
    if is_document_query(query):
        condition = Q(code="".join(query.split()).upper())
        if by_document:
            miners = list(Miner.objects.filter(document_condition(query)).values_list("pk", flat=True)[:10])
            condition |= Q(miner_id__in=miners)
        return loans.filter(condition)
    return named(loans, query, relation="miner")


def loan_rows(request: HttpRequest, filters: LoanFilters) -> QuerySet[Loan]:
    """The loans the list shows, filtered, worst days past due first (the order its keyset pages by:
    the ``loan_list_order`` indexes)."""
    values = filters.values
    loans = Loan.objects.select_related("miner", "product")
    status = values.get("status", Loan.Status.ACTIVE)
    if status != LOAN_STATUS_ALL:
        loans = loans.filter(status=status)
    if "q" in values:
        loans = _loan_search(loans, values["q"], by_document=roles.has_role(request.user, *LENDER_STAFF))
    if "category" in values:
        # ``category`` is the loan's current SBS category, kept with its days past due by every event on the
        # loan (DOMAIN.md §6); the band's range lets the (status, days_past_due, id) index find them.
        band = next(band for band in DPD_BANDS if band.category == values["category"])
        loans = loans.filter(category=band.category, days_past_due__gte=band.min_dpd)
        if band.max_dpd is not None:
            loans = loans.filter(days_past_due__lte=band.max_dpd)
    if values.get("late"):
        loans = loans.filter(days_past_due__gt=0)
    loans = _portfolio_filtered(loans, values, officer="application__prepared_by_id")
    loans = loans_with_next_due(loans)
    if "q" in values and not is_document_query(values["q"]):
        # A borrower's name: the loans of the matching miners, sorted — ordered by an expression no index
        # gives, so the database starts from the name's trigram index, not from the worst loan down.
        return loans.order_by((F("days_past_due") + 0).desc(), (F("id") + 0).desc())
    return loans.order_by("-days_past_due", "-id")


LOAN_COLUMNS = [
    Column(gettext_lazy("Loan"), "code"),
    Column(gettext_lazy("Borrower"), "miner.full_name"),
    Column(gettext_lazy("Document"), "miner.document_number", sensitive=True),
    Column(gettext_lazy("Region"), lambda loan: DEPARTMENTS.get(loan.miner.department_code, "")),
    Column(gettext_lazy("Product"), "product.name"),
    Column(gettext_lazy("Buyer"), "withholding_buyer.name"),
    Column(gettext_lazy("Officer"), lambda loan: _person(loan.application.prepared_by)),
    Column(gettext_lazy("Currency"), "currency"),
    Column(gettext_lazy("Principal"), "principal", kind=Column.MONEY),
    Column(gettext_lazy("Disbursed"), "disbursed_on", kind=Column.DATE),
    Column(gettext_lazy("Outstanding"), "outstanding_principal", kind=Column.MONEY),
    Column(gettext_lazy("Overdue"), "overdue_amount", kind=Column.MONEY),
    Column(gettext_lazy("Days past due"), "days_past_due", kind=Column.INTEGER),
    Column(gettext_lazy("Category"), lambda loan: CATEGORY_NAMES.get(loan.category, loan.category)),
    Column(gettext_lazy("Next due"), "next_unpaid_due_on", kind=Column.DATE),
    Column(gettext_lazy("Status"), lambda loan: loan.get_status_display()),
]


@role_required(*STAFF)
def loan_list(request: HttpRequest) -> HttpResponseBase:
    filters = LoanFilters(request)
    loans = loan_rows(request, filters)
    if export_format(request):
        rows = loans.select_related("withholding_buyer", "application__prepared_by")
        return export_response(request, rows=rows, columns=LOAN_COLUMNS, filename="prestamos")
    page = paginate(request, loans)
    return render(request, "loans/list.html", {"nav": "loans", "page": page, "filters": filters})


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
        loans_with_next_due(
            Loan.objects.select_related(
                "miner", "product", "equipment", "payee_supplier", "withholding_buyer", "application", "verified_by"
            )
        ),
        pk=pk,
    )
    history = _loan_history(request, loan)
    if request.htmx and "history_before" in request.GET:  # type: ignore[attr-defined]
        return render(request, "loans/_history.html", {"loan": loan, "history": history})
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
            + line.paid_deferred_interest
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
        for name in ("principal", "interest", "deferred_interest", "insurance", "fees", "total")
    }
    context = {
        "nav": "loans",
        "loan": loan,
        "lines": lines,
        "totals": totals,
        "transactions": transactions,
        # A counter payment or a withholding can be asked to be reversed (lifecycle: two people).
        "reversible_kinds": ("payment", "prepayment", "withholding"),
        "ratings": ratings,
        "latest_rating": ratings[0] if ratings else None,
        "cronograma_url": cronograma_url(loan),
        # A written-off loan is still owed: what it receives is a recovery (lifecycle, castigo).
        "can_pay": roles.has_role(request.user, *OFFICERS) and loan.status in COLLECTING_STATUSES,
        "can_use_credit": roles.has_role(request.user, *OFFICERS) and loan.overpayment_credit > 0,
        "payoff": state.payoff() if state is not None and loan.status in COLLECTING_STATUSES else None,
        "can_verify": roles.has_role(request.user, *VERIFIERS) and loan.equipment_id is not None,
        "sees_documents": roles.has_role(request.user, *LENDER_STAFF),
        "verification_visits": _verification_visits(loan),
    }
    context.update(_loan_notices_context(request, loan))
    context.update(_collateral_context(request, loan, today))
    context.update(history=history, today=today, **_refinancing_context(request, loan))
    return render(request, "loans/detail.html", context)


def _refinancing_context(request: HttpRequest, loan: Loan) -> dict[str, Any]:
    """Refinanciación on the loan page: the loans a refinanced loan replaced, the loan that replaced a
    refinanced one, and whether the "Refinance…" action is offered."""
    refinanced_into = None
    if loan.status == Loan.Status.REFINANCED:
        refinanced_into = (
            Loan.objects.filter(application__is_refinancing=True, application__refinanced_loans=loan)
            .only("pk", "code")
            .first()
        )
    return {
        "refinanced_from": list(loan.application.refinanced_loans.only("pk", "code").order_by("id"))
        if loan.is_refinanced
        else [],
        "refinanced_into": refinanced_into,
        "can_refinance": roles.has_role(request.user, *OFFICERS) and loan.status == Loan.Status.ACTIVE,
    }


def _loan_history(request: HttpRequest, loan: Loan) -> Any:
    """A page of the loan's audit trail; ``history_before`` (an event id) asks for the page after it."""
    from reports.loan_history import loan_history

    before = request.GET.get("history_before", "")
    # At most 18 digits: an id, never a number past PostgreSQL's bigint.
    valid = before.isascii() and before.isdigit() and len(before) <= 18
    return loan_history(loan=loan, before=int(before) if valid else None)


# --- Messages to the miner about this loan, and its paid-off certificate (issue #15) ------------------
def _loan_notices_context(request: HttpRequest, loan: Loan) -> dict[str, Any]:
    from notices.models import Notice

    certificate_url = ""
    if loan.status == Loan.Status.PAID_OFF and roles.has_role(request.user, *LENDER_STAFF):
        certificate_url = reverse("reports:loan-paid-off-certificate", args=[loan.pk])
    notices = list(Notice.objects.filter(loan=loan).order_by("-created", "-id")[:30])
    return {"loan_notices": notices, "certificate_url": certificate_url}


# --- The NGO's verification visits, with photos (issue #16) ------------------------------------------
def _verification_visits(loan: Loan) -> list[VerificationVisit]:
    if loan.equipment_id is None:
        return []
    return list(
        VerificationVisit.objects.filter(loan=loan).select_related("recorded_by").prefetch_related("photos")[:20]
    )


@role_required(*VERIFIERS)
def loan_verify(request: HttpRequest, pk: int) -> HttpResponse:
    """The verification visit form (a page of its own: it is filled on a phone, on site)."""
    from loans.verification import loan_verify_equipment

    loan = get_object_or_404(Loan.objects.select_related("miner", "equipment", "payee_supplier"), pk=pk)
    if loan.equipment_id is None:
        raise Http404
    status = 200
    if request.method == "POST":
        form = VerificationForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                loan_verify_equipment(
                    loan=loan,
                    actor=request.user,
                    visited_on=data["visited_on"],
                    delivered=data["delivered"],
                    installed=data["installed"],
                    note=data["note"],
                    photos=data["photos"],
                    location=form.location(),
                )
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Verification visit saved."))
                return redirect(reverse("loans:detail", args=[pk]) + "#verification")
        status = 400
    else:
        form = VerificationForm(
            initial={
                "visited_on": timezone.localdate(),
                "delivered": bool(loan.delivery_verified_at),
                "installed": bool(loan.installation_verified_at),
            }
        )
    return render(request, "loans/verify.html", {"nav": "loans", "loan": loan, "form": form}, status=status)


@login_required
def verification_photo(request: HttpRequest, pk: int, photo_pk: int, thumbnail: bool = False) -> FileResponse:
    """A visit's photo (or its thumbnail), to signed-in staff only: MEDIA_ROOT has no public URL."""
    require_role(request.user, *STAFF)
    photo = get_object_or_404(VerificationPhoto, pk=photo_pk, visit__loan_id=pk)
    stored = photo.thumbnail if thumbnail else photo.image
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    response = FileResponse(handle, content_type="image/jpeg")
    response["Content-Disposition"] = f'inline; filename="visit-{photo.visit_id}-{photo.pk}.jpg"'
    response["Cache-Control"] = "private, max-age=86400"
    return response


# --- Collateral: the garantía mobiliaria on the loan (issue #13 item 6) --------------------------------
def _collateral_context(request: HttpRequest, loan: Loan, today: Any) -> dict[str, Any]:
    """The loan page's collateral section: each pledge with its policy's state, what the registered
    ones cover today, and whether the viewer may record or change them."""
    from loans.collateral import COLLATERAL_EDITORS, collateral_cover, expiry_warning_days, policy_state

    collaterals = list(Collateral.objects.filter(loan=loan).select_related("equipment").order_by("id"))
    for collateral in collaterals:
        collateral.policy_state = policy_state(collateral, today)  # type: ignore[attr-defined]
    pledged = [c for c in collaterals if c.released_on is None]
    # A policy to renew matters while the loan is in the book; once paid off, the pledge is to be lifted.
    active = loan.status == Loan.Status.ACTIVE
    return {
        "collaterals": collaterals,
        "collateral_cover": collateral_cover(loan=loan, collaterals=collaterals, on=today) if pledged else None,
        "collateral_alerts": [c for c in pledged if active and c.policy_state in {"expired", "expiring"}],  # type: ignore[attr-defined]
        "collateral_warning_days": expiry_warning_days(),
        "can_edit_collateral": roles.has_role(request.user, *COLLATERAL_EDITORS),
    }


def _collateral_form_page(request: HttpRequest, loan: Loan, collateral: Collateral | None) -> HttpResponse:
    from loans.collateral import FIELDS, collateral_add, collateral_prefill, collateral_update

    editing = collateral is not None
    status = 200
    if request.method == "POST":
        form = CollateralForm(request.POST, loan=loan, editing=editing)
        if form.is_valid():
            try:
                if collateral is None:
                    collateral_add(loan=loan, actor=request.user, **form.values())
                else:
                    collateral_update(collateral=collateral, actor=request.user, **form.values())
            except ValidationError as exc:
                _errors_into(form, exc)
            else:
                messages.success(request, _("Collateral saved."))
                return redirect(reverse("loans:detail", args=[loan.pk]) + "#collateral")
        status = 400
    elif collateral is not None:
        current = {name: getattr(collateral, name) for name in FIELDS if name != "equipment"}
        form = CollateralForm(initial={**current, "equipment": collateral.equipment_id}, loan=loan, editing=True)
    else:
        initial: dict[str, Any] = {"currency": loan.currency, "appraised_on": timezone.localdate()}
        prefilled = request.GET.get("prefill") == "equipment" and loan.equipment_id is not None
        if prefilled:
            initial.update(collateral_prefill(loan))
        form = CollateralForm(initial=initial, loan=loan)
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "collateral": collateral,
        "can_prefill": collateral is None and loan.equipment_id is not None,
    }
    return render(request, "loans/collateral.html", context, status=status)


@role_required(*LENDER_STAFF)
def collateral_new(request: HttpRequest, pk: int) -> HttpResponse:
    """Record collateral on an active loan; an equipment loan offers to start from the financed equipment."""
    loan = get_object_or_404(Loan.objects.select_related("miner", "equipment__supplier"), pk=pk)
    if loan.status != Loan.Status.ACTIVE:
        messages.error(request, _("Collateral is recorded on active loans only."))
        return redirect(reverse("loans:detail", args=[pk]) + "#collateral")
    return _collateral_form_page(request, loan, None)


@role_required(*LENDER_STAFF)
def collateral_edit(request: HttpRequest, pk: int, collateral_pk: int) -> HttpResponse:
    """Change a collateral: its registration once SUNARP returns it, a new appraisal or policy, its release."""
    collateral = get_object_or_404(
        Collateral.objects.select_related("loan__miner", "loan__equipment__supplier"), pk=collateral_pk, loan_id=pk
    )
    return _collateral_form_page(request, collateral.loan, collateral)
