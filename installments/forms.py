"""Forms for direct payments, prepayments, buyers' remittances and reconciliation exceptions."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django import forms
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import Currency
from asmcredit.listing import ListFilters, choice_field
from buyers.models import Buyer
from installments.models import LoanTransaction, ReconciliationException, Withholding
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
    # Optional for the buyer page's one-field form, where a blank one is recorded as "other (see the note)";
    # the exceptions queue asks for it.
    resolution = forms.ChoiceField(
        label=_("What was done"),
        choices=[("", "—"), *ReconciliationException.Resolution.choices],
        required=False,
    )
    note = forms.CharField(label=_("How was it resolved?"), widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)


class RemittanceForm(forms.Form):
    """A buyer's transfer as treasury reads it off the bank statement. The rules (a positive amount in
    céntimos, no future date, a bank reference not yet recorded for the buyer) are ``remittance_record``'s;
    the view shows its refusals on these fields."""

    # One per rendered form: a second post of the same form (a double click) shows what the first recorded.
    token = forms.CharField(widget=forms.HiddenInput, max_length=64)
    # Chosen in the first step, with what it owes on screen.
    buyer = forms.ModelChoiceField(label=_("Buyer"), queryset=Buyer.objects.all(), widget=forms.HiddenInput)
    paid_on = forms.DateField(label=_("Date received"), widget=date_widget())
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    amount = forms.DecimalField(
        label=_("Amount"),
        max_digits=14,
        decimal_places=2,
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    reference = forms.CharField(label=_("Bank or operation reference"), max_length=80)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2}))

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        buyer, currency = data.get("buyer"), data.get("currency")
        if buyer is not None and currency:
            # A transfer in a currency the buyer never withheld in would match nothing: most likely a typo.
            withheld = Withholding.objects.filter(buyer=buyer)
            if withheld.exists() and not withheld.filter(currency=currency).exists():
                self.add_error(
                    "currency",
                    _("%(buyer)s has withheld nothing in %(currency)s.") % {"buyer": buyer.name, "currency": currency},
                )
        return data


class _TreasuryFilters(ListFilters):
    buyer = choice_field(_("Buyer"), [], empty=_("All buyers"))

    def prepare(self, request: HttpRequest) -> None:
        self.set_choices("buyer", Buyer.objects.order_by("name").values_list("pk", "name"), empty=_("All buyers"))


class RemittanceFilters(_TreasuryFilters):
    """The remittances list's filters."""

    paid_from = forms.DateField(label=_("From"), required=False, widget=date_widget())
    paid_to = forms.DateField(label=_("To"), required=False, widget=date_widget())
    currency = choice_field(_("Currency"), Currency.choices, coerce=str)
    status = choice_field(
        _("Status"),
        [
            ("unmatched", _("With unmatched money")),
            ("reconciled", _("Reconciled")),
            ("exceptions", _("With open exceptions")),
        ],
        coerce=str,
    )


class ExceptionFilters(_TreasuryFilters):
    """The exceptions queue's filters: open ones unless asked otherwise."""

    kind = choice_field(_("Kind"), ReconciliationException.Kind.choices, coerce=str)
    status = choice_field(_("Status"), [("resolved", _("Resolved")), ("all", _("All"))], coerce=str, empty=_("Open"))
    age = choice_field(
        _("Age"), [(7, _("Over 7 days")), (30, _("Over 30 days")), (90, _("Over 90 days"))], empty=_("Any age")
    )
