"""Officer pages for a loan's life beyond the happy path: ask for a payment reversal and the approvers'
queue that decides them; the collections queue and each loan's collection file; write-offs; guarantee
fund claims (the queue, the loan's guarantee, one claim)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.exports import Column, export_format, export_response
from asmcredit.web import STAFF, paginate, require_role, role_required
from installments.models import LoanTransaction
from installments.services import refinance_preview, refinance_propose, refinance_refusal, reversal_refusal
from lifecycle import guarantees, reschedules, selectors, services
from lifecycle.forms import (
    BulkRescheduleForm,
    ContactForm,
    GuaranteeClaimForm,
    GuaranteePaymentForm,
    GuaranteeRemittanceForm,
    RefinanceForm,
    RescheduleForm,
    ReversalDecisionForm,
    ReversalRequestForm,
    WriteOffForm,
)
from lifecycle.models import (
    CollectionContact,
    GuaranteeClaim,
    GuaranteeEnrolment,
    PromiseToPay,
    RescheduleItem,
    RescheduleProposal,
    ReversalRequest,
    WriteOff,
)
from loans.models import Loan

QUEUE_LIMIT = 200

# The collections queue as a file (CSV or XLSX), with the page's filters.
COLLECTION_COLUMNS = [
    Column(gettext_lazy("Loan"), "code"),
    Column(gettext_lazy("Borrower"), "miner.full_name"),
    Column(gettext_lazy("Phone"), "miner.phone", sensitive=True),
    Column(gettext_lazy("Buyer"), lambda loan: loan.withholding_buyer.name if loan.withholding_buyer else ""),
    Column(gettext_lazy("Days past due"), "days_past_due", Column.INTEGER),
    Column(gettext_lazy("Overdue"), "overdue_amount", Column.MONEY),
    Column(gettext_lazy("Currency"), "currency"),
    Column(gettext_lazy("Category"), "category"),
    Column(gettext_lazy("Latest contact"), "last_contact_on", Column.DATE),
    Column(gettext_lazy("Outcome"), "last_contact_outcome"),
    Column(gettext_lazy("Latest promise"), "last_promise_on", Column.DATE),
    Column(gettext_lazy("Promised amount"), "last_promise_amount", Column.MONEY),
]

# The two-person queues as files: the requests of the status shown.
REVERSAL_COLUMNS = [
    Column(gettext_lazy("Loan"), "loan.code"),
    Column(gettext_lazy("Borrower"), "loan.miner.full_name"),
    Column(gettext_lazy("Payment"), lambda r: r.original.get_kind_display()),
    Column(gettext_lazy("Payment date"), "original.value_date", Column.DATE),
    Column(gettext_lazy("Amount"), "original.amount", Column.MONEY),
    Column(gettext_lazy("Currency"), "original.currency"),
    Column(gettext_lazy("Reason"), "reason"),
    Column(gettext_lazy("Status"), lambda r: r.get_status_display()),
    Column(gettext_lazy("Asked by"), "requested_by.username"),
    Column(gettext_lazy("Asked at"), "requested_at", Column.DATETIME),
    Column(gettext_lazy("Decided by"), lambda r: r.decided_by.username if r.decided_by else ""),
    Column(gettext_lazy("Decided at"), "decided_at", Column.DATETIME),
    Column(gettext_lazy("Note"), "decision_note"),
]
RESCHEDULE_COLUMNS = [
    Column(gettext_lazy("Scope"), lambda p: p.get_scope_display()),
    Column(gettext_lazy("Buyer"), lambda p: p.buyer.name if p.buyer else ""),
    Column(gettext_lazy("Region"), "region"),
    Column(gettext_lazy("Event"), "reason"),
    Column(gettext_lazy("Payment holiday (periods)"), "holiday_periods", Column.INTEGER),
    Column(gettext_lazy("Extra installments"), "extra_installments", Column.INTEGER),
    Column(gettext_lazy("New due day"), lambda p: p.due_day or ""),
    Column(gettext_lazy("Effective on"), "effective_on", Column.DATE),
    Column(gettext_lazy("Answer the borrower by"), "answer_by", Column.DATE),
    Column(gettext_lazy("Status"), lambda p: p.get_status_display()),
    Column(gettext_lazy("Asked by"), "requested_by.username"),
    Column(gettext_lazy("Asked at"), "requested_at", Column.DATETIME),
    Column(gettext_lazy("Decided by"), lambda p: p.decided_by.username if p.decided_by else ""),
    Column(gettext_lazy("Decided at"), "decided_at", Column.DATETIME),
    Column(gettext_lazy("Note"), "decision_note"),
]


WRITE_OFF_COLUMNS = [
    Column(gettext_lazy("Loan"), "loan.code"),
    Column(gettext_lazy("Borrower"), "loan.miner.full_name"),
    Column(gettext_lazy("Currency"), "loan.currency"),
    Column(gettext_lazy("Reason"), "reason"),
    Column(gettext_lazy("Status"), lambda w: w.get_status_display()),
    Column(gettext_lazy("Prepared by"), "requested_by.username"),
    Column(gettext_lazy("Decided by"), lambda w: w.decided_by.username if w.decided_by else ""),
    Column(gettext_lazy("Written off on"), "written_off_on", Column.DATE),
    Column(gettext_lazy("Principal written off"), "principal", Column.MONEY),
    Column(gettext_lazy("Interest and charges written off"), "interest_and_charges", Column.MONEY),
    Column(gettext_lazy("Provision held"), "provision", Column.MONEY),
    Column(gettext_lazy("Collection contacts on record"), "contacts", Column.INTEGER),
]


def _service_errors(
    form: ReversalRequestForm | ContactForm | WriteOffForm | RefinanceForm, exc: ValidationError
) -> None:
    for field, errors in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


@role_required(*services.REVERSAL_REQUESTERS)
def reversal_new(request: HttpRequest, pk: int, transaction_pk: int) -> HttpResponse:
    original = get_object_or_404(
        LoanTransaction.objects.select_related("loan__miner", "settlement"), pk=transaction_pk, loan_id=pk
    )
    refusal = reversal_refusal(original)
    pending = original.reversal_requests.filter(status=ReversalRequest.Status.PENDING).first()
    form = ReversalRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not refusal:
        try:
            services.reversal_request(original=original, actor=request.user, reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            _service_errors(form, exc)
        else:
            messages.success(request, _("Reversal requested: a credit approver must approve it."))
            return redirect("loans:detail", pk=original.loan_id)
    context = {"nav": "loans", "loan": original.loan, "original": original, "form": form, "refusal": refusal}
    context["pending"] = pending
    return render(request, "lifecycle/reversal_new.html", context, status=400 if request.method == "POST" else 200)


def _decision_queue(
    request: HttpRequest,
    model: type[ReversalRequest] | type[WriteOff] | type[RescheduleProposal],
    *,
    related: tuple[str, ...],
    columns: list[Column],
    filename: str,
    nav: str,
    template: str,
    name: str,
    prefetch: tuple[Any, ...] = (),
) -> HttpResponseBase:
    """A two-person queue (reversals, write-offs, reprogramaciones): the requests of one status, oldest pending first or
    latest decided first, as a page or a file."""
    status = request.GET.get("status") or model.Status.PENDING
    if status not in model.Status.values:
        status = model.Status.PENDING
    rows = (
        model.objects.filter(status=status)
        .select_related("requested_by", "decided_by", *related)
        .prefetch_related(*prefetch)
        .order_by("requested_at" if status == model.Status.PENDING else "-decided_at", "id")
    )
    if export_format(request):
        return export_response(request, rows=rows, columns=columns, filename=filename)
    context = {
        "nav": nav,
        name: list(rows[:QUEUE_LIMIT]),
        "status": status,
        "statuses": model.Status.choices,
        "limit": QUEUE_LIMIT,
    }
    return render(request, template, context)


def _decide(request: HttpRequest, pending: Any, *, approve: Any, reject: Any, approved: str, rejected: str) -> None:
    """Approve or reject ``pending`` as the posted form says; the outcome (or why not) as a message."""
    form = ReversalDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose to approve or reject."))
        return
    decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
    try:
        if decision == "approve":
            approve(request=pending, actor=request.user, note=note)
            messages.success(request, approved)
        else:
            reject(request=pending, actor=request.user, note=note)
            messages.success(request, rejected)
    except PermissionDenied as exc:
        messages.error(request, str(exc))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))


@role_required(*STAFF)
def reversal_queue(request: HttpRequest) -> HttpResponseBase:
    return _decision_queue(
        request,
        ReversalRequest,
        related=("loan__miner", "original"),
        columns=REVERSAL_COLUMNS,
        filename="extornos",
        nav="reversals",
        template="lifecycle/reversal_queue.html",
        name="requests",
    )


@require_POST
@role_required(*services.REVERSAL_APPROVERS, *services.REVERSAL_REQUESTERS)
def reversal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _decide(
        request,
        get_object_or_404(ReversalRequest, pk=pk),
        approve=services.reversal_approve,
        reject=services.reversal_reject,
        approved=_("Reversal approved: the payment is reversed and the loan replayed."),
        rejected=_("Reversal rejected."),
    )
    return redirect("lifecycle:reversals")


@require_POST
@role_required(*services.REVERSAL_REQUESTERS)
def reversal_withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    reversal = get_object_or_404(ReversalRequest, pk=pk)
    try:
        services.reversal_withdraw(request=reversal, actor=request.user)
        messages.success(request, _("Reversal request withdrawn."))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("lifecycle:reversals")


# --- Collections ------------------------------------------------------------------------------------


@role_required(*STAFF)
def collections_queue(request: HttpRequest) -> HttpResponseBase:
    """Loans in arrears, worst first, with the latest contact and promise of each."""
    filters: dict[str, object] = {}
    min_dpd = request.GET.get("min_dpd", "")
    if min_dpd.isdigit():
        filters["days_past_due__gte"] = int(min_dpd)
    buyer = request.GET.get("buyer", "")
    if buyer.isdigit():
        filters["withholding_buyer_id"] = int(buyer)
    queue = selectors.collections_queue(filters=filters)
    if export_format(request):
        return export_response(request, rows=queue, columns=COLLECTION_COLUMNS, filename="cobranza")
    page = paginate(request, queue)
    today = timezone.localdate()
    context = {
        "nav": "collections",
        "page": page,
        "min_dpd": min_dpd,
        "broken": selectors.broken_promises(today=today, limit=10),
        "outcomes": dict(CollectionContact.Outcome.choices),
        "today": today,
    }
    return render(request, "lifecycle/collections.html", context)


@role_required(*STAFF)
def loan_collection(request: HttpRequest, pk: int) -> HttpResponse:
    """One loan's collection file: log a contact (and a promise), see every contact and promise."""
    loan = get_object_or_404(Loan.objects.select_related("miner"), pk=pk)
    today = timezone.localdate()
    form = ContactForm(request.POST or None, initial={"contacted_on": today, "channel": "call"})
    if request.method == "POST":
        if not roles.has_role(request.user, *services.COLLECTORS):
            raise PermissionDenied
        if form.is_valid():
            try:
                services.contact_record(loan=loan, actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, _("Contact recorded."))
                return redirect("lifecycle:loan-collection", pk=loan.pk)
    promises = list(selectors.promises_with_payments(PromiseToPay.objects.filter(loan=loan)).order_by("-promised_on"))
    for promise in promises:
        promise.status = selectors.promise_status(promise, today)  # type: ignore[attr-defined]
    context = {
        "nav": "collections",
        "loan": loan,
        "form": form,
        "contacts": list(loan.collection_contacts.select_related("recorded_by").order_by("-contacted_on", "-id")),
        "promises": promises,
        "can_record": roles.has_role(request.user, *services.COLLECTORS) and loan.status == Loan.Status.ACTIVE,
    }
    return render(request, "lifecycle/loan_collection.html", context, status=400 if request.method == "POST" else 200)


