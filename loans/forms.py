"""The application wizard's form, the decision forms and disbursement/verification forms."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import Currency
from buyers.models import Buyer, SupplierRelationship
from loans.models import Equipment, LoanProduct
from loans.verification import Location
from miners.forms import date_widget
from miners.models import Miner
from rates.caps import format_pct, rate_cap_in_force


def _next_month(day: dt.date) -> dt.date:
    import calendar

    year, month = (day.year + 1, 1) if day.month == 12 else (day.year, day.month + 1)
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


class EquipmentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Equipment) -> str:
        from asmcredit.templatetags.money import format_money

        mercury = " · " + str(_("mercury-free")) if obj.mercury_free else ""
        return f"{obj.name} — {obj.supplier.name} — {format_money(obj.price, obj.currency)}{mercury}"


class ApplicationForm(forms.Form):
    """Adapts to the product: equipment from the catalogue for equipment loans; the buyer who will withhold
    installments from the miner's buyers (optional for non-mining micro-enterprise loans)."""

    miner = forms.ModelChoiceField(queryset=Miner.objects.all(), widget=forms.HiddenInput)
    product = forms.ModelChoiceField(label=_("Product"), queryset=LoanProduct.objects.filter(is_active=True))
    equipment = EquipmentChoiceField(
        label=_("Equipment (supplier catalogue)"),
        queryset=Equipment.objects.filter(is_active=True, supplier__is_active=True).select_related("supplier"),
        required=False,
    )
    withholding_buyer = forms.ModelChoiceField(
        label=_("Buyer who withholds the installments"), queryset=Buyer.objects.none(), required=False
    )
    amount = forms.DecimalField(label=_("Amount"), max_digits=14, decimal_places=2, min_value=Decimal("0.01"))
    term = forms.IntegerField(label=_("Term (monthly installments)"), min_value=1, max_value=120)
    tea_pct = forms.DecimalField(label=_("TEA (%)"), max_digits=9, decimal_places=4, min_value=Decimal(0))
    disbursement_date = forms.DateField(label=_("Expected disbursement date"), widget=date_widget())
    first_due_on = forms.DateField(label=_("First due date"), widget=date_widget())
    grace_periods = forms.IntegerField(label=_("Grace periods"), min_value=0, initial=0, required=False)
    purpose_note = forms.CharField(
        label=_("Purpose"), required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )

    def __init__(self, *args: Any, miner: Miner | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.for_miner = miner
        if miner is not None:
            cast(forms.ModelChoiceField, self.fields["withholding_buyer"]).queryset = Buyer.objects.filter(
                relationships__miner=miner, relationships__status=SupplierRelationship.Status.ACTIVE
            ).distinct()
        self.chosen_product = self._chosen_product()
        today = timezone.localdate()
        self.fields["disbursement_date"].initial = today
        self.fields["first_due_on"].initial = _next_month(today)
        for name in ("amount", "term", "tea_pct"):
            self.fields[name].widget.attrs["inputmode"] = "decimal"
        product = self.chosen_product
        # Without a product there is no catalogue nor grace to offer: those fields appear with one.
        self.fields["equipment"].widget = forms.HiddenInput()
        self.fields["grace_periods"].widget = forms.HiddenInput()
        if product is not None:
            self.fields["amount"].help_text = _("Between %(min)s and %(max)s.") % {
                "min": f"{product.min_amount:,.2f}",
                "max": f"{product.max_amount:,.2f}",
            }
            self.fields["term"].help_text = _("Between %(min)s and %(max)s installments.") % {
                "min": product.min_term,
                "max": product.max_term,
            }
            self.fields["tea_pct"].help_text = _("Standard %(tea)s%%, at most %(max)s%%.") % {
                "tea": f"{product.tea_pct:.2f}",
                "max": f"{product.max_tea_pct:.2f}",
            }
            cap = rate_cap_in_force(currency=product.currency, on=today)
            if cap is not None:
                # The BCRP cap is the legal ceiling whatever the product allows (DOMAIN.md §3).
                self.fields["tea_pct"].help_text = format_lazy(
                    "{} {}",
                    self.fields["tea_pct"].help_text,
                    _("BCRP cap in force: %(cap)s%%.") % {"cap": format_pct(cap.compensatory_tea_max_pct)},
                )
            self.fields["tea_pct"].initial = product.tea_pct.quantize(Decimal("0.01"))
            self.fields["term"].initial = min(max(12, product.min_term), product.max_term)
            if product.requires_equipment:
                self.fields["equipment"].widget = forms.Select(choices=cast(Any, self.fields["equipment"]).choices)
                self.fields["equipment"].required = True
                # Choosing the equipment fills in its price as the amount (htmx re-renders the fields).
                self.fields["equipment"].widget.attrs.update(
                    {
                        "hx-post": reverse("loans:application-fields"),
                        "hx-trigger": "change",
                        "hx-target": "#application-fields",
                        "hx-swap": "outerHTML",
                        "hx-include": "closest form",
                    }
                )
            if product.max_grace_periods:
                self.fields["grace_periods"].widget = forms.NumberInput(
                    attrs={"min": 0, "max": product.max_grace_periods}
                )
                self.fields["grace_periods"].help_text = _("Up to %(n)s (%(kind)s).") % {
                    "n": product.max_grace_periods,
                    "kind": product.get_grace_kind_display(),
                }
            if product.purpose != LoanProduct.Purpose.MICRO_ENTERPRISE:
                self.fields["withholding_buyer"].required = True
            else:
                self.fields["withholding_buyer"].help_text = _(
                    "Optional: without a buyer the borrower pays at a branch."
                )

    def _chosen_product(self) -> LoanProduct | None:
        raw = self.data.get(self.add_prefix("product")) if self.is_bound else self.initial.get("product")
        if isinstance(raw, LoanProduct):
            return raw
        if not raw:
            return None
        try:
            return LoanProduct.objects.filter(pk=int(raw)).first()
        except (TypeError, ValueError):
            return None

    @property
    def product_info(self) -> LoanProduct | None:
        return self.chosen_product

    @property
    def miner_info(self) -> Miner | None:
        return self.for_miner

    @property
    def buyer_choices_exist(self) -> bool:
        return bool(cast(Any, self.fields["withholding_buyer"]).queryset.exists())

    @property
    def requires_equipment(self) -> bool:
        return bool(self.chosen_product and self.chosen_product.requires_equipment)

    @property
    def show_grace(self) -> bool:
        return bool(self.chosen_product and self.chosen_product.max_grace_periods)

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        product = data.get("product")
        if product is not None and not product.requires_equipment:
            data["equipment"] = None
        if data.get("grace_periods") is None:
            data["grace_periods"] = 0
        return data

    def application_values(self) -> dict[str, Any]:
        """Keyword arguments for ``application_create`` (and the unsaved preview)."""
        data = self.cleaned_data
        return {
            "miner": data["miner"],
            "product": data["product"],
            "amount": data["amount"],
            "term": data["term"],
            "tea_pct": data["tea_pct"],
            "disbursement_date": data["disbursement_date"],
            "first_due_on": data["first_due_on"],
            "grace_periods": data["grace_periods"] or 0,
            "equipment": data.get("equipment"),
            "withholding_buyer": data.get("withholding_buyer"),
            "purpose_note": data.get("purpose_note", ""),
        }


class ApproveForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason for rejection"), widget=forms.Textarea(attrs={"rows": 2}))


class CancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DisburseForm(forms.Form):
    disbursed_on = forms.DateField(label=_("Disbursement date"), widget=date_widget())
    reference = forms.CharField(label=_("Bank transfer reference"), required=False, max_length=60)


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Several files from one ``<input multiple>``; each is checked as an image by the service."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "widget",
            # The phone opens its back camera; a desktop browser offers a file chooser.
            MultipleFileInput(attrs={"accept": "image/*", "capture": "environment"}),
        )
        super().__init__(**kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        files = data if isinstance(data, list | tuple) else [data]
        return [super(PhotosField, self).clean(item, initial) for item in files if item]


def _coordinate_widget() -> forms.NumberInput:
    return forms.NumberInput(attrs={"step": "any", "inputmode": "decimal", "autocomplete": "off"})


class VerificationForm(forms.Form):
    """A verification visit as the NGO technician records it on site, from a phone."""

    visited_on = forms.DateField(
        label=_("Visit date"),
        required=False,
        widget=date_widget(),
        help_text=_("Leave empty for today. Not in the future, nor before the disbursement."),
    )
    delivered = forms.BooleanField(label=_("Equipment delivered"), required=False)
    installed = forms.BooleanField(label=_("Equipment installed and working"), required=False)
    note = forms.CharField(
        label=_("Note from the visit"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photos = PhotosField(
        label=_("Photos"),
        required=False,
        help_text=_("Take them with the phone's camera: up to 8 photos of 15 MB at most each."),
    )
    latitude = forms.DecimalField(
        label=_("Latitude"), required=False, min_value=-90, max_value=90, widget=_coordinate_widget()
    )
    longitude = forms.DecimalField(
        label=_("Longitude"), required=False, min_value=-180, max_value=180, widget=_coordinate_widget()
    )
    location_accuracy_m = forms.IntegerField(
        label=_("Accuracy (m)"),
        required=False,
        min_value=0,
        max_value=1_000_000,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )

    def clean_visited_on(self) -> dt.date:
        return self.cleaned_data.get("visited_on") or timezone.localdate()

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        latitude, longitude = data.get("latitude"), data.get("longitude")
        if (
            (latitude is None) != (longitude is None)
            and not self.has_error("latitude")
            and not self.has_error("longitude")
        ):
            self.add_error(None, _("Give both the latitude and the longitude, or neither."))
        elif latitude is None and data.get("location_accuracy_m") is not None:
            self.add_error("location_accuracy_m", _("An accuracy needs the latitude and the longitude."))
        for name in ("latitude", "longitude"):
            if data.get(name) is not None:
                data[name] = data[name].quantize(Decimal("0.000001"))  # about 10 cm: what the column keeps
        return data

    def location(self) -> Location | None:
        data = self.cleaned_data
        if data.get("latitude") is None or data.get("longitude") is None:
            return None
        return Location(
            latitude=data["latitude"], longitude=data["longitude"], accuracy_m=data.get("location_accuracy_m")
        )


class CollateralForm(forms.Form):
    """A garantía mobiliaria as the officer records it: what is pledged, its registration in the
    Registro Mobiliario de Contratos, the appraisal and the insurance policy. The service checks the
    whole record (loans.collateral); this form only parses it."""

    description = forms.CharField(
        label=_("What is pledged"),
        max_length=300,
        help_text=_("The equipment, its make and serial number."),
    )
    equipment = forms.TypedChoiceField(
        label=_("Financed equipment"), required=False, coerce=int, empty_value=None, choices=[]
    )
    appraised_value = forms.DecimalField(
        label=_("Appraised value"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
    )
    currency = forms.ChoiceField(label=_("Currency"), choices=Currency.choices)
    appraised_on = forms.DateField(label=_("Appraisal date"), widget=date_widget())
    registry_entry = forms.CharField(
        label=_("Registry entry number"),
        required=False,
        max_length=40,
        help_text=_("Registro Mobiliario de Contratos (SUNARP). Only a registered pledge lowers the provision."),
    )
    registered_on = forms.DateField(label=_("Registration date"), required=False, widget=date_widget())
    insurer = forms.CharField(label=_("Insurer"), required=False, max_length=200)
    policy_number = forms.CharField(label=_("Policy number"), required=False, max_length=60)
    policy_expires_on = forms.DateField(label=_("Policy expiry date"), required=False, widget=date_widget())
    released_on = forms.DateField(
        label=_("Released on"),
        required=False,
        widget=date_widget(),
        help_text=_("When the pledge was lifted (the loan paid off, or the guarantee given up)."),
    )

    def __init__(self, *args: Any, loan: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        equipment_field = cast(forms.TypedChoiceField, self.fields["equipment"])
        if loan.equipment_id is None:
            del self.fields["equipment"]
        else:
            equipment_field.choices = [("", _("Other property")), (loan.equipment_id, loan.equipment.name)]
        if not editing:
            del self.fields["released_on"]

    def values(self) -> dict[str, Any]:
        """The cleaned values as the service takes them (the equipment as the loan's own, or none)."""
        data = dict(self.cleaned_data)
        if "equipment" in self.fields:
            data["equipment"] = Equipment.objects.get(pk=data["equipment"]) if data.get("equipment") else None
        return data
