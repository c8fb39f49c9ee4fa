"""The officer's form for a new version of a buyer's agreed terms (DOMAIN.md §4)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from buyers.terms import BandError, parse_bands

DATE_WIDGET_ATTRS = {"placeholder": "dd/mm/aaaa", "inputmode": "numeric", "autocomplete": "off"}


class BuyerTermsForm(forms.Form):
    """Bands as text, one per line (``from-to: maquila``), checked by ``buyers.terms.parse_bands``: in
    ascending order of grade, not overlapping, fees from 0. ``cleaned_data["bands"]`` is the parsed scale."""

    effective_from = forms.DateField(
        label=_("In force from"),
        widget=forms.DateInput(format="%d/%m/%Y", attrs=DATE_WIDGET_ATTRS),
        help_text=_("Settlements dated from this day on are valued with these terms, until a later version."),
    )
    commercial_deduction_usd_oz = forms.DecimalField(
        label=_("Commercial deduction RC (US$/oz)"),
        required=False,
        min_value=0,
        max_value=5000,
        max_digits=14,
        decimal_places=2,
        help_text=_("Leave blank if the agreement sets none: it will not be checked."),
    )
    recovery = forms.DecimalField(
        label=_("Recovery factor"),
        required=False,
        min_value=Decimal("0.0001"),
        max_value=1,
        max_digits=5,
        decimal_places=4,
        help_text=_("A fraction, e.g. 0.84. Leave blank if the agreement sets none."),
    )
    bands = forms.CharField(
        label=_("Maquila scale (US$ per short ton, by grade in oz/TC)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 5, "placeholder": "0-0.3: 90\n0.3-0.8: 110\n0.8-: 130"}),
        help_text=_(
            "One band per line, 'from-to: maquila', in ascending order and without overlaps; leave 'to' empty "
            "for the last band to have no upper end ('0.8-: 130')."
        ),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=255, help_text=_("E.g. the contract addendum."))

    def clean_bands(self) -> Any:
        try:
            return parse_bands(self.cleaned_data.get("bands") or "")
        except BandError as exc:
            raise forms.ValidationError(exc.message) from exc
