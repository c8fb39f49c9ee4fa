"""The officer's forms for miners and the CSV imports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, cast

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from asmcredit.tabular import UPLOAD_ACCEPT, upload_text
from buyers.models import Buyer, SupplierRelationship
from miners.identity import normalize_identifier
from miners.models import Miner, MinerDocument, Training

DATE_WIDGET_ATTRS = {"placeholder": "dd/mm/aaaa", "inputmode": "numeric", "autocomplete": "off"}


def date_widget() -> forms.DateInput:
    return forms.DateInput(format="%d/%m/%Y", attrs=DATE_WIDGET_ATTRS)


class MinerForm(forms.ModelForm):
    class Meta:
        model = Miner
        fields = [
            "first_names",
            "last_names",
            "document_type",
            "document_number",
            "ruc",
            "gender",
            "birth_date",
            "phone",
            "ubigeo",
            "role",
            "association",
            "formalization_stage",
            "reinfo_code",
            "reinfo_status",
            "reinfo_date",
        ]
        widgets = {
            "birth_date": date_widget(),
            "reinfo_date": date_widget(),
            "document_number": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
            "ruc": forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
            "ubigeo": forms.TextInput(attrs={"inputmode": "numeric", "placeholder": "040112"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel"}),
        }
        help_texts = {
            "ubigeo": _("INEI code, 6 digits: department, province, district (e.g. 040112)."),
            "ruc": _("Optional. 11 digits; a personal RUC is 10 + DNI + check digit."),
            "reinfo_code": _("Leave empty for pallaqueras and non-mining activities."),
        }

    # The service (miners.imports.miner_create / miner_update) normalizes again; the form does it first
    # because the model's validators run on these values when the form is checked.
    def clean_document_number(self) -> str:
        return normalize_identifier("document_number", self.cleaned_data.get("document_number") or "")

    def clean_ruc(self) -> str:
        return normalize_identifier("ruc", self.cleaned_data.get("ruc") or "")

    def clean_reinfo_code(self) -> str:
        return normalize_identifier("reinfo_code", self.cleaned_data.get("reinfo_code") or "")


class RelationshipForm(forms.Form):
    """Optional on the miner form: the buyer the miner sells ore to."""

    buyer = forms.ModelChoiceField(
        label=_("Sells ore to"), queryset=Buyer.objects.filter(is_active=True), required=False
    )
    since = forms.DateField(label=_("Supplier since"), required=False, widget=date_widget())
    agreement_kind = forms.ChoiceField(
        label=_("Agreement"),
        choices=SupplierRelationship.AgreementKind.choices,
        initial=SupplierRelationship.AgreementKind.SUPPLY_CONTRACT,
        required=False,
    )

    def __init__(self, *args: Any, miner: Miner | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if miner is not None and miner.pk:
            cast(forms.ModelChoiceField, self.fields["buyer"]).queryset = Buyer.objects.filter(is_active=True).exclude(
                relationships__miner=miner
            )

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if data.get("buyer") and not data.get("since"):
            self.add_error("since", _("Say since when the miner sells to this buyer."))
        since = data.get("since")
        if since and since > timezone.localdate():
            self.add_error("since", _("The date cannot be in the future."))
        return data


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or XLSX)"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": UPLOAD_ACCEPT}),
    )
    # After the preview, the same content comes back with the confirmation (nothing is stored in between).
    content = forms.CharField(required=False, widget=forms.HiddenInput)

    MAX_BYTES = 5 * 1024 * 1024

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        upload = data.get("file")
        if upload:
            if upload.size > self.MAX_BYTES:
                raise forms.ValidationError(_("The file is larger than 5 MB."), code="too_large")
            data["text"] = upload_text(upload.read())  # an XLSX workbook travels as a data: URL
        elif data.get("content"):
            data["text"] = data["content"]
        else:
            raise forms.ValidationError(_("Choose a CSV or XLSX file."))
        return data


class SettlementsUploadForm(CsvUploadForm):
    buyer = forms.ModelChoiceField(label=_("Buyer"), queryset=Buyer.objects.filter(is_active=True))

    field_order = ["buyer", "file", "content"]


class MinerDocumentForm(forms.Form):
    """A document for the miner's expediente; the file's content and size are checked by the service."""

    kind = forms.ChoiceField(label=_("Kind of document"), choices=MinerDocument.Kind.choices)
    number = forms.CharField(
        label=_("Document number"),
        required=False,
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    expires_on = forms.DateField(
        label=_("Expiry date"),
        required=False,
        widget=date_widget(),
        help_text=_("Leave empty if it does not expire. Marked on the miner's page 30 days before."),
    )
    file = forms.FileField(
        label=_("File"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png"}),
        help_text=_("PDF, JPEG or PNG, 10 MB at most. A phone can take a photo of the document."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255)


class TrainingForm(forms.Form):
    topic = forms.ChoiceField(label=_("Topic"), choices=Training.Topic.choices)
    held_on = forms.DateField(label=_("Date"), widget=date_widget())
    hours = forms.DecimalField(
        label=_("Hours"),
        max_digits=4,
        decimal_places=1,
        min_value=Decimal("0.5"),
        max_value=Decimal("200"),
        widget=forms.NumberInput(attrs={"step": "0.5", "inputmode": "decimal"}),
    )
    provider = forms.CharField(
        label=_("Given by"),
        required=False,
        max_length=200,
        help_text=_("The NGO, the equipment supplier, the lender…"),
    )
