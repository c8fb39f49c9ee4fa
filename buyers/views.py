"""The buyer company's web page: upload a file of settlements, CSV or XLSX (for buyers without an
integration), with its template to download; and the staff page of a buyer's agreed terms.

Upload: same rules and service as the bulk API (``installments.services.settlement_batches``): every row is
checked first and nothing is saved unless all rows are valid. "Check only" computes everything — values
and withholdings — and saves nothing, so the buyer can see what it would withhold before posting.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from asmcredit import roles
from asmcredit.tabular import UPLOAD_ACCEPT, template_response
from asmcredit.web import OFFICERS, STAFF, role_required
from buyers.forms import BuyerTermsForm
from buyers.models import Buyer, BuyerUser
from buyers.selectors import buyer_terms_versions
from buyers.services import buyer_terms_add
from buyers.settlement_input import TEMPLATE_SHEET, template_columns
from buyers.terms import bands_text, terms_in_force
from installments.services.settlement_batches import settlements_import_csv

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class SettlementUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        help_text=_("An Excel workbook, or a CSV separated by commas or semicolons (UTF-8 or Excel's Latin-1)."),
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )
    check_only = forms.BooleanField(label=_("Check only, do not save"), required=False)

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 5 MB; split it."), code="too_large")
        return upload


def _buyer_of(request: HttpRequest) -> Buyer:
    link = BuyerUser.objects.select_related("buyer").filter(user_id=request.user.pk or 0).first()
    if link is None or not link.buyer.is_active:
        raise PermissionDenied(_("This page is for buyer companies' users."))
    return link.buyer


@login_required
def settlements_upload(request: HttpRequest) -> HttpResponse:
    buyer = _buyer_of(request)
    form = SettlementUploadForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        result = settlements_import_csv(
            buyer=buyer,
            actor=request.user,
            file=form.cleaned_data["file"],
            dry_run=form.cleaned_data["check_only"],
        )
    errors = result.error_lines() if result else []
    # A file refused for its size (bytes or rows) is a 413, so a script uploading it sees a failure too.
    if form.has_error("file", code="too_large") or (result is not None and result.too_large):
        status = 413
    elif (result is not None and not result.ok) or (request.method == "POST" and form.errors):
        status = 400
    else:
        status = 200
    return render(
        request, "buyers/upload.html", {"buyer": buyer, "form": form, "result": result, "errors": errors}, status=status
    )


@login_required
def settlements_template(request: HttpRequest, fmt: str) -> HttpResponse:
    """The settlements template, CSV or XLSX, for buyer users and the lender's staff: the Spanish
    headers, an example row dated today and, in the workbook, the instructions."""
    if not roles.has_role(request.user, *STAFF):
        _buyer_of(request)
    return template_response(
        template_columns(today=timezone.localdate()),
        fmt=fmt,
        filename="plantilla-liquidaciones",
        sheet=TEMPLATE_SHEET,
    )


@role_required(*STAFF)
def buyer_terms(request: HttpRequest, pk: int) -> HttpResponse:
    """A buyer's agreed terms (DOMAIN.md §4): every version with the one in force today, and — for loan
    officers and lender admins — the form to add a version. Versions are never edited: a change of terms
    is a new version from its date."""
    buyer = get_object_or_404(Buyer, pk=pk)
    can_edit = roles.has_role(request.user, *OFFICERS)
    form = BuyerTermsForm(request.POST or None)
    if request.method == "POST":
        if not can_edit:
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                buyer_terms_add(
                    buyer=buyer,
                    actor=request.user,
                    effective_from=data["effective_from"],
                    bands=data["bands"],
                    commercial_deduction_usd_oz=data["commercial_deduction_usd_oz"],
                    recovery=data["recovery"],
                    note=data["note"],
                )
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("The new version of the agreed terms was recorded."))
                return redirect("buyers:terms", pk=buyer.pk)
    today = timezone.localdate()
    versions = buyer_terms_versions(buyer=buyer)
    current = terms_in_force(versions, today)
    notes: dict[int | None, str] = dict(buyer.terms_versions.values_list("pk", "note"))
    rows = [
        {
            "version": version,
            "note": notes.get(version.version_id, ""),
            "in_force": current is not None and version.version_id == current.version_id,
            "future": version.effective_from > today,
            "bands_text": bands_text(version.bands),
        }
        for version in reversed(versions)
    ]
    context = {"nav": "buyers", "buyer": buyer, "rows": rows, "form": form, "can_edit": can_edit, "today": today}
    return render(request, "buyers_ui/terms.html", context, status=400 if form.errors else 200)
