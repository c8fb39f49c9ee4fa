"""The SBS reports page: the files kept, with their downloads, and the form that generates one in the
background (a progress bar polls the job). For the accountant once that role exists, the approver and the
lender admin meanwhile."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from asmcredit.models import JobRun
from asmcredit.web import paginate, role_required
from reports.regulatory import services
from reports.regulatory.forms import RegulatoryReportForm
from reports.regulatory.models import RegulatoryFile

CONTENT_TYPES = {"txt": "text/plain; charset=iso-8859-1", "csv": "text/csv; charset=utf-8", "pdf": "application/pdf"}


@role_required(*services.REGULATORY_ROLES)
@require_http_methods(["GET", "POST"])
def regulatory_files(request: HttpRequest) -> HttpResponse:
    """The list and the form; POST queues the generation and shows its progress. Under htmx the form and
    the progress are one panel swapped together (a refused form shows its errors in place)."""
    form = RegulatoryReportForm(request.POST) if request.method == "POST" else RegulatoryReportForm()
    job: JobRun | None = None
    if request.method == "POST" and form.is_valid():
        job = services.regulatory_job_start(
            actor=request.user, kind=form.cleaned_data["kind"], cutoff=form.cleaned_data["cutoff"]
        )
        if not request.htmx:  # type: ignore[attr-defined]
            return redirect(f"{reverse('reports:regulatory')}?job={job.pk}")
    elif request.GET.get("job", "").isdigit():
        job = JobRun.objects.filter(pk=int(request.GET["job"]), name=services.REGULATORY_JOB).first()
    context: dict[str, Any] = {"nav": "regulatory", "form": form, "job": job}
    if request.htmx and request.method == "POST":  # type: ignore[attr-defined]
        return render(request, "reports/regulatory/_panel.html", context)
    files = RegulatoryFile.objects.select_related("layout").order_by("-cutoff", "-generated_at", "-id")
    context["page"] = paginate(request, files)
    return render(request, "reports/regulatory/files.html", context, status=400 if form.errors else 200)


@role_required(*services.REGULATORY_ROLES)
@require_GET
def regulatory_job(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial htmx polls every second; it stops polling once the job is done."""
    job = get_object_or_404(JobRun, pk=pk, name=services.REGULATORY_JOB)
    return render(request, "reports/regulatory/_job.html", {"job": job})


@role_required(*services.REGULATORY_ROLES)
@require_GET
def regulatory_download(request: HttpRequest, pk: int) -> FileResponse:
    kept = get_object_or_404(RegulatoryFile, pk=pk)
    response = FileResponse(
        kept.content.open("rb"), as_attachment=True, filename=kept.filename, content_type=CONTENT_TYPES[kept.format]
    )
    response["Cache-Control"] = "private, no-store"
    return response
