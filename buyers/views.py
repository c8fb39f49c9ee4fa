"""The buyer company's web page: upload a CSV of settlements (for buyers without an integration).

Same rules and service as the bulk API (``installments.services.settlement_batches``): every row is
checked first and nothing is saved unless all rows are valid. "Check only" computes everything — values
and withholdings — and saves nothing, so the buyer can see what it would withhold before posting.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from buyers.models import Buyer, BuyerUser
from installments.services.settlement_batches import settlements_import_csv

MAX_UPLOAD_BYTES = 5 * 1024 * 1024


class SettlementUploadForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8 or Excel CSV, comma or semicolon separated."))
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
    errors = (
        [
            {"line": line, "field": name, "message": message}
            for line, fields in sorted(result.errors.items())
            for name, messages in fields.items()
            for message in messages
        ]
        if result
        else []
    )
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
