"""Buyer companies, their supplier miners, ore settlements (liquidaciones) and API access."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField, TimestampedModel
from miners.identity import validate_ruc
from miners.models import Miner


class Buyer(TimestampedModel):
    class Kind(models.TextChoices):
        MINING_COMPANY = "mining_company", _("mining company")
        PROCESSING_PLANT = "processing_plant", _("processing plant")
        TRADER = "trader", _("ore trader")

    ruc = models.CharField(_("RUC"), max_length=11, unique=True, validators=[validate_ruc])
    name = models.CharField(_("name"), max_length=200)
    region = models.CharField(_("region (department code)"), max_length=2)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.MINING_COMPANY)
    remittance_days = models.PositiveSmallIntegerField(
        _("agreed remittance days"), default=7, help_text=_("Days a withholding may stay unremitted.")
    )
    contact_email = models.EmailField(_("contact e-mail"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("buyer")
        verbose_name_plural = _("buyers")
        constraints = [
            models.CheckConstraint(condition=Q(ruc__regex=r"^(10|15|17|20)[0-9]{9}$"), name="buyer_ruc_shape"),
        ]

    def __str__(self) -> str:
        return self.name


class SupplierRelationship(TimestampedModel):
    """A miner selling ore to a buyer: the channel through which installments are withheld."""

    class AgreementKind(models.TextChoices):
        COEXISTENCE = "coexistence", _("coexistence agreement")
        SUPPLY_CONTRACT = "supply_contract", _("supply contract")
        SPOT = "spot", _("spot sales")

    class Status(models.TextChoices):
        ACTIVE = "active", _("active")
        SUSPENDED = "suspended", _("suspended")
        ENDED = "ended", _("ended")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="relationships")
    miner = models.ForeignKey(Miner, on_delete=models.PROTECT, related_name="relationships")
    since = models.DateField(_("since"))
    agreement_kind = models.CharField(
        _("agreement"), max_length=20, choices=AgreementKind.choices, default=AgreementKind.SUPPLY_CONTRACT
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)

    class Meta:
        verbose_name = _("supplier relationship")
        verbose_name_plural = _("supplier relationships")
        constraints = [models.UniqueConstraint(fields=["buyer", "miner"], name="relationship_unique_buyer_miner")]

    def __str__(self) -> str:
        return f"{self.miner} → {self.buyer}"


class BuyerTerms(TimestampedModel):
    """One version of a buyer's agreed terms (DOMAIN.md §4), in force from ``effective_from`` until the next
    version's: the commercial deduction RC, the recovery factor and the maquila scale (its ``bands``).

    Versions are never edited through the product: a change is a new version (``buyers.services.
    buyer_terms_add``), so every settlement can be read against the terms it was valued with. A term left
    blank is not agreed and not checked.
    """

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="terms_versions")
    effective_from = models.DateField(_("in force from"))
    commercial_deduction_usd_oz = MoneyField(_("agreed commercial deduction RC (US$/oz)"), null=True, blank=True)
    recovery = models.DecimalField(_("agreed recovery factor"), max_digits=5, decimal_places=4, null=True, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["buyer", "-effective_from"]
        verbose_name = _("buyer's agreed terms")
        verbose_name_plural = _("buyers' agreed terms")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "effective_from"], name="buyer_terms_unique_effective_from"),
            models.CheckConstraint(
                condition=Q(commercial_deduction_usd_oz__isnull=True) | Q(commercial_deduction_usd_oz__gte=0),
                name="buyer_terms_rc_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(recovery__isnull=True) | Q(recovery__gt=0, recovery__lte=1),
                name="buyer_terms_recovery_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer} ({self.effective_from})"


class MaquilaBand(models.Model):
    """A band of a terms version's maquila scale: grades ``[min, max)`` oz/TC (no max: no upper end) pay
    ``maquila_usd_tc`` US$ per short ton. The bands of a version never overlap (``buyers.terms``)."""

    terms = models.ForeignKey(BuyerTerms, on_delete=models.CASCADE, related_name="bands")
    min_grade_oz_tc = models.DecimalField(_("from grade (oz/TC)"), max_digits=10, decimal_places=4)
    max_grade_oz_tc = models.DecimalField(
        _("to grade (oz/TC, exclusive)"), max_digits=10, decimal_places=4, null=True, blank=True
    )
    maquila_usd_tc = MoneyField(_("maquila (US$/TC)"))

    class Meta:
        ordering = ["terms", "min_grade_oz_tc"]
        verbose_name = _("maquila band")
        verbose_name_plural = _("maquila scale")
        constraints = [
            models.CheckConstraint(condition=Q(min_grade_oz_tc__gte=0), name="maquila_min_grade_non_negative"),
            models.CheckConstraint(
                condition=Q(max_grade_oz_tc__isnull=True) | Q(max_grade_oz_tc__gt=models.F("min_grade_oz_tc")),
                name="maquila_band_ordered",
            ),
            models.CheckConstraint(condition=Q(maquila_usd_tc__gte=0), name="maquila_non_negative"),
            models.UniqueConstraint(fields=["terms", "min_grade_oz_tc"], name="maquila_unique_band_start"),
        ]

    def __str__(self) -> str:
        return f"{self.min_grade_oz_tc}–{self.max_grade_oz_tc or '∞'} → {self.maquila_usd_tc}"


class FairPriceReference(TimestampedModel):
    """The lender's reference for the price share (DOMAIN.md §4): a settlement crediting less than this
    share of the international price is flagged ``price_below_reference``. Effective-dated: the row with
    the latest ``effective_from`` on or before a settlement's date applies (seeded with the 95%
    Fairtrade / Fairmined floor; ``buyers.terms.DEFAULT_PRICE_REFERENCE`` when there is none)."""

    effective_from = models.DateField(_("in force from"), unique=True)
    min_price_share = models.DecimalField(_("minimum price share (fraction of INTER)"), max_digits=5, decimal_places=4)
    source = models.CharField(_("source"), max_length=120, blank=True)

    class Meta:
        ordering = ["-effective_from"]
        verbose_name = _("fair-price reference")
        verbose_name_plural = _("fair-price references")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_price_share__gt=0, min_price_share__lte=1), name="fair_price_reference_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.min_price_share} ({self.effective_from})"


class Settlement(TimestampedModel):
    """An ore purchase settlement (liquidación), DOMAIN.md §4.

    Values are computed in US$ from the lot; ``currency`` is the currency the miner is paid in and
    ``exchange_rate`` (PEN per US$) is the one stated on the settlement, used to convert the
    withholding into the loan's currency.
    """

    class Status(models.TextChoices):
        POSTED = "posted", _("posted")
        VOID = "void", _("void")

    class MaquilaSource(models.TextChoices):
        STATED = "stated", _("stated on the settlement")
        SCALE = "scale", _("the buyer's agreed scale")

    class Source(models.TextChoices):
        API = "api", _("API")
        CSV = "csv", _("CSV upload")
        UI = "ui", _("entered by staff")
        SEED = "seed", _("demo data")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="settlements")
    miner = models.ForeignKey(Miner, on_delete=models.PROTECT, related_name="settlements")
    lot_code = models.CharField(_("lot code"), max_length=40)
    settled_on = models.DateField(_("settlement date"))
    currency = CurrencyField(default="USD")
    exchange_rate = models.DecimalField(_("exchange rate (PEN per US$)"), max_digits=10, decimal_places=4)
    wet_tonnes = models.DecimalField(_("wet tonnes (TMH)"), max_digits=12, decimal_places=3)
    moisture_pct = models.DecimalField(_("moisture (H2O %)"), max_digits=5, decimal_places=2)
    grade_oz_tc = models.DecimalField(_("grade (oz/TC)"), max_digits=10, decimal_places=4)
    recovery = models.DecimalField(_("recovery factor"), max_digits=5, decimal_places=4)
    gold_price_usd_oz = MoneyField(_("international price (US$/oz)"))
    gold_price_on = models.DateField(_("price date"), null=True, blank=True)
    gold_price_source = models.CharField(_("price source"), max_length=60, blank=True, default="LBMA PM")
    commercial_deduction_usd_oz = MoneyField(_("commercial deduction RC (US$/oz)"), default=0)
    maquila_usd_tc = MoneyField(_("maquila (US$/TC)"), default=0)
    maquila_source = models.CharField(
        _("maquila from"), max_length=8, choices=MaquilaSource.choices, default=MaquilaSource.STATED
    )
    reagents_usd_tms = MoneyField(_("reagent consumption (US$/TMS)"), default=0)
    freight_usd_tms = MoneyField(_("freight (US$/TMS)"), default=0)
    other_usd_tms = MoneyField(_("other (US$/TMS)"), default=0)
    # Computed by buyers.valuation when the settlement is recorded.
    dry_tonnes = models.DecimalField(_("dry tonnes (TMS)"), max_digits=12, decimal_places=3)
    value_per_tms = models.DecimalField(_("value per TMS (US$)"), max_digits=16, decimal_places=4)
    payable_usd = MoneyField(_("payable (US$)"))
    declared_payable_usd = MoneyField(_("payable declared by the buyer (US$)"), null=True, blank=True)
    contained_gold_usd = MoneyField(_("contained gold value (US$)"))
    # The fair-price check (DOMAIN.md §4, ``buyers.valuation``), against the terms in force on the date.
    price_share = models.DecimalField(_("price share ((INTER − RC) / INTER)"), max_digits=7, decimal_places=4)
    value_share = models.DecimalField(
        _("value share (payable / recoverable gold at INTER)"), max_digits=7, decimal_places=4
    )
    terms_version = models.ForeignKey(
        BuyerTerms, null=True, blank=True, on_delete=models.PROTECT, related_name="settlements"
    )
    terms_deviations = models.JSONField(_("off the agreed terms"), default=list, blank=True)
    fair_price_flags = models.JSONField(_("fair-price flags"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.POSTED)
    voided_at = models.DateTimeField(_("voided at"), null=True, blank=True)
    void_reason = models.CharField(_("void reason"), max_length=255, blank=True)
    source = models.CharField(_("source"), max_length=8, choices=Source.choices, default=Source.API)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-settled_on", "-id"]
        verbose_name = _("ore settlement")
        verbose_name_plural = _("ore settlements")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "lot_code"], name="settlement_unique_buyer_lot"),
            models.CheckConstraint(condition=Q(wet_tonnes__gt=0), name="settlement_wet_tonnes_positive"),
            models.CheckConstraint(
                condition=Q(moisture_pct__gte=0, moisture_pct__lt=100), name="settlement_moisture_pct_range"
            ),
            models.CheckConstraint(condition=Q(grade_oz_tc__gte=0), name="settlement_grade_non_negative"),
            models.CheckConstraint(condition=Q(recovery__gt=0, recovery__lte=1), name="settlement_recovery_range"),
            models.CheckConstraint(condition=Q(exchange_rate__gt=0), name="settlement_exchange_rate_positive"),
            models.CheckConstraint(
                condition=Q(
                    gold_price_usd_oz__gte=0,
                    commercial_deduction_usd_oz__gte=0,
                    maquila_usd_tc__gte=0,
                    reagents_usd_tms__gte=0,
                    freight_usd_tms__gte=0,
                    other_usd_tms__gte=0,
                ),
                name="settlement_costs_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(dry_tonnes__gte=0, payable_usd__gte=0, contained_gold_usd__gte=0),
                name="settlement_computed_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(declared_payable_usd__isnull=True) | Q(declared_payable_usd__gte=0),
                name="settlement_declared_non_negative",
            ),
        ]
        indexes = [
            models.Index(fields=["miner", "settled_on"]),
            models.Index(fields=["buyer", "settled_on"]),
        ]

    def __str__(self) -> str:
        return f"{self.buyer} {self.lot_code} ({self.settled_on})"

    @property
    def payable_difference_usd(self):  # type: ignore[no-untyped-def]
        if self.declared_payable_usd is None:
            return None
        return self.declared_payable_usd - self.payable_usd


class BuyerUser(models.Model):
    """A login that belongs to a buyer company (CSV upload page, statements)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="buyer_link")
    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="users")

    class Meta:
        verbose_name = _("buyer user")
        verbose_name_plural = _("buyer users")

    def __str__(self) -> str:
        return f"{self.user} @ {self.buyer}"


def hash_api_key(raw: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough (no dictionary to defend against).
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(TimestampedModel):
    """A buyer company's API key. Only the hash is stored; the key is shown once at issue."""

    buyer = models.ForeignKey(Buyer, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("name"), max_length=100, default="default")
    prefix = models.CharField(_("prefix"), max_length=12, db_index=True)
    hashed_key = models.CharField(max_length=64, unique=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        verbose_name = _("API key")
        verbose_name_plural = _("API keys")

    def __str__(self) -> str:
        return f"{self.buyer} / {self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def generate() -> tuple[str, str, str]:
        """Return (raw key, prefix, hash)."""
        raw = "asm_" + secrets.token_urlsafe(32)
        return raw, raw[:12], hash_api_key(raw)
