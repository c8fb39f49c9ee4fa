"""Report downloads and the portfolio report page. Thin: check who asks, read the parameters, call a service.

Who sees what:
- the portfolio report (page, job, PDF, CSV): NGO analysts, approvers, officers, admins;
- cronogramas and miner statements: lender staff; NGO analysts get them with document numbers masked;
- a buyer statement: lender staff, and the buyer's own users — any other buyer gets a 404, so it
  cannot even learn which buyer ids exist.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from asmcredit import roles
from asmcredit.models import JobRun
from buyers.models import Buyer, BuyerUser
from loans.models import Loan, LoanApplication
from miners.models import Miner
from reports import pdf, services
from reports.forms import PortfolioReportForm
from reports.selectors import portfolio_summary

STAFF = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.NGO_ANALYST, roles.LENDER_ADMIN)
PORTFOLIO_ROLES = STAFF
# Roles that may see borrowers' document numbers; an NGO analyst alone may not.
IDENTITY_ROLES = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)


def _require(request: HttpRequest, *allowed: str) -> None:
    if not roles.has_role(request.user, *allowed):
        raise PermissionDenied(_("Your role cannot see this report."))


def _mask(request: HttpRequest) -> bool:
    return not roles.has_role(request.user, *IDENTITY_ROLES)


def _date(request: HttpRequest, name: str, default: dt.date | None = None) -> dt.date | None:
    raw = (request.GET.get(name) or request.POST.get(name) or "").strip()
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError as exc:
        raise ValueError(_("%(name)s must be a date as YYYY-MM-DD.") % {"name": name}) from exc


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = dt.date.today()
    date_to = _date(request, "to", today) or today
    date_from = _date(request, "from", date_to.replace(day=1)) or date_to.replace(day=1)
    if date_from > date_to:
        raise ValueError(_("The period must start before it ends."))
    return date_from, date_to


def _pdf_response(document: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(document, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _lang(request: HttpRequest) -> str:
    return pdf.language(request.GET.get("lang") or translation.get_language()[:2])


@login_required
@require_GET
def loan_cronograma(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, *STAFF)
    loan = get_object_or_404(Loan, pk=pk)
    document = services.cronograma_pdf(
        services.loan_cronograma(loan=loan, mask_documents=_mask(request)), lang=_lang(request)
    )
    return _pdf_response(document, f"cronograma-{loan.code}.pdf")


@login_required
@require_GET
def offer_cronograma(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, *STAFF)
    application = get_object_or_404(LoanApplication, pk=pk)
    cronograma = services.offer_cronograma(application=application, mask_documents=_mask(request))
    return _pdf_response(services.cronograma_pdf(cronograma, lang=_lang(request)), f"oferta-{application.pk}.pdf")


@login_required
@require_GET
def miner_statement(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, *STAFF)
    miner = get_object_or_404(Miner, pk=pk)
    try:
        date_from, date_to = _period(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    statement = services.miner_statement(
        miner=miner, date_from=date_from, date_to=date_to, mask_documents=_mask(request)
    )
    return _pdf_response(
        services.miner_statement_pdf(statement, lang=_lang(request)),
        f"estado-cuenta-{miner.pk}-{date_from}-{date_to}.pdf",
    )


# --- The paid-off certificate (constancia de no adeudo, issue #15) ------------------------------------


@login_required
@require_GET
def loan_paid_off_certificate(request: HttpRequest, pk: int) -> HttpResponse:
    """Lender staff who see document numbers print it for the miner; a loan not paid off is a 404."""
    from django.utils import timezone

    from reports.services.paid_off_certificate import paid_off_certificate, paid_off_certificate_pdf

    _require(request, *IDENTITY_ROLES)
    loan = get_object_or_404(Loan.objects.select_related("miner", "product"), pk=pk, status=Loan.Status.PAID_OFF)
    certificate = paid_off_certificate(loan=loan, issued_on=timezone.localdate())
    return _pdf_response(
        paid_off_certificate_pdf(certificate, lang=_lang(request)), f"constancia-no-adeudo-{loan.code}.pdf"
    )


def _buyer_visible(request: HttpRequest, buyer: Buyer) -> bool:
    if roles.has_role(request.user, *STAFF):
        return True
    return BuyerUser.objects.filter(user_id=int(request.user.pk or 0), buyer=buyer).exists()


@login_required
@require_GET
def buyer_statement(request: HttpRequest, pk: int) -> HttpResponse:
    buyer = get_object_or_404(Buyer, pk=pk)
    if not _buyer_visible(request, buyer):
        raise Http404
    try:
        date_from, date_to = _period(request)
    except ValueError as exc:
        return HttpResponseBadRequest(str(exc))
    statement = services.buyer_statement(buyer=buyer, date_from=date_from, date_to=date_to)
    return _pdf_response(
        services.buyer_statement_pdf(statement, lang=_lang(request)),
        f"estado-comprador-{buyer.ruc}-{date_from}-{date_to}.pdf",
    )


# --- Portfolio report ------------------------------------------------------------------------------


def _portfolio_form(request: HttpRequest) -> PortfolioReportForm:
    """The report's parameters from the form (POST) or the query string (a CSV table's link)."""
    return PortfolioReportForm(request.POST if request.method == "POST" else request.GET)


@login_required
@require_http_methods(["GET", "POST"])
def portfolio(request: HttpRequest) -> HttpResponse:
    """The form; POST queues the report and shows its progress, polled by htmx until the PDF is ready.

    Under htmx the form and the progress are one panel swapped together, so a refused form shows its
    errors in place (a 200: htmx swaps no 4xx answer); without htmx a refused form is a 400."""
    _require(request, *PORTFOLIO_ROLES)
    form = _portfolio_form(request) if request.method == "POST" else PortfolioReportForm()
    job: JobRun | None = None
    if request.method == "POST" and form.is_valid():
        job = services.portfolio_job_start(actor=request.user, params=form.params())
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(f"{reverse('reports:portfolio')}?job={job.pk}")
    elif request.GET.get("job", "").isdigit():
        job = JobRun.objects.filter(pk=int(request.GET["job"]), name=services.PORTFOLIO_JOB).first()
    context: dict[str, Any] = {"nav": "portfolio", "form": form, **(_job_context(job) if job else {})}
    if request.htmx and request.method == "POST":  # type: ignore[attr-defined]
        return render(request, "reports/_portfolio_panel.html", context)
    context["recent"] = JobRun.objects.filter(name=services.PORTFOLIO_JOB).order_by("-started_at")[:10]
    return render(request, "reports/portfolio.html", context, status=400 if form.errors else 200)


def _job_context(job: JobRun) -> dict[str, Any]:
    params = (job.detail or {}).get("params", {})
    return {"job": job, "params": params, "tables": _CSV_TABLES.items()}


# The tables of the report a CSV link downloads, by slug, named as the PDF names them.
_CSV_TABLES = {
    "key-figures": gettext_lazy("Key figures"),
    "categories": gettext_lazy("SBS risk categories"),
    "gender": gettext_lazy("By gender"),
    "role": gettext_lazy("By role"),
    "region": gettext_lazy("By region"),
    "buyer": gettext_lazy("By buyer"),
    "product": gettext_lazy("By product"),
    "equipment": gettext_lazy("Equipment financed"),
    "trainings": gettext_lazy("Trainings received"),
    "months": gettext_lazy("Month by month"),
    "approval-exceptions": gettext_lazy("Approvals by exception"),
}


@login_required
@require_GET
def portfolio_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial htmx polls every second; it stops polling once the job is done."""
    _require(request, *PORTFOLIO_ROLES)
    job = get_object_or_404(JobRun, pk=pk, name=services.PORTFOLIO_JOB)
    return render(request, "reports/_portfolio_job.html", _job_context(job))