# --- Castigo (write-off) ----------------------------------------------------------------------------


@role_required(*STAFF)
def write_off_new(request: HttpRequest, pk: int) -> HttpResponse:
    """The loan's write-off: what is missing for it, or the form that prepares it."""
    loan = get_object_or_404(Loan.objects.select_related("miner"), pk=pk)
    refusals = services.write_off_refusals(loan)
    form = WriteOffForm(request.POST or None)
    if request.method == "POST":
        if not roles.has_role(request.user, *services.WRITE_OFF_PREPARERS):
            raise PermissionDenied
        if form.is_valid() and not refusals:
            try:
                services.write_off_prepare(loan=loan, actor=request.user, reason=form.cleaned_data["reason"])
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                messages.success(request, _("Write-off prepared: a credit approver must approve it."))
                return redirect("lifecycle:write-offs")
    approved = loan.write_offs.filter(status=WriteOff.Status.APPROVED).first()
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "refusals": refusals,
        "pending": loan.write_offs.filter(status=WriteOff.Status.PENDING).first(),
        "approved": approved,
        "recovered": selectors.recovered_on(loan, approved.written_off_on)
        if approved and approved.written_off_on
        else None,
        "can_prepare": roles.has_role(request.user, *services.WRITE_OFF_PREPARERS),
        "min_contacts": settings.WRITE_OFF_MIN_CONTACTS,
    }
    return render(request, "lifecycle/write_off_new.html", context, status=400 if request.method == "POST" else 200)


