from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from asmcredit.tabular import UPLOAD_ACCEPT, upload_text
from lifecycle.book_import.reading import PAYMENTS, SCHEDULE, SHEETS, has_sheet

MAX_BYTES = 20 * 1024 * 1024


def _file_field(label: Any, required: bool, help_text: Any = "") -> forms.FileField:
    return forms.FileField(
        label=label,
        required=required,
        help_text=help_text,
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )


class BookUploadForm(forms.Form):
    """The loans file, and the payments and cronograma as files of their own or as sheets of the loans
    workbook; the cut-off date the lender's balances are declared on."""

    cutoff = forms.DateField(
        label=_("Cut-off date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("The date of the balances the file declares."),
    )
    loans = _file_field(_("Loans (CSV or XLSX)"), True)
    payments = _file_field(
        _("Payments made so far"), False, _("Optional: a CSV, or leave empty when the workbook has a sheet “Pagos”.")
    )
    schedule = _file_field(
        _("Cronogramas"),
        False,
        _("Optional: the lender's own cronograma lines, or a sheet “Cronograma” of the workbook."),
    )

    def clean_cutoff(self) -> Any:
        cutoff = self.cleaned_data["cutoff"]
        if cutoff > timezone.localdate():
            raise forms.ValidationError(_("The cut-off date cannot be in the future."))
        return cutoff

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        contents: dict[str, bytes] = {}
        for name in ("loans", "payments", "schedule"):
            upload = data.get(name)
            if upload:
                if upload.size > MAX_BYTES:
                    raise forms.ValidationError(_("A file is larger than 20 MB."), code="too_large")
                contents[name] = upload.read()
        loans = contents.get("loans")
        if loans is None:
            return data
        for name, table in (("payments", PAYMENTS), ("schedule", SCHEDULE)):
            if name not in contents and has_sheet(loans, SHEETS[table]):
                contents[name] = loans
        data["texts"] = {name: upload_text(content) for name, content in contents.items()}
        data["file_name"] = data["loans"].name
        return data
