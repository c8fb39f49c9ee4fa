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


class RescheduleForm(forms.Form):
    """A reprogramación: two options offered to the borrower (Res. SBS 1870-2020), the one chosen, the
    event. Each option combines extra installments, a payment holiday and a new due day."""

    OPTIONS = ("a", "b")

    option_a_holiday = forms.IntegerField(label=_("Payment holiday (periods)"), min_value=0, max_value=6, initial=2)
    option_a_extra = forms.IntegerField(label=_("Extra installments"), min_value=0, max_value=24, initial=0)
    option_a_due_day = forms.IntegerField(label=_("New due day"), min_value=1, max_value=31, required=False)
    option_b_holiday = forms.IntegerField(label=_("Payment holiday (periods)"), min_value=0, max_value=6, initial=0)
    option_b_extra = forms.IntegerField(label=_("Extra installments"), min_value=0, max_value=24, initial=3)
    option_b_due_day = forms.IntegerField(label=_("New due day"), min_value=1, max_value=31, required=False)
    chosen = forms.ChoiceField(
        label=_("Option the borrower chose"),
        choices=[("a", _("Option A")), ("b", _("Option B"))],
        initial="a",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Event"),
        max_length=2000,
        help_text=_("Why the loan is reprogrammed: rainy season, a plant shut down, a disaster."),
    )
    effective_on = forms.DateField(
        label=_("Effective on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def options(self) -> list[dict[str, int | None]]:
        data = self.cleaned_data
        return [
            {
                "holiday_periods": data.get(f"option_{key}_holiday") or 0,
                "extra_installments": data.get(f"option_{key}_extra") or 0,
                "due_day": data.get(f"option_{key}_due_day"),
            }
            for key in self.OPTIONS
        ]

    def chosen_index(self) -> int:
        return self.OPTIONS.index(self.cleaned_data["chosen"])


class BulkRescheduleForm(RescheduleForm):
    buyer: forms.ModelChoiceField = forms.ModelChoiceField(  # type: ignore[type-arg]
        label=_("Buyer"), queryset=None, required=False
    )
    region = forms.ChoiceField(label=_("Region"), required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        from buyers.models import Buyer
        from miners.identity import DEPARTMENTS

        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["buyer"].queryset = Buyer.objects.order_by("name")  # type: ignore[attr-defined]
        regions = sorted(DEPARTMENTS.items(), key=lambda item: item[1])
        self.fields["region"].choices = [("", "—"), *regions]  # type: ignore[attr-defined]
        self.order_fields(["buyer", "region"])


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
