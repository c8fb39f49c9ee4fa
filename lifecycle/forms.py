from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _


class ReversalRequestForm(forms.Form):
    reason = forms.CharField(
        label=_("Why must this payment be reversed?"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A second person (a credit approver) reads this before anything moves."),
    )


class ReversalDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput)
    note = forms.CharField(label=_("Note"), max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