@login_required
@require_GET
def portfolio_download(request: HttpRequest, pk: int) -> FileResponse:
    _require(request, *PORTFOLIO_ROLES)
    job = get_object_or_404(JobRun, pk=pk, name=services.PORTFOLIO_JOB, status=JobRun.Status.SUCCEEDED)
    path = services.report_file_path(job)
    if path is None:
        raise Http404
    response = FileResponse(path.open("rb"), content_type="application/pdf", filename=f"cartera-{job.as_of}.pdf")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def portfolio_csv(request: HttpRequest, table: str) -> HttpResponse:
    """One table of the portfolio report as CSV, for the same parameters (computed at once: the
    figures are a few SQL aggregates; only the PDF rendering is slow)."""
    _require(request, *PORTFOLIO_ROLES)
    if table not in _CSV_TABLES:
        raise Http404
    form = _portfolio_form(request)
    if not form.is_valid():
        return HttpResponseBadRequest(" ".join(str(error) for errors in form.errors.values() for error in errors))
    params = form.params()
    summary = portfolio_summary(
        as_of=dt.date.fromisoformat(params["as_of"]),
        date_from=dt.date.fromisoformat(params["date_from"]) if params["date_from"] else None,
        buyer=params["buyer"],
        region=params["region"],
        product=params["product"],
    )
    with translation.override(params["lang"]):
        if table == "approval-exceptions":
            chosen = services.approval_exceptions_table(date_from=summary.date_from, date_to=summary.as_of)
        else:
            chosen = services.portfolio_tables(summary)[table]
        content = services.table_csv(chosen)
    response = HttpResponse(content, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cartera-{params["as_of"]}-{table}.csv"'
    return response
