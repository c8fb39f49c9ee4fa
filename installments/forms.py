"""Forms for direct payments, prepayments and reconciliation exceptions."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from installments.models import LoanTransaction
from miners.forms import date_widget


class PaymentForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    paid_on = forms.DateField(label=_("Payment date"), widget=date_widget())
    reference = forms.CharField(label=_("Receipt or transfer reference"), required=False, max_length=80)
    prepayment_mode = forms.ChoiceField(
        label=_("Apply the prepayment to"),
        choices=LoanTransaction.PrepaymentMode.choices,
        required=False,
        widget=forms.RadioSelect,
    )


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("How was it resolved?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
