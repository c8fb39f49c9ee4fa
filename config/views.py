from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Max
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.models import JobRun
from asmcredit.web import APPROVERS, OFFICERS, STAFF, VERIFIERS, role_required

logger = logging.getLogger(__name__)

QUEUE_SIZE = 6


HEALTH_TIMEOUT_SECONDS = 1


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("asmcredit:healthz", "ok", 10)
    if cache.get("asmcredit:healthz") != "ok":
        raise RuntimeError("the value written was not read back")


def _check_broker() -> str:
    if not settings.CELERY_BROKER_URL:
        return "not configured"  # the demo: tasks run in-process
    from kombu import Connection

    with Connection(
        settings.CELERY_BROKER_URL,
        connect_timeout=HEALTH_TIMEOUT_SECONDS,
        transport_options={
            "socket_connect_timeout": HEALTH_TIMEOUT_SECONDS,
            "socket_timeout": HEALTH_TIMEOUT_SECONDS,
        },
    ) as broker:
        broker.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=HEALTH_TIMEOUT_SECONDS)
    return "ok"


def _probe(name: str, check: Callable[[], str | None]) -> str:
    try:
        return check() or "ok"
    except Exception as exc:  # any failure of a dependency is a report, not a 500
        logger.warning("healthz: %s is down: %s: %s", name, type(exc).__name__, exc)
        # The class only: /healthz is public, and a driver's message names internal hosts.
        return f"down: {type(exc).__name__}"


def healthz(request: HttpRequest) -> JsonResponse:
    """Each dependency's state, for monitoring. 503 only when the database is down: without the cache
    the API throttles per worker process, and without the broker only background jobs wait, so the app
    still serves and a load balancer should keep sending it traffic."""
    checks = {
        "database": _probe("database", _check_database),
        "cache": _probe("cache", _check_cache),
        "broker": _probe("broker", _check_broker),
    }
    healthy = all(state in {"ok", "not configured"} for state in checks.values())
    return JsonResponse(
        {"status": "ok" if healthy else "degraded", "checks": checks},
        status=200 if checks["database"] == "ok" else 503,
    )


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """The header's language switch: for this session, and kept for the person's next sign-ins."""
    from asmcredit.middleware import LANGUAGE_SESSION_KEY
    from asmcredit.preferences import user_language_set

    language = request.POST.get("language", "es")
    if language in {"es", "en"}:
        request.session[LANGUAGE_SESSION_KEY] = language
        if request.user.is_authenticated:
            user_language_set(user=request.user, language=language)
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
    from installments.models import LoanRating, ReconciliationException
    from installments.tally import COMPACT_ABOVE, tally_compact
    from lifecycle.models import ReversalRequest, WriteOff
    from lifecycle.selectors import broken_promises
    from loans.collateral import collateral_expiring
    from loans.models import Loan, LoanApplication
    from rates.fx import MissingExchangeRate
    from reports.selectors import portfolio_current, portfolio_flows, unremitted_by_buyer

    user = request.user
    today = timezone.localdate()
    # The stock (loans, outstanding, PAR, categories) from the loans' current state, so a payment shows
    # at once; the month's money as the portfolio report counts it; provisions from the last nightly
    # rating. All read the running totals the database keeps as loans and withholdings change
    # (installments.tally): a few hundred rows, never the 150,000 loans or a month of withholdings.
    current: Any = None
    flows: Any = None
    fx_missing = None
    try:
        current = portfolio_current(as_of=today)
        flows = portfolio_flows(as_of=today, date_from=today.replace(day=1))
    except MissingExchangeRate as exc:
        fx_missing = {"currencies": ", ".join(exc.currencies), "on": exc.on}
    if current is not None and flows is not None and current.tally_backlog + flows.tally_backlog > COMPACT_ABOVE:
        tally_compact()  # now and then, so the next visits sum a few hundred rows again
    unremitted = unremitted_by_buyer(limit=8)
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
        # Promises to pay whose day passed without the money (read from the ledger).
        queues["broken_promises"] = _queue(broken_promises(today=today, limit=QUEUE_SIZE + 1))
        # Insurance on pledged collateral expiring within COLLATERAL_EXPIRY_WARNING_DAYS, or expired.
        queues["collateral_policies"] = _queue(collateral_expiring(today=today))
        # Money the lender holds beyond what miners owe (DOMAIN.md §3): refund it or apply it.
        queues["credits"] = _queue(
            Loan.objects.filter(overpayment_credit__gt=0).select_related("miner").order_by("-overpayment_credit")
        )
    if roles.has_role(user, *OFFICERS, *APPROVERS, roles.TREASURY):
        queues["exceptions"] = _queue(
            ReconciliationException.objects.filter(status=ReconciliationException.Status.OPEN)
            .select_related("buyer")
            .order_by("detected_on")
        )
    if roles.has_role(user, *APPROVERS):
        # Two-person decisions waiting for someone other than who asked (DOMAIN.md §7).
        queues["reversals"] = _queue(
            ReversalRequest.objects.filter(status=ReversalRequest.Status.PENDING)
            .exclude(requested_by_id=user.pk)
            .select_related("loan__miner", "original")
            .order_by("requested_at")
        )
        queues["write_offs"] = _queue(
            WriteOff.objects.filter(status=WriteOff.Status.PENDING)
            .exclude(requested_by_id=user.pk)
            .select_related("loan__miner")
            .order_by("requested_at")
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
            "flows": flows,
            "current": current,
            "fx_missing": fx_missing,
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
