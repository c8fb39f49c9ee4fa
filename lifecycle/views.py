"""Officer pages for a loan's life beyond the happy path: ask for a payment reversal, and the approvers'
queue that decides them."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from asmcredit.web import STAFF, role_required
from installments.models import LoanTransaction
from installments.services import reversal_refusal
from lifecycle import services
from lifecycle.forms import ReversalDecisionForm, ReversalRequestForm
from lifecycle.models import ReversalRequest

QUEUE_LIMIT = 200


def _service_errors(form: ReversalRequestForm | ReversalDecisionForm, exc: ValidationError) -> None:
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


@role_required(*STAFF)
def reversal_queue(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or ReversalRequest.Status.PENDING
    if status not in ReversalRequest.Status.values:
        status = ReversalRequest.Status.PENDING
    requests = (
        ReversalRequest.objects.filter(status=status)
        .select_related("loan__miner", "original", "requested_by", "decided_by")
        .order_by("requested_at" if status == ReversalRequest.Status.PENDING else "-decided_at", "id")[:QUEUE_LIMIT]
    )
    context = {
        "nav": "reversals",
        "requests": list(requests),
        "status": status,
        "statuses": ReversalRequest.Status.choices,
        "limit": QUEUE_LIMIT,
    }
    return render(request, "lifecycle/reversal_queue.html", context)


@require_POST
@role_required(*services.REVERSAL_APPROVERS, *services.REVERSAL_REQUESTERS)
def reversal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    reversal = get_object_or_404(ReversalRequest, pk=pk)
    form = ReversalDecisionForm(request.POST)
    if form.is_valid():
        decision, note = form.cleaned_data["decision"], form.cleaned_data["note"]
        try:
            if decision == "approve":
                services.reversal_approve(request=reversal, actor=request.user, note=note)
                messages.success(request, _("Reversal approved: the payment is reversed and the loan replayed."))
            else:
                services.reversal_reject(request=reversal, actor=request.user, note=note)
                messages.success(request, _("Reversal rejected."))
        except PermissionDenied as exc:
            messages.error(request, str(exc))
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Choose to approve or reject."))
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
