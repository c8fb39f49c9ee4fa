"""What the person generating an SBS report chooses: the report and the cut-off date."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from installments.models import PortfolioRating
from reports.regulatory.models import ReportLayout

ISO_DATE = "%Y-%m-%d"


class RegulatoryReportForm(forms.Form):
    kind = forms.ChoiceField(label=_("Report"), choices=ReportLayout.Kind.choices)
    cutoff = forms.DateField(
        label=_("Cut-off date"),
        widget=forms.DateInput(attrs={"type": "date"}, format=ISO_DATE),
        input_formats=[ISO_DATE],
        help_text=_("A day the nightly rating ran: the report reads that day's rating."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        latest = PortfolioRating.objects.order_by("-as_of").values_list("as_of", flat=True).first()
        if latest and not self.is_bound:
            self.initial.setdefault("cutoff", latest)

    def clean_cutoff(self) -> Any:
        cutoff = self.cleaned_data["cutoff"]
        if not PortfolioRating.objects.filter(as_of=cutoff).exists():
            raise forms.ValidationError(
                _("No rating run is recorded for %(date)s: choose a day the nightly rating ran."),
                params={"date": cutoff.strftime("%d/%m/%Y")},
            )
        return cutoff