@role_required(*STAFF)
def write_off_queue(request: HttpRequest) -> HttpResponseBase:
    return _decision_queue(
        request,
        WriteOff,
        related=("loan__miner",),
        columns=WRITE_OFF_COLUMNS,
        filename="castigos",
        nav="write-offs",
        template="lifecycle/write_off_queue.html",
        name="write_offs",
    )


@require_POST
@role_required(*services.WRITE_OFF_APPROVERS)
def write_off_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _decide(
        request,
        get_object_or_404(WriteOff, pk=pk),
        approve=services.write_off_approve,
        reject=services.write_off_reject,
        approved=_("Loan written off: it left the active book and is still owed."),
        rejected=_("Write-off rejected."),
    )
    return redirect("lifecycle:write-offs")


# --- Reprogramación ---------------------------------------------------------------------------------


def _reschedule_submit(
    request: HttpRequest, form: RescheduleForm, scope: dict[str, Any]
) -> tuple[Any, HttpResponse | None]:
    """Preview (the "preview" button) or ask for the reprogramación; the preview to show, or the redirect."""
    try:
        offered, chosen = reschedules.reschedule_options_input(form.options(), form.chosen_index())
        if "preview" in request.POST:
            preview = reschedules.reschedule_bulk_preview(
                options=offered[chosen], effective_on=form.cleaned_data["effective_on"], **scope
            )
            return preview, None
        reschedules.reschedule_request(
            actor=request.user,
            options=form.options(),
            chosen=form.chosen_index(),
            reason=form.cleaned_data["reason"],
            effective_on=form.cleaned_data["effective_on"],
            **scope,
        )
    except ValidationError as exc:
        if hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            form.add_error(None, exc.messages)
        return None, None
    messages.success(request, _("Reprogramación requested: a credit approver must approve it."))
    return None, redirect("lifecycle:reschedules")


