"""Forms for direct payments, prepayments and reconciliation exceptions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

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
    treatment = forms.ChoiceField(
        label=_("Treatment"),
        choices=[
            ("auto", _("By the rule (more than two installments, counting the one due: pago anticipado)")),
            ("pago_anticipado", _("The borrower asks for a pago anticipado (reduce principal)")),
            ("adelanto", _("The borrower asks for an adelanto de cuotas (pay the next installments)")),
        ],
        required=False,
        initial="auto",
        widget=forms.RadioSelect,
    )


class CreditRefundForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    refunded_on = forms.DateField(label=_("Refund date"), widget=date_widget())
    bank_reference = forms.CharField(label=_("Bank reference of the transfer"), max_length=80)


class CreditApplyForm(forms.Form):
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    applied_on = forms.DateField(label=_("Date"), widget=date_widget())
    target: forms.ModelChoiceField[Any] = forms.ModelChoiceField(label=_("Apply to loan"), queryset=None)  # type: ignore[arg-type]
    request_reference = forms.CharField(label=_("Reference of the miner's written request"), max_length=80)

    def __init__(self, *args: Any, loan: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from loans.models import Loan

        self.fields["target"].queryset = (  # type: ignore[attr-defined]
            Loan.objects.filter(miner_id=loan.miner_id, status=Loan.Status.ACTIVE, currency=loan.currency)
            .exclude(pk=loan.pk)
            .order_by("disbursed_on", "id")
        )


class ResolveForm(forms.Form):
    note = forms.CharField(label=_("How was it resolved?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
