"""Loan products, equipment catalogue, applications and loans."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField, PercentField, TimestampedModel
from buyers.models import Buyer
from miners.identity import validate_ruc
from miners.models import Miner
from rates.caps import rate_cap_errors, rate_caps_check

# The share of a settlement's net payable a buyer may withhold, unless the product says otherwise
# (DOMAIN.md §5); a loan copies its product's share when disbursed.
DEFAULT_MAX_WITHHOLDING_SHARE_PCT = Decimal("30")


class GraceKind(models.TextChoices):
    NONE = "none", _("no grace")
    PARTIAL = "partial", _("partial (interest only)")
    TOTAL = "total", _("total (capitalizing)")


class NgoPartner(TimestampedModel):
    """The technical partner: advises on equipment, verifies delivery, trains miners, reports."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    ruc = models.CharField(_("RUC"), max_length=11, blank=True, validators=[validate_ruc])

    class Meta:
        ordering = ["name"]
        verbose_name = _("NGO partner")
        verbose_name_plural = _("NGO partners")

    def __str__(self) -> str:
        return self.name


class EquipmentSupplier(TimestampedModel):
    name = models.CharField(_("name"), max_length=200)
    ruc = models.CharField(_("RUC"), max_length=11, unique=True, validators=[validate_ruc])
    region = models.CharField(_("region (department code)"), max_length=2, blank=True)
    preselected_by = models.ForeignKey(
        NgoPartner, verbose_name=_("pre-selected by"), null=True, blank=True, on_delete=models.SET_NULL
    )
    bank_account = models.CharField(_("bank account (CCI)"), max_length=20, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("equipment supplier")
        verbose_name_plural = _("equipment suppliers")

    def __str__(self) -> str:
        return self.name


class Equipment(TimestampedModel):
    class Kind(models.TextChoices):
        CRUSHER = "crusher", _("crusher")
        MILL = "mill", _("ball mill")
        CONCENTRATOR = "concentrator", _("gravity concentrator")
        SHAKING_TABLE = "shaking_table", _("shaking table")
        FLOTATION = "flotation", _("flotation cell")
        COMPRESSOR = "compressor", _("compressor")
        GENERATOR = "generator", _("generator")
        VEHICLE = "vehicle", _("vehicle")
        OTHER = "other", _("other")

    supplier = models.ForeignKey(EquipmentSupplier, on_delete=models.PROTECT, related_name="catalogue")
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    mercury_free = models.BooleanField(_("mercury-free"), default=False)
    mercury_avoided_kg_year = models.DecimalField(
        _("mercury avoided (kg/year)"), max_digits=8, decimal_places=2, default=0
    )
    price = MoneyField(_("price"))
    currency = CurrencyField()
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["supplier", "name"]
        verbose_name = _("equipment")
        verbose_name_plural = _("equipment catalogue")
        constraints = [
            models.CheckConstraint(condition=Q(price__gt=0), name="equipment_price_positive"),
            models.CheckConstraint(
                condition=Q(mercury_avoided_kg_year__gte=0), name="equipment_mercury_avoided_non_negative"
            ),
            models.UniqueConstraint(fields=["supplier", "name"], name="equipment_unique_name_per_supplier"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.supplier})"


class LoanProduct(TimestampedModel):
    class Purpose(models.TextChoices):
        MERCURY_FREE_EQUIPMENT = "mercury_free_equipment", _("mercury-free equipment")
        WORKING_CAPITAL = "working_capital", _("working capital")
        MICRO_ENTERPRISE = "micro_enterprise", _("non-mining micro-enterprise")

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    purpose = models.CharField(_("purpose"), max_length=30, choices=Purpose.choices)
    currency = CurrencyField()
    tea_pct = PercentField(_("TEA (%)"), help_text=_("Standard effective annual rate, 360-day year."))
    max_tea_pct = PercentField(_("maximum TEA (%)"))
    moratory_tea_pct = PercentField(_("moratory TEA (%)"), default=0)
    min_amount = MoneyField(_("minimum amount"))
    max_amount = MoneyField(_("maximum amount"))
    min_term = models.PositiveSmallIntegerField(_("minimum term (installments)"))
    max_term = models.PositiveSmallIntegerField(_("maximum term (installments)"))
    grace_kind = models.CharField(_("grace"), max_length=10, choices=GraceKind.choices, default=GraceKind.NONE)
    max_grace_periods = models.PositiveSmallIntegerField(_("maximum grace periods"), default=0)
    insurance_monthly_rate_pct = PercentField(_("credit-life insurance (% per month)"), default=0)
    upfront_fee = MoneyField(_("upfront fee"), default=0)
    fee_per_installment = MoneyField(_("fee per installment"), default=0)
    max_withholding_share_pct = PercentField(
        _("maximum withholding (% of net payable)"), default=DEFAULT_MAX_WITHHOLDING_SHARE_PCT
    )
    max_installment_to_capacity_pct = PercentField(
        _("maximum installment / repayment capacity (%)"), default=Decimal("40")
    )
    requires_reinfo = models.BooleanField(_("requires REINFO VIGENTE"), default=True)
    requires_equipment = models.BooleanField(_("finances equipment from the catalogue"), default=False)
    guarantee_fund_coverage_pct = PercentField(
        _("guarantee fund coverage (%)"),
        default=0,
        help_text=_("e.g. CRECER: 80 up to 36 months, 85 beyond."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("loan product")
        verbose_name_plural = _("loan products")
        constraints = [
            models.CheckConstraint(
                condition=Q(tea_pct__gte=0, tea_pct__lte=F("max_tea_pct")), name="product_tea_range"
            ),
            models.CheckConstraint(condition=Q(moratory_tea_pct__gte=0), name="product_moratory_non_negative"),
            models.CheckConstraint(
                condition=Q(min_amount__gt=0, max_amount__gte=F("min_amount")), name="product_amount_range"
            ),
            models.CheckConstraint(
                condition=Q(min_term__gte=1, max_term__gte=F("min_term")), name="product_term_range"
            ),
            models.CheckConstraint(
                condition=Q(insurance_monthly_rate_pct__gte=0, upfront_fee__gte=0, fee_per_installment__gte=0),
                name="product_costs_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(max_withholding_share_pct__gt=0, max_withholding_share_pct__lte=100),
                name="product_withholding_share_range",
            ),
            models.CheckConstraint(
                condition=Q(max_installment_to_capacity_pct__gt=0, max_installment_to_capacity_pct__lte=100),
                name="product_capacity_share_range",
            ),
            models.CheckConstraint(
                condition=Q(guarantee_fund_coverage_pct__gte=0, guarantee_fund_coverage_pct__lte=100),
                name="product_guarantee_coverage_range",
            ),
            models.CheckConstraint(
                condition=Q(max_grace_periods__lt=F("min_term")), name="product_grace_shorter_than_term"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        """An active product's TEA, maximum TEA and moratory TEA stay within the BCRP caps in force today
        (DOMAIN.md §3): the API, the admin and the seed all validate products through here. An inactive
        product offers nothing, so it can be kept (and switched off) after a lower cap arrives."""
        if not self.is_active or not self.currency:
            return
        rate_caps_check(
            currency=self.currency,
            on=timezone.localdate(),
            tea_pct=self.tea_pct,
            max_tea_pct=self.max_tea_pct,
            moratory_tea_pct=self.moratory_tea_pct,
        )


class LoanApplicationQuerySet(models.QuerySet["LoanApplication"]):
    def approval_exceptions(self, date_from: Any = None, date_to: Any = None) -> LoanApplicationQuerySet:
        """Applications approved against a failed eligibility rule, decided between the two dates
        (inclusive, Lima days), whatever happened to them since: what an auditor reviews."""
        rows = self.filter(approved_as_exception=True)
        if date_from is not None:
            rows = rows.filter(decided_at__date__gte=date_from)
        if date_to is not None:
            rows = rows.filter(decided_at__date__lte=date_to)
        return rows.order_by("decided_at", "id")


class LoanApplication(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", _("draft")
        SUBMITTED = "submitted", _("submitted for approval")
        APPROVED = "approved", _("approved")
        REJECTED = "rejected", _("rejected")
        DISBURSED = "disbursed", _("disbursed")
        CANCELLED = "cancelled", _("cancelled")

    miner = models.ForeignKey(Miner, on_delete=models.PROTECT, related_name="applications")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="applications")
    withholding_buyer = models.ForeignKey(
        Buyer,
        verbose_name=_("withholding buyer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    amount = MoneyField(_("amount"))
    term = models.PositiveSmallIntegerField(_("term (installments)"))
    tea_pct = PercentField(_("TEA (%)"))
    disbursement_date = models.DateField(_("expected disbursement date"))
    first_due_on = models.DateField(_("first due date"))
    grace_periods = models.PositiveSmallIntegerField(_("grace periods"), default=0)
    equipment = models.ForeignKey(
        Equipment, verbose_name=_("equipment"), null=True, blank=True, on_delete=models.PROTECT
    )
    purpose_note = models.TextField(_("purpose"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("prepared by"), on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(_("submitted at"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_comment = models.TextField(_("decision comment"), blank=True)
    # The underwriting panel as it stood at submission: checklist, capacity, recommendation.
    underwriting = models.JSONField(_("underwriting"), default=dict, blank=True)
    # Everyone who wrote the application's terms (the preparer and any later editor): none of them may
    # approve it (DOMAIN.md §7, maker–checker), so an approver cannot edit terms and then approve them.
    editors = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("edited by"), blank=True, related_name="+"
    )
    # Approved although the frozen panel failed an eligibility rule, with the approver's written reason.
    approved_as_exception = models.BooleanField(_("approved as an exception"), default=False)
    exception_justification = models.TextField(_("exception justification"), blank=True)
    # Refinanciación (DOMAIN.md §7): new terms for the balance of these active loans of the miner, which
    # the "disbursement" closes (no cash moves); the amount is what they owe on the refinancing date.
    is_refinancing = models.BooleanField(_("refinancing"), default=False)
    refinanced_loans: models.ManyToManyField[Loan, Any] = models.ManyToManyField(
        "Loan", verbose_name=_("loans refinanced"), blank=True, related_name="refinancing_applications"
    )

    objects = LoanApplicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created"]
        verbose_name = _("loan application")
        verbose_name_plural = _("loan applications")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="application_amount_positive"),
            models.CheckConstraint(condition=Q(term__gte=1), name="application_term_positive"),
            models.CheckConstraint(condition=Q(tea_pct__gte=0), name="application_tea_non_negative"),
            models.CheckConstraint(
                condition=Q(first_due_on__gt=F("disbursement_date")),
                name="application_first_due_after_disbursement",
            ),
            # Maker–checker: whoever decides is never whoever prepared.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("prepared_by")),
                name="application_maker_checker",
            ),
            # An exception approval always carries its written reason.
            models.CheckConstraint(
                condition=Q(approved_as_exception=False) | ~Q(exception_justification=""),
                name="application_exception_justified",
            ),
        ]
        indexes = [
            models.Index(fields=["status"]),
            # The applications list, newest first, paged by keyset on (created, id), with a status or not.
            models.Index(fields=["created", "id"], name="application_list_order"),
            models.Index(fields=["status", "created", "id"], name="application_status_order"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.miner} {self.amount} ({self.get_status_display()})"

    def clean(self) -> None:
        """Product limits; the same rules the services enforce, so forms show them per field."""
        errors: dict[str, Any] = {}
        product = self.product if self.product_id else None
        if product is None:
            return
        if self.is_refinancing:
            self._clean_refinancing(product, errors)
            return
        if self.amount is not None and not (product.min_amount <= self.amount <= product.max_amount):
            errors["amount"] = _("The amount must be between %(min)s and %(max)s for this product.") % {
                "min": product.min_amount,
                "max": product.max_amount,
            }
        if self.term is not None and not (product.min_term <= self.term <= product.max_term):
            errors["term"] = _("The term must be between %(min)s and %(max)s installments for this product.") % {
                "min": product.min_term,
                "max": product.max_term,
            }
        if self.tea_pct is not None and self.tea_pct > product.max_tea_pct:
            errors["tea_pct"] = _("The TEA cannot exceed the product's limit of %(max)s%%.") % {
                "max": product.max_tea_pct
            }
        if self.grace_periods and self.grace_periods > product.max_grace_periods:
            errors["grace_periods"] = _("This product allows at most %(n)s grace periods.") % {
                "n": product.max_grace_periods
            }
        if product.requires_equipment and not self.equipment_id:
            errors["equipment"] = _("Choose the equipment from the supplier catalogue.")
        if not product.requires_equipment and self.equipment_id:
            errors["equipment"] = _("This product does not finance equipment.")
        if product.requires_reinfo and self.miner_id and not self.miner.reinfo_active:
            errors["miner"] = _("This product requires a REINFO registration with status VIGENTE.")
        if self.first_due_on and self.disbursement_date and self.first_due_on <= self.disbursement_date:
            errors["first_due_on"] = _("The first due date must come after the disbursement date.")
        if self.tea_pct is not None and "tea_pct" not in errors:
            for name, message in self.rate_cap_breaches().items():
                errors.setdefault(name, message)
        if errors:
            raise ValidationError(errors)

    def _clean_refinancing(self, product: LoanProduct, errors: dict[str, Any]) -> None:
        """A refinancing restructures a debt the miner already has: its amount is that debt (whatever the
        product's range), it finances no equipment and needs no REINFO; term, TEA, grace, dates and caps
        are checked as for any offer."""
        if self.term is not None and not (product.min_term <= self.term <= product.max_term):
            errors["term"] = _("The term must be between %(min)s and %(max)s installments for this product.") % {
                "min": product.min_term,
                "max": product.max_term,
            }
        if self.tea_pct is not None and self.tea_pct > product.max_tea_pct:
            errors["tea_pct"] = _("The TEA cannot exceed the product's limit of %(max)s%%.") % {
                "max": product.max_tea_pct
            }
        if self.grace_periods and self.grace_periods > product.max_grace_periods:
            errors["grace_periods"] = _("This product allows at most %(n)s grace periods.") % {
                "n": product.max_grace_periods
            }
        if self.equipment_id:
            errors["equipment"] = _("A refinancing finances no equipment.")
        if self.first_due_on and self.disbursement_date and self.first_due_on <= self.disbursement_date:
            errors["first_due_on"] = _("The first due date must come after the disbursement date.")
        if self.tea_pct is not None and "tea_pct" not in errors:
            for name, message in self.rate_cap_breaches().items():
                errors.setdefault(name, message)
        if errors:
            raise ValidationError(errors)

    def rate_cap_breaches(self, on: dt.date | None = None) -> dict[str, str]:
        """The offer's TEA (and the product's moratory TEA the loan will carry) against the BCRP caps in
        force on ``on`` (default today, the day the offer is made, changed, submitted or approved) and,
        when it is later, on the planned disbursement date: a cap already published for that day would
        refuse the disbursement, so the offer must not promise it (DOMAIN.md §3)."""
        product = self.product if self.product_id else None
        if product is None or self.tea_pct is None:
            return {}
        today = on or timezone.localdate()
        days = [today]
        if self.disbursement_date and self.disbursement_date > today:
            days.append(self.disbursement_date)
        errors: dict[str, str] = {}
        for day in days:
            found = rate_cap_errors(
                currency=product.currency,
                on=day,
                tea_pct=self.tea_pct,
                moratory_tea_pct=product.moratory_tea_pct,
            )
            for name, message in found.items():
                errors.setdefault(name, message)
        return errors


class Loan(TimestampedModel):
    """A disbursed loan. Its balances and days past due are derived from its transaction log
    (installments.LoanTransaction) by the servicing engine and cached here for listing."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        PAID_OFF = "paid_off", _("paid off")
        WRITTEN_OFF = "written_off", _("written off")
        # Closed by a refinancing: its balance became the principal of a new, refinanced loan.
        REFINANCED = "refinanced", _("refinanced")

    class Payee(models.TextChoices):
        SUPPLIER = "supplier", _("equipment supplier")
        MINER = "miner", _("borrower")

    code = models.CharField(_("loan number"), max_length=20, unique=True)
    application = models.OneToOneField(LoanApplication, on_delete=models.PROTECT, related_name="loan")
    miner = models.ForeignKey(Miner, on_delete=models.PROTECT, related_name="loans")
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
    withholding_buyer = models.ForeignKey(Buyer, null=True, blank=True, on_delete=models.PROTECT, related_name="loans")
    equipment = models.ForeignKey(Equipment, null=True, blank=True, on_delete=models.PROTECT, related_name="loans")
    currency = CurrencyField()
    principal = MoneyField(_("principal"))
    tea_pct = PercentField(_("TEA (%)"))
    moratory_tea_pct = PercentField(_("moratory TEA (%)"), default=0)
    tcea_pct = PercentField(_("TCEA (%)"))
    insurance_monthly_rate_pct = PercentField(_("insurance (% per month)"), default=0)
    upfront_fees = MoneyField(_("upfront fees"), default=0)
    fee_per_installment = MoneyField(_("fee per installment"), default=0)
    max_withholding_share_pct = PercentField(
        _("maximum withholding (% of net payable)"), default=DEFAULT_MAX_WITHHOLDING_SHARE_PCT
    )
    guarantee_coverage_pct = PercentField(_("guarantee fund coverage (%)"), default=0)
    term = models.PositiveSmallIntegerField(_("term (installments)"))
    grace_kind = models.CharField(_("grace"), max_length=10, choices=GraceKind.choices, default=GraceKind.NONE)
    grace_periods = models.PositiveSmallIntegerField(_("grace periods"), default=0)
    installment_amount = MoneyField(_("installment"))
    disbursed_on = models.DateField(_("disbursed on"))
    first_due_on = models.DateField(_("first due date"))
    payee = models.CharField(_("paid to"), max_length=10, choices=Payee.choices)
    payee_supplier = models.ForeignKey(
        EquipmentSupplier, null=True, blank=True, on_delete=models.PROTECT, related_name="disbursements"
    )
    disbursement_reference = models.CharField(_("disbursement reference"), max_length=60, blank=True)
    disbursed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.ACTIVE)
    schedule_version = models.PositiveSmallIntegerField(_("schedule version"), default=1)
    # NGO technician's verification of the financed equipment.
    delivery_verified_at = models.DateTimeField(_("delivery verified"), null=True, blank=True)
    installation_verified_at = models.DateTimeField(_("installation verified"), null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    verification_note = models.TextField(_("verification note"), blank=True)
    # Derived from the transaction log (installments.services.loan_recompute); never edited by hand.
    outstanding_principal = MoneyField(_("outstanding principal"), default=0)
    overdue_amount = MoneyField(_("overdue amount"), default=0)
    moratory_accrued = MoneyField(_("moratory interest accrued"), default=0)
    # Compensatory interest accrued on overdue principal after its due dates (Ley 31143), unpaid.
    late_interest_accrued = MoneyField(_("compensatory interest on overdue principal"), default=0)
    # Money received beyond everything owed, not yet refunded or applied to another loan (DOMAIN.md §3).
    overpayment_credit = MoneyField(_("overpayment credit"), default=0)
    days_past_due = models.PositiveIntegerField(_("days past due"), default=0)
    # The SBS category of ``days_past_due`` as of ``state_as_of``: follows every event on the loan. The
    # nightly rating (``rated_category``) stays the dated record, aligned per debtor, and the provisions.
    category = models.CharField(_("current category"), max_length=12, default="normal")
    next_due_on = models.DateField(_("next due date"), null=True, blank=True)
    state_as_of = models.DateField(_("state as of"), null=True, blank=True)
    # How a withholding is applied (DOMAIN.md §3): by the rule, or always as adelanto / pago anticipado
    # when the miner gave that standing instruction.
    withholding_treatment = models.CharField(
        _("withholding treatment"),
        max_length=16,
        choices=[
            ("auto", _("by the rule (more than two installments: pago anticipado)")),
            ("pago_anticipado", _("always as pago anticipado")),
            ("adelanto", _("always as adelanto de cuotas")),
        ],
        default="auto",
    )
    # The aligned SBS category of the loan's latest nightly rating (installments.batch writes it with the
    # rating), so origination reads it from the loan without reaching up into servicing's tables.
    rated_category = models.CharField(_("latest rated category"), max_length=12, blank=True)
    rated_on = models.DateField(_("latest rating date"), null=True, blank=True)
    # The lender's own number of a loan migrated from its previous system (an opening loan, imported by
    # ``lifecycle.book_import``): what makes the import idempotent. Blank for loans disbursed here.
    lender_number = models.CharField(_("lender's loan number"), max_length=40, blank=True, default="")
    # Refinanciado (DOMAIN.md §7; SBS Res. 11356-2008): the loan born of a refinancing (its application's
    # ``refinanced_loans`` are the loans it replaced). ``refinance_category`` is the debtor's category
    # fixed at the refinancing (CPP at best); ``refinance_floor`` the floor in force as of ``state_as_of``
    # or the latest rating, and ``refinance_punctual_since`` the day its punctuality window opened
    # (``installments.risk.refinance_floor`` derives both from the installments; never edited by hand).
    is_refinanced = models.BooleanField(_("refinanced"), default=False)
    refinanced_on = models.DateField(_("refinanced on"), null=True, blank=True)
    refinance_category = models.CharField(_("category at refinancing"), max_length=12, blank=True)
    refinance_floor = models.CharField(_("refinancing category floor"), max_length=12, blank=True)
    refinance_punctual_since = models.DateField(_("punctual payment counted since"), null=True, blank=True)

    class Meta:
        ordering = ["disbursed_on", "id"]
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        constraints = [
            models.CheckConstraint(condition=Q(principal__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(
                    outstanding_principal__gte=0,
                    overdue_amount__gte=0,
                    moratory_accrued__gte=0,
                    installment_amount__gte=0,
                    upfront_fees__gte=0,
                    fee_per_installment__gte=0,
                ),
                name="loan_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(tea_pct__gte=0, moratory_tea_pct__gte=0), name="loan_rates_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(payee="miner") | Q(payee_supplier__isnull=False), name="loan_supplier_payee_named"
            ),
            models.CheckConstraint(
                condition=Q(first_due_on__gt=F("disbursed_on")), name="loan_first_due_after_disbursement"
            ),
            models.UniqueConstraint(
                fields=["lender_number"], condition=~Q(lender_number=""), name="loan_unique_lender_number"
            ),
            models.CheckConstraint(
                condition=Q(is_refinanced=False) | Q(refinanced_on__isnull=False, refinance_category__gt=""),
                name="loan_refinanced_has_category",
            ),
        ]
        indexes = [
            # The loans list, worst days past due first, paged by keyset on (days_past_due, id)
            # (asmcredit.web.paginate): with a status, and for "all".
            models.Index(fields=["status", "days_past_due", "id"], name="loan_list_order"),
            models.Index(fields=["days_past_due", "id"], name="loan_list_order_all"),
            # The collections queue (lifecycle): active loans in arrears, worst first, then the larger
            # overdue amount — a few tens of thousands of rows at national scale.
            models.Index(
                fields=["-days_past_due", "-overdue_amount", "id"],
                condition=Q(status="active", days_past_due__gt=0),
                name="loan_collections_queue",
            ),
            # The dashboard's queue of equipment still to verify (few loans: most are verified).
            models.Index(
                fields=["disbursed_on"],
                condition=Q(equipment__isnull=False, installation_verified_at__isnull=True),
                name="loan_to_verify",
            ),
            # The few loans holding a miner's overpayment credit (the dashboard's queue).
            models.Index(
                fields=["-overpayment_credit"], condition=Q(overpayment_credit__gt=0), name="loan_with_credit"
            ),
            models.Index(fields=["miner", "status"]),
            # The few refinanced loans: the rating job's floors and the portfolio's refinanced figures.
            models.Index(fields=["miner"], condition=Q(is_refinanced=True), name="loan_refinanced"),
        ]

    def __str__(self) -> str:
        return f"{self.code} — {self.miner.full_name}"


class VerificationVisit(TimestampedModel):
    """An NGO technician's visit to the financed equipment (verificación en campo): what was seen on
    site, on which day, where, and the photos taken. The loan's ``delivery_verified_at`` and
    ``installation_verified_at`` are replayed from its visits in date order (loans.verification)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="verification_visits")
    visited_on = models.DateField(_("visit date"))
    delivered = models.BooleanField(_("equipment delivered"), default=False)
    installed = models.BooleanField(_("equipment installed and working"), default=False)
    note = models.TextField(_("note from the visit"), blank=True)
    # WGS84 degrees, as the phone's geolocation gives them; the accuracy is the phone's own estimate.
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    location_accuracy_m = models.PositiveIntegerField(_("location accuracy (m)"), null=True, blank=True)
    # Empty only on visits carried over from the verifications recorded before visits existed.
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-visited_on", "-id"]
        verbose_name = _("verification visit")
        verbose_name_plural = _("verification visits")
        constraints = [
            models.CheckConstraint(condition=Q(delivered=True) | Q(installed=False), name="visit_installed_delivered"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True, location_accuracy_m__isnull=True)
                | Q(
                    latitude__isnull=False,  # a NULL would make the CHECK pass whatever the rest says
                    longitude__isnull=False,
                    latitude__gte=-90,
                    latitude__lte=90,
                    longitude__gte=-180,
                    longitude__lte=180,
                ),
                name="visit_location_in_range",
            ),
        ]
        indexes = [models.Index(fields=["loan", "visited_on"])]

    def __str__(self) -> str:
        return f"{self.loan.code} {self.visited_on:%d/%m/%Y}"

    @property
    def has_location(self) -> bool:
        return self.latitude is not None and self.longitude is not None


class VerificationPhoto(TimestampedModel):
    """A photo taken on a verification visit, stored upright and without metadata, with a thumbnail.
    Served only to signed-in staff through loans.views (MEDIA_ROOT is never published)."""

    visit = models.ForeignKey(VerificationVisit, on_delete=models.PROTECT, related_name="photos")
    image = models.FileField(_("photo"), upload_to="verification-photos/%Y/%m/")
    thumbnail = models.FileField(_("thumbnail"), upload_to="verification-photos/%Y/%m/")
    width = models.PositiveIntegerField(_("width (px)"))
    height = models.PositiveIntegerField(_("height (px)"))
    original_name = models.CharField(_("file name on the phone"), max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("verification photo")
        verbose_name_plural = _("verification photos")

    def __str__(self) -> str:
        return f"{self.visit} #{self.pk}"


class Collateral(TimestampedModel):
    """A garantía mobiliaria on a loan (Ley 28677): usually the financed equipment, pledged and entered
    in the Registro Mobiliario de Contratos (SUNARP). DOMAIN.md §7: only a *registered* pledge is a
    preferred guarantee, and only the part of the loan its appraised value covers earns §6's lower
    provision rates (installments.batch reads this table in the nightly rating).

    Registered = an entry number and a registration date, and not released (the pledge lifted once the
    loan is paid off, or given up). The insurance policy is recorded for the officer's warning before it
    expires; whether an expired policy still counts is ``settings.COLLATERAL_INSURANCE_REQUIRED``."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collaterals")
    # The financed equipment when that is what is pledged (it must be the loan's own).
    equipment = models.ForeignKey(
        Equipment, verbose_name=_("financed equipment"), null=True, blank=True, on_delete=models.PROTECT
    )
    description = models.CharField(_("description"), max_length=300)
    registry_entry = models.CharField(
        _("registry entry number"),
        max_length=40,
        blank=True,
        help_text=_("Registro Mobiliario de Contratos (SUNARP): the entry of the pledge."),
    )
    registered_on = models.DateField(_("registration date"), null=True, blank=True)
    appraised_value = MoneyField(_("appraised value"))
    currency = CurrencyField()
    appraised_on = models.DateField(_("appraisal date"))
    insurer = models.CharField(_("insurer"), max_length=200, blank=True)
    policy_number = models.CharField(_("policy number"), max_length=60, blank=True)
    policy_expires_on = models.DateField(_("policy expiry date"), null=True, blank=True)
    released_on = models.DateField(_("released on"), null=True, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["loan", "id"]
        verbose_name = _("collateral")
        verbose_name_plural = _("collateral")
        constraints = [
            models.CheckConstraint(condition=Q(appraised_value__gt=0), name="collateral_value_positive"),
            # An entry number without its date (or the reverse) is no registration.
            models.CheckConstraint(
                condition=Q(registry_entry="", registered_on__isnull=True)
                | (~Q(registry_entry="") & Q(registered_on__isnull=False)),
                name="collateral_registration_complete",
            ),
            models.CheckConstraint(
                condition=Q(policy_number="", policy_expires_on__isnull=True)
                | (~Q(policy_number="") & Q(policy_expires_on__isnull=False)),
                name="collateral_policy_complete",
            ),
            models.CheckConstraint(
                condition=Q(released_on__isnull=True)
                | Q(registered_on__isnull=True)
                | Q(released_on__gte=F("registered_on")),
                name="collateral_released_after_registration",
            ),
            # One registry entry secures one loan here: the same pledge never earns the lower rates twice.
            models.UniqueConstraint(
                fields=["registry_entry"], condition=~Q(registry_entry=""), name="collateral_unique_registry_entry"
            ),
        ]
        indexes = [
            # The dashboard's policies to renew: few rows, those still pledged with a policy.
            models.Index(
                fields=["policy_expires_on"],
                condition=Q(released_on__isnull=True, policy_expires_on__isnull=False),
                name="collateral_policy_expiry",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} ({self.loan.code})"

    @property
    def is_registered(self) -> bool:
        return bool(self.registry_entry) and self.registered_on is not None and self.released_on is None

    def policy_expired(self, on: dt.date) -> bool:
        return self.policy_expires_on is not None and self.policy_expires_on < on