@role_required(*STAFF)
def reschedule_new(request: HttpRequest, pk: int) -> HttpResponse:
    """A loan's "Reprogramar…": its eligibility, two options, the chosen one's new cronograma (preview)."""
    loan = get_object_or_404(Loan.objects.select_related("miner"), pk=pk)
    refusal = reschedules.reschedule_refusal(loan)
    form = RescheduleForm(request.POST or None, initial={"effective_on": timezone.localdate()})
    preview = None
    if request.method == "POST":
        if not roles.has_role(request.user, *reschedules.RESCHEDULE_REQUESTERS):
            raise PermissionDenied
        if form.is_valid() and not refusal:
            preview, done = _reschedule_submit(request, form, {"loan": loan})
            if done is not None:
                return done
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "refusal": refusal,
        "preview": preview,
        "row": preview.eligible[0] if preview and preview.eligible else None,
        "pending": loan.reschedule_items.filter(status="pending").select_related("proposal").first(),
    }
    failed = request.method == "POST" and bool(form.errors)
    return render(request, "lifecycle/reschedule_new.html", context, status=400 if failed else 200)


@role_required(*STAFF)
def reschedule_bulk(request: HttpRequest) -> HttpResponse:
    """Reprogramación in bulk: every eligible loan of a buyer or a region, one approval."""
    form = BulkRescheduleForm(request.POST or None, initial={"effective_on": timezone.localdate()})
    preview = None
    if request.method == "POST":
        if not roles.has_role(request.user, *reschedules.RESCHEDULE_REQUESTERS):
            raise PermissionDenied
        if form.is_valid():
            scope = {"buyer": form.cleaned_data["buyer"], "region": form.cleaned_data["region"] or None}
            preview, done = _reschedule_submit(request, form, scope)
            if done is not None:
                return done
    failed = request.method == "POST" and bool(form.errors)
    context = {"nav": "reschedules", "form": form, "preview": preview}
    return render(request, "lifecycle/reschedule_bulk.html", context, status=400 if failed else 200)


