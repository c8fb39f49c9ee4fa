"""Effective-dated reference rates the lender keeps current: the exchange rate used to state dollar
balances in soles (DOMAIN.md §4) and the BCRP interest-rate caps (DOMAIN.md §3, Ley 31143).

Both are data, never code: a new row with a later date takes over from that date, and the rows
already in force stay as the record of what applied on each past day."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, PercentField, TimestampedModel


class ExchangeRate(TimestampedModel):
    """Soles per unit of ``currency`` from ``rate_on`` (the SBS accounting rate the lender loads)."""

    currency = CurrencyField(default="USD")
    rate_on = models.DateField(_("date"))
    soles_per_unit = models.DecimalField(_("soles per unit"), max_digits=10, decimal_places=4)
    source = models.CharField(_("source"), max_length=80, blank=True)

    class Meta:
        ordering = ["currency", "-rate_on"]
        verbose_name = _("exchange rate")
        verbose_name_plural = _("exchange rates")
        constraints = [
            models.UniqueConstraint(fields=["currency", "rate_on"], name="fx_one_rate_per_day"),
            models.CheckConstraint(condition=Q(soles_per_unit__gt=0), name="fx_rate_positive"),
            models.CheckConstraint(condition=~Q(currency="PEN"), name="fx_not_for_soles"),
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.rate_on}: {self.soles_per_unit}"


class RateCap(TimestampedModel):
    """The maximum compensatory and moratory TEA (percent) the BCRP allows in ``currency`` from
    ``effective_from`` until the next row for the same currency."""

    currency = CurrencyField()
    effective_from = models.DateField(_("effective from"))
    compensatory_tea_max_pct = PercentField(_("maximum compensatory TEA (%)"))
    moratory_tea_max_pct = PercentField(_("maximum moratory TEA (%)"))
    source = models.CharField(_("source"), max_length=120, blank=True, help_text=_("BCRP circular or notice."))

    class Meta:
        ordering = ["currency", "-effective_from"]
        verbose_name = _("interest-rate cap")
        verbose_name_plural = _("interest-rate caps")
        constraints = [
            models.UniqueConstraint(fields=["currency", "effective_from"], name="rate_cap_one_per_day"),
            models.CheckConstraint(
                condition=Q(compensatory_tea_max_pct__gt=0, moratory_tea_max_pct__gte=0), name="rate_cap_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.currency} from {self.effective_from}: {self.compensatory_tea_max_pct}%"
