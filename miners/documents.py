"""The miner's documents and trainings on screen (officer web application); the rules are in
miners.dossier."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit.uploads import content_type_for
from asmcredit.web import require_role, role_required
from miners.dossier import (
    DOCUMENT_KEEPERS,
    DOCUMENT_READERS,
    TRAINING_RECORDERS,
    miner_document_add,
    training_record,
)
from miners.forms import MinerDocumentForm, TrainingForm
from miners.models import Miner, MinerDocument
from miners.views import _apply_errors


def _record_page(
    request: HttpRequest,
    *,
    miner: Miner,
    form: Any,
    record: Callable[..., Any],
    done: str,
    section: str,
    template: str,
) -> HttpResponse:
    """The form page of one record in the expediente: on a valid POST the service ``record`` saves it
    and the miner's page opens at ``section``; a refusal comes back as the form's errors."""
    if request.method == "POST" and form.is_valid():
        try:
            record(miner=miner, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, done)
            return redirect(reverse("miners:detail", args=[miner.pk]) + f"#{section}")
    context = {"nav": "miners", "miner": miner, "form": form}
    return render(request, template, context, status=400 if form.errors else 200)


@role_required(*DOCUMENT_KEEPERS)
def document_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _record_page(
        request,
        miner=get_object_or_404(Miner, pk=pk),
        form=MinerDocumentForm(request.POST or None, request.FILES or None),
        record=miner_document_add,
        done=_("Document filed."),
        section="documents",
        template="miners/documents/document_form.html",
    )


@login_required
def document_file(request: HttpRequest, pk: int, document_pk: int) -> FileResponse:
    """The filed document itself, to the lender's staff only (MEDIA_ROOT has no public URL); shown in
    the browser, or downloaded with ``?download=1``."""
    require_role(request.user, *DOCUMENT_READERS)
    document = get_object_or_404(MinerDocument.objects.select_related("miner"), pk=document_pk, miner_id=pk)
    content_type = content_type_for(document.file.name)
    try:
        handle = document.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    # Anything not checked at upload (an old file of unknown type) is only ever downloaded.
    download = request.GET.get("download") == "1" or content_type == "application/octet-stream"
    extension = document.file.name.rsplit(".", 1)[-1] if "." in document.file.name else "bin"
    name = f"{document.kind}-{document.miner.document_number}-{document.pk}.{extension}"
    response = FileResponse(handle, content_type=content_type, as_attachment=download, filename=name)
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(*TRAINING_RECORDERS)
def training_add(request: HttpRequest, pk: int) -> HttpResponse:
    return _record_page(
        request,
        miner=get_object_or_404(Miner, pk=pk),
        form=TrainingForm(request.POST or None, initial={"held_on": timezone.localdate()}),
        record=training_record,
        done=_("Training recorded."),
        section="trainings",
        template="miners/documents/training_form.html",
    )