@role_required(*STAFF)
def reschedule_queue(request: HttpRequest) -> HttpResponseBase:
    return _decision_queue(
        request,
        RescheduleProposal,
        related=("buyer",),
        columns=RESCHEDULE_COLUMNS,
        filename="reprogramaciones",
        nav="reschedules",
        template="lifecycle/reschedule_queue.html",
        name="proposals",
        prefetch=(Prefetch("items", queryset=RescheduleItem.objects.select_related("loan").order_by("id")),),
    )


@require_POST
@role_required(*reschedules.RESCHEDULE_APPROVERS)
def reschedule_decide(request: HttpRequest, pk: int) -> HttpResponse:
    _decide(
        request,
        get_object_or_404(RescheduleProposal, pk=pk),
        approve=lambda request, actor, note: reschedules.reschedule_approve(proposal=request, actor=actor, note=note),
        reject=lambda request, actor, note: reschedules.reschedule_reject(proposal=request, actor=actor, note=note),
        approved=_("Reprogramación approved: each loan has its new cronograma and the miners are told."),
        rejected=_("Reprogramación rejected."),
    )
    return redirect("lifecycle:reschedules")


# --- Refinanciación ---------------------------------------------------------------------------------


@role_required(*STAFF)
def refinance_new(request: HttpRequest, pk: int) -> HttpResponse:
    """ "Refinanciar…": the new terms and the loans to consolidate, a preview of the new cronograma, then the
    proposal (submitted to a credit approver on the application path)."""
    loan = get_object_or_404(Loan.objects.select_related("miner", "product"), pk=pk)
    refusal = refinance_refusal(loan)
    others = list(
        Loan.objects.filter(miner_id=loan.miner_id, status=Loan.Status.ACTIVE, currency=loan.currency)
        .exclude(pk=loan.pk)
        .order_by("id")
    )
    form = RefinanceForm(request.POST or None, other_loans=others)
    can_propose = roles.has_role(request.user, *services.WRITE_OFF_PREPARERS)
    preview = None
    if request.method == "POST":
        if not can_propose:
            raise PermissionDenied
        if form.is_valid() and not refusal:
            data = form.cleaned_data
            terms = {
                "loan": loan,
                "term": data["term"],
                "first_due_on": data["first_due_on"],
                "tea_pct": data["tea_pct"],
                "also_loans": [other for other in others if other.pk in set(data["also_loans"])],
            }
            try:
                if "propose" in request.POST:
                    application = refinance_propose(
                        prepared_by=request.user, purpose_note=data["purpose_note"], **terms
                    )
                else:
                    preview = refinance_preview(**terms)
            except ValidationError as exc:
                _service_errors(form, exc)
            else:
                if preview is None:
                    messages.success(request, _("Refinancing proposed: a credit approver must approve it."))
                    return redirect("loans:application-detail", pk=application.pk)
    application_preview, schedule = preview if preview is not None else (None, None)
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "others": others,
        "refusal": refusal,
        "can_propose": can_propose,
        "application": application_preview,
        "schedule": schedule,
        "currency": loan.currency,
    }
    status = 400 if request.method == "POST" and (form.errors or refusal) else 200
    return render(request, "lifecycle/refinance_new.html", context, status=status)


# --- Guarantee funds --------------------------------------------------------------------------------

CLAIMABLE = "claimable"
CLAIM_VIEWS = (
    (CLAIMABLE, gettext_lazy("To claim")),
    (GuaranteeClaim.Status.PENDING, gettext_lazy("Awaiting approval")),
    (GuaranteeClaim.Status.APPROVED, gettext_lazy("Awaiting the fund")),
    (GuaranteeClaim.Status.PAID, gettext_lazy("Paid by the fund")),
    (GuaranteeClaim.Status.REJECTED, gettext_lazy("Rejected")),
)

