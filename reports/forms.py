"""The portfolio report's parameters, for its page (POST) and its CSV tables (query string)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from asmcredit.listing import FastSelect
from buyers.models import Buyer
from loans.models import LoanProduct
from miners.identity import DEPARTMENTS
from reports import pdf

ISO_DATE = "%Y-%m-%d"


def _date_picker() -> forms.DateInput:
    # The browser's date picker sends and shows ISO dates whatever the page's language.
    return forms.DateInput(attrs={"type": "date"}, format=ISO_DATE)


def _page_language() -> str:
    return pdf.language(translation.get_language()[:2])


class PortfolioReportForm(forms.Form):
    # ISO only, as the date pickers send them and the CSV links carry them.
    as_of = forms.DateField(label=_("As of"), widget=_date_picker(), input_formats=[ISO_DATE])
    date_from = forms.DateField(
        label=_("Period from"),
        required=False,
        widget=_date_picker(),
        input_formats=[ISO_DATE],
        help_text=_("Blank: since the first loan."),
    )
    buyer = forms.ModelChoiceField(
        label=_("Buyer"),
        queryset=Buyer.objects.order_by("name"),
        to_field_name="ruc",
        required=False,
        empty_label=_("All buyers"),
        widget=FastSelect,  # a thousand buyers
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    product = forms.ModelChoiceField(
        label=_("Product"),
        queryset=LoanProduct.objects.order_by("name"),
        to_field_name="code",
        required=False,
        empty_label=_("All products"),
    )
    # Optional for a CSV table's link: the language of the page then.
    lang = forms.ChoiceField(
        label=_("Language of the PDF"), choices=[("es", "Español"), ("en", "English")], required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"as_of": timezone.localdate(), "lang": _page_language()})
        super().__init__(*args, **kwargs)
        region: Any = self.fields["region"]
        region.choices = [("", _("All regions")), *sorted(DEPARTMENTS.items())]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        as_of, date_from = data.get("as_of"), data.get("date_from")
        if as_of and date_from and date_from > as_of:
            self.add_error("date_from", _("The period must start before the as-of date."))
        return data

    def params(self) -> dict[str, Any]:
        """The report job's parameters (JSON-ready: dates in ISO, the buyer by RUC, the product by code)."""
        data = self.cleaned_data
        return {
            "as_of": data["as_of"].isoformat(),
            "date_from": data["date_from"].isoformat() if data["date_from"] else None,
            "buyer": data["buyer"].ruc if data["buyer"] else None,
            "region": data["region"] or None,
            "product": data["product"].code if data["product"] else None,
            "lang": pdf.language(data["lang"] or _page_language()),
        }
