"""The lender administrator's page for migrating a loan book: upload, a dry run with its progress bar
and the differences line by line, then the commit of the loans that tie.

An app page rather than the Django admin: the admin here is read-only (writes go through audited
services), and the work runs as a job with the progress bar every import page already has."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from asmcredit.jobs import job_start
from asmcredit.outbox import outbox_enqueue
from asmcredit.tabular import template_response
from asmcredit.web import paginate, role_required
from lifecycle.book_import.forms import BookUploadForm
from lifecycle.book_import.reading import COLUMNS, SHEETS, template_columns
from lifecycle.book_import.services import IMPORTERS, book_import_create
from lifecycle.models import BookImport

TEMPLATE_NAMES = {"loans": "plantilla-prestamos", "payments": "plantilla-pagos", "schedule": "plantilla-cronograma"}


def _start(batch: BookImport) -> None:
    """The batch's job and its task, queued once the batch is committed (through the outbox)."""
    job = job_start(name="import_book", as_of=batch.cutoff, detail={"batch_id": batch.pk})
    batch.job = job
    batch.save(update_fields=["job"])
    outbox_enqueue("lifecycle.tasks.run_book_import", batch.pk, job.pk)


@role_required(*IMPORTERS)
def book_imports(request: HttpRequest) -> HttpResponse:
    form = BookUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        texts = form.cleaned_data["texts"]
        try:
            with transaction.atomic():
                batch = book_import_create(
                    actor=request.user,
                    cutoff=form.cleaned_data["cutoff"],
                    loans=texts["loans"],
                    payments=texts.get("payments", ""),
                    schedule=texts.get("schedule", ""),
                    file_name=form.cleaned_data["file_name"],
                )
                _start(batch)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("lifecycle:book-import", pk=batch.pk)
    page = paginate(request, BookImport.objects.select_related("started_by").order_by("-started_at", "-id"))
    return render(
        request,
        "lifecycle/book_imports.html",
        {
            "nav": "book-imports",
            "form": form,
            "page": page,
            "batches": page.object_list,
            "columns": {name: [c[0] for c in columns.values()] for name, columns in COLUMNS.items()},
            "sheets": SHEETS,
            "today": timezone.localdate(),
        },
        status=400 if request.method == "POST" and not form.is_valid() else 200,
    )


@role_required(*IMPORTERS)
def book_import(request: HttpRequest, pk: int) -> HttpResponse:
    batch = get_object_or_404(BookImport.objects.select_related("job", "started_by", "confirms"), pk=pk)
    lines = batch.lines.select_related("loan").order_by("row")
    committed = batch.commits.filter(status=BookImport.Status.DONE).first() or batch.commits.first()
    return render(
        request,
        "lifecycle/book_import.html",
        {"nav": "book-imports", "batch": batch, "lines": lines, "committed": committed},
    )


@role_required(*IMPORTERS)
def book_import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress bar, polled while the batch runs; once it is done the page reloads with the results."""
    batch = get_object_or_404(BookImport.objects.select_related("job"), pk=pk)
    response = render(request, "lifecycle/_book_import_progress.html", {"batch": batch})
    if batch.status != BookImport.Status.RUNNING:
        response["HX-Refresh"] = "true"
    return response


@require_POST
@role_required(*IMPORTERS)
def book_import_commit(request: HttpRequest, pk: int) -> HttpResponse:
    """Import the loans of a finished dry run that tie: the same files, run again as a commit (the
    replay is repeated, so a loan imported meanwhile is skipped, never doubled)."""
    dry_run = get_object_or_404(BookImport, pk=pk, mode=BookImport.Mode.DRY_RUN)
    if dry_run.status != BookImport.Status.DONE or not dry_run.tied:
        messages.error(request, _("Only a finished dry run with loans that tie can be imported."))
        return redirect("lifecycle:book-import", pk=dry_run.pk)
    with transaction.atomic():
        batch = book_import_create(
            actor=request.user,
            cutoff=dry_run.cutoff,
            loans=dry_run.loans_text,
            payments=dry_run.payments_text,
            schedule=dry_run.schedule_text,
            file_name=dry_run.file_name,
            commit=True,
            confirms=dry_run,
        )
        _start(batch)
    return redirect("lifecycle:book-import", pk=batch.pk)


@role_required(*IMPORTERS)
def book_import_template(request: HttpRequest, file: str, fmt: str) -> HttpResponse:
    if file not in TEMPLATE_NAMES:
        raise Http404
    return template_response(template_columns(file), fmt=fmt, filename=TEMPLATE_NAMES[file], sheet=SHEETS[file])