CLAIMABLE_COLUMNS = [
    Column(gettext_lazy("Loan"), "code"),
    Column(gettext_lazy("Borrower"), "miner.full_name"),
    Column(gettext_lazy("Fund"), "guarantee_enrolment.fund.name"),
    Column(gettext_lazy("Days past due"), "days_past_due", Column.INTEGER),
    Column(gettext_lazy("Outstanding principal"), "outstanding_principal", Column.MONEY),
    Column(gettext_lazy("Coverage (%)"), "coverage", Column.MONEY),
    Column(gettext_lazy("Claimable"), "claimable", Column.MONEY),
    Column(gettext_lazy("Currency"), "currency"),
]
CLAIM_COLUMNS = [
    Column(gettext_lazy("Loan"), "loan.code"),
    Column(gettext_lazy("Borrower"), "loan.miner.full_name"),
    Column(gettext_lazy("Fund"), "fund.name"),
    Column(gettext_lazy("Status"), lambda c: c.get_status_display()),
    Column(gettext_lazy("Filed on"), "filed_on", Column.DATE),
    Column(gettext_lazy("Days past due at filing"), "days_past_due", Column.INTEGER),
    Column(gettext_lazy("Outstanding principal at filing"), "outstanding_principal", Column.MONEY),
    Column(gettext_lazy("Coverage (%)"), "coverage_pct", Column.MONEY),
    Column(gettext_lazy("Amount claimed"), "amount", Column.MONEY),
    Column(gettext_lazy("Currency"), "currency"),
    Column(gettext_lazy("Filed by"), "requested_by.username"),
    Column(gettext_lazy("Decided by"), lambda c: c.decided_by.username if c.decided_by else ""),
    Column(gettext_lazy("Paid by the fund on"), "paid_on", Column.DATE),
    Column(gettext_lazy("Paid by the fund"), "paid_amount", Column.MONEY),
    Column(gettext_lazy("Bank reference"), "bank_reference"),
    Column(gettext_lazy("Recovered since"), lambda c: guarantees.recovery_share(c).recovered, Column.MONEY),
    Column(gettext_lazy("Fund's share"), lambda c: guarantees.recovery_share(c).fund_share, Column.MONEY),
    Column(gettext_lazy("Remitted to the fund"), lambda c: guarantees.recovery_share(c).remitted, Column.MONEY),
    Column(gettext_lazy("Owed to the fund"), lambda c: guarantees.recovery_share(c).owed, Column.MONEY),
]


@role_required(*STAFF)
def guarantee_claims(request: HttpRequest) -> HttpResponseBase:
    """The guarantee claims queue: covered loans at the fund's threshold not yet claimed, claims awaiting
    approval or the fund, paid claims with what is owed to the fund of their recoveries."""
    view = request.GET.get("view") or CLAIMABLE
    if view not in dict(CLAIM_VIEWS):
        view = CLAIMABLE
    rows: Any
    if view == CLAIMABLE:
        rows, columns = guarantees.claimable_loans(), CLAIMABLE_COLUMNS
    else:
        rows = guarantees.claims_with_recoveries(
            GuaranteeClaim.objects.filter(status=view).select_related(
                "loan__miner", "fund", "requested_by", "decided_by"
            )
        ).order_by("requested_at" if view in guarantees.OPEN_STATUSES else "-requested_at", "id")
        columns = CLAIM_COLUMNS
    if export_format(request):
        return export_response(request, rows=rows, columns=columns, filename="reclamos-fondo-garantia")
    shown = list(rows[:QUEUE_LIMIT])
    if view != CLAIMABLE:
        for claim in shown:
            claim.share = guarantees.recovery_share(claim)
    context = {"nav": "guarantee-claims", "rows": shown, "view": view, "views": CLAIM_VIEWS, "limit": QUEUE_LIMIT}
    return render(request, "lifecycle/guarantee_claims.html", context)


@role_required(*STAFF)
def loan_guarantee(request: HttpRequest, pk: int) -> HttpResponse:
    """The loan's guarantee fund: its enrolment and claims, and the form that files a claim."""
    loan = get_object_or_404(Loan.objects.select_related("miner", "product"), pk=pk)
    form = GuaranteeClaimForm(request.POST or None)
    refusals = guarantees.claim_refusals(loan)
    if request.method == "POST":
        if not roles.has_role(request.user, *guarantees.CLAIM_FILERS):
            raise PermissionDenied
        if form.is_valid():
            try:
                claim = guarantees.claim_file(loan=loan, actor=request.user, note=form.cleaned_data["note"])
            except ValidationError as exc:
                refusals = exc.messages
            else:
                messages.success(request, _("Claim filed: a credit approver must approve it."))
                return redirect("lifecycle:guarantee-claim", pk=claim.pk)
    enrolment = GuaranteeEnrolment.objects.select_related("fund", "enrolled_by").filter(loan=loan).first()
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "refusals": refusals,
        "enrolment": enrolment,
        "fund": enrolment.fund if enrolment else guarantees.fund_for(loan),
        "claimable": guarantees.claim_amount(loan.outstanding_principal, enrolment.coverage_pct) if enrolment else None,
        "claims": list(loan.guarantee_claims.select_related("requested_by", "decided_by").order_by("-requested_at")),
        "can_file": roles.has_role(request.user, *guarantees.CLAIM_FILERS),
    }
    return render(request, "lifecycle/loan_guarantee.html", context, status=400 if request.method == "POST" else 200)


