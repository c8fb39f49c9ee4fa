from __future__ import annotations

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from lifecycle.models import CollectionContact


class ReversalRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why must this payment be reversed?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A second person (a credit approver) reads this before anything moves."),
    )


class ReversalDecisionForm(forms.Form):
    """Approve or reject a request awaiting a second person (a reversal or a write-off)."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))


class ContactForm(forms.Form):
    contacted_on = forms.DateField(label=_("Contacted on"), widget=forms.DateInput(attrs={"type": "date"}))
    channel = forms.ChoiceField(label=_("Channel"), choices=CollectionContact.Channel.choices)
    outcome = forms.ChoiceField(label=_("Outcome"), choices=CollectionContact.Outcome.choices)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    promise_amount = forms.DecimalField(
        label=_("Promised amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"), required=False
    )
    promised_on = forms.DateField(
        label=_("Promised for"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class WriteOffForm(forms.Form):
    reason = forms.CharField(
        label=_("Why is the loan written off?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A credit approver other than you approves it; the debt stays owed."),
    )


class GuaranteeClaimForm(forms.Form):
    note = forms.CharField(
        label=_("Note for the approver and the fund"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("A credit approver other than you approves the claim before it goes to the fund."),
    )


class GuaranteePaymentForm(forms.Form):
    paid_on = forms.DateField(label=_("Paid by the fund on"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("Amount paid"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    bank_reference = forms.CharField(label=_("Bank reference"), max_length=60)


class GuaranteeRemittanceForm(forms.Form):
    remitted_on = forms.DateField(label=_("Remitted on"), widget=forms.DateInput(attrs={"type": "date"}))
    amount = forms.DecimalField(label=_("Amount remitted"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    reference = forms.CharField(label=_("Bank reference"), max_length=60)


class RefinanceForm(forms.Form):
    """Refinanciación of a loan: the new terms, and the miner's other active loans to consolidate."""

    term = forms.IntegerField(label=_("New term (installments)"), min_value=1, max_value=360)
    first_due_on = forms.DateField(label=_("First due date"), widget=forms.DateInput(attrs={"type": "date"}))
    tea_pct = forms.DecimalField(
        label=_("TEA (%)"),
        max_digits=7,
        decimal_places=4,
        min_value=Decimal("0"),
        required=False,
        help_text=_("Empty: the loan's TEA."),
    )
    also_loans = forms.TypedMultipleChoiceField(
        label=_("Consolidate with"), coerce=int, required=False, widget=forms.CheckboxSelectMultiple
    )
    purpose_note = forms.CharField(
        label=_("Why the borrower cannot pay"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("The credit approver reads this before approving."),
    )

    def __init__(self, *args, other_loans=(), **kwargs):  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields["also_loans"].choices = [(loan.pk, loan.code) for loan in other_loans]  # type: ignore[attr-defined]
