from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import F, Max, Min, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.models import JobRun
from asmcredit.web import APPROVERS, OFFICERS, STAFF, VERIFIERS, role_required

QUEUE_SIZE = 6


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "es")
    if language in {"es", "en"}:
        request.session["language"] = language
    target = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


def _queue(queryset, size: int = QUEUE_SIZE) -> dict:  # type: ignore[no-untyped-def]
    items = list(queryset[: size + 1])
    return {"items": items[:size], "more": len(items) > size}


def _greeting(hour: int) -> str:
    return "morning" if hour < 12 else "afternoon" if hour < 19 else "evening"


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """The morning view: the portfolio at a glance and what needs attention today."""
    if not roles.has_role(request.user, *STAFF):
        # A buyer company's user signs in through the same page; their home is the buyer portal.
        if hasattr(request.user, "buyer_link"):
            try:
                return HttpResponseRedirect(reverse("buyers:settlements-upload"))
            except NoReverseMatch:
                pass
        raise PermissionDenied
    from installments.models import LoanRating, ReconciliationException, Withholding
    from loans.models import Loan, LoanApplication
    from reports.selectors import portfolio_summary

    user = request.user
    today = timezone.localdate()
    summary = portfolio_summary(as_of=today, date_from=today.replace(day=1))
    unremitted = list(
        Withholding.objects.filter(status__in=[Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL])
        .values("buyer_id", "buyer__name", "currency")
        .annotate(owed=Sum(F("amount") - F("remitted_amount")), oldest=Min("withheld_on"))
        .order_by("-owed")[:8]
    )
    queues: dict[str, dict] = {}
    applications = LoanApplication.objects.select_related("miner", "product")
    is_admin = roles.has_role(user, roles.LENDER_ADMIN)
    if roles.has_role(user, *OFFICERS):
        drafts = applications.filter(status=LoanApplication.Status.DRAFT).order_by("-updated")
        if not is_admin:
            drafts = drafts.filter(prepared_by_id=user.pk)
        queues["to_complete"] = _queue(drafts)
        queues["to_disburse"] = _queue(
            applications.filter(status=LoanApplication.Status.APPROVED).order_by("decided_at")
        )
    if roles.has_role(user, *APPROVERS):
        queues["to_approve"] = _queue(
            applications.filter(status=LoanApplication.Status.SUBMITTED)
            .exclude(prepared_by_id=user.pk)
            .order_by("submitted_at")
        )
    if roles.has_role(user, *OFFICERS, *APPROVERS):
        latest = LoanRating.objects.aggregate(latest=Max("as_of"))["latest"]
        warnings = LoanRating.objects.none()
        if latest:
            warnings = (
                LoanRating.objects.filter(as_of=latest, loan__status=Loan.Status.ACTIVE)
                .exclude(warnings=[])
                .select_related("loan__miner")
                .order_by("-days_past_due")
            )
        queues["warnings"] = _queue(warnings)
        queues["exceptions"] = _queue(
            ReconciliationException.objects.filter(status=ReconciliationException.Status.OPEN)
            .select_related("buyer")
            .order_by("detected_on")
        )
    if roles.has_role(user, *VERIFIERS):
        queues["to_verify"] = _queue(
            Loan.objects.filter(equipment__isnull=False, installation_verified_at__isnull=True)
            .select_related("miner", "equipment")
            .order_by("disbursed_on")
        )
    return render(
        request,
        "dashboard/index.html",
        {
            "nav": "dashboard",
            "summary": summary,
            "unremitted": unremitted,
            "queues": queues,
            "today": today,
            "greeting": _greeting(timezone.localtime().hour),
        },
    )


@role_required(*OFFICERS)
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(JobRun, pk=pk)
    return render(request, "jobs/detail.html", {"job": job})


@role_required(*OFFICERS)
def job_progress(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(JobRun, pk=pk)
    return render(request, "jobs/_progress.html", {"job": job})