def _claim_step(request: HttpRequest, claim: GuaranteeClaim) -> tuple[bool, Any]:
    """Carry out the step the posted form names (approve, reject, payment, remit); (done, the form)."""
    step = request.POST.get("step")
    form: Any = None
    try:
        if step in ("approve", "reject"):
            note = request.POST.get("note", "")
            if step == "approve":
                guarantees.claim_approve(request=claim, actor=request.user, note=note)
                messages.success(request, _("Claim approved: it goes to the fund."))
            else:
                guarantees.claim_reject(request=claim, actor=request.user, note=note)
                messages.success(request, _("Claim rejected."))
            return True, None
        if step == "payment":
            require_role(request.user, *guarantees.FUND_TREASURY)
            form = GuaranteePaymentForm(request.POST, prefix="payment")
            if form.is_valid():
                guarantees.claim_payment_record(claim=claim, actor=request.user, **form.cleaned_data)
                messages.success(request, _("The fund's payment is recorded."))
                return True, None
        elif step == "remit":
            require_role(request.user, *guarantees.FUND_TREASURY)
            form = GuaranteeRemittanceForm(request.POST, prefix="remit")
            if form.is_valid():
                guarantees.recovery_remit(claim=claim, actor=request.user, **form.cleaned_data)
                messages.success(request, _("The remittance to the fund is recorded."))
                return True, None
        else:
            messages.error(request, _("Choose what to do with the claim."))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Your role does not allow this."))
    except ValidationError as exc:
        if form is not None and hasattr(exc, "error_dict"):
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            messages.error(request, " ".join(exc.messages))
    return False, form


@role_required(*STAFF)
def guarantee_claim(request: HttpRequest, pk: int) -> HttpResponse:
    """One claim: its figures, the decision, the fund's payment and the remittances of its share."""
    claim = get_object_or_404(GuaranteeClaim.objects.select_related("loan__miner", "fund"), pk=pk)
    today = timezone.localdate()
    payment_form: Any = GuaranteePaymentForm(prefix="payment", initial={"paid_on": today, "amount": claim.amount})
    remit_form: Any = GuaranteeRemittanceForm(prefix="remit", initial={"remitted_on": today})
    status = 200
    if request.method == "POST":
        done, form = _claim_step(request, claim)
        if done:
            return redirect("lifecycle:guarantee-claim", pk=claim.pk)
        status = 400
        if isinstance(form, GuaranteePaymentForm):
            payment_form = form
        elif isinstance(form, GuaranteeRemittanceForm):
            remit_form = form
    claim = (
        guarantees.claims_with_recoveries(GuaranteeClaim.objects.filter(pk=claim.pk))
        .select_related("loan__miner", "fund", "requested_by", "decided_by", "payment_recorded_by")
        .get()
    )
    share = guarantees.recovery_share(claim)
    if share.owed and not remit_form.is_bound:
        remit_form.initial["amount"] = share.owed
    context = {
        "nav": "guarantee-claims",
        "claim": claim,
        "loan": claim.loan,
        "share": share,
        "exposure_after": guarantees.exposure_after(claim) if claim.paid_amount is not None else None,
        "remittances": list(claim.remittances.select_related("recorded_by")),
        "payment_form": payment_form,
        "remit_form": remit_form,
        "can_decide": roles.has_role(request.user, *guarantees.CLAIM_APPROVERS)
        and claim.requested_by_id != request.user.pk,
        "can_treasure": roles.has_role(request.user, *guarantees.FUND_TREASURY),
    }
    return render(request, "lifecycle/guarantee_claim.html", context, status=status)
