"""Field helpers so every amount and rate column has the same shape."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils.translation import gettext_lazy as _


class Currency(models.TextChoices):
    PEN = "PEN", _("Soles (S/)")
    USD = "USD", _("US dollars (US$)")


CURRENCY_SYMBOL = {"PEN": "S/", "USD": "US$"}


def MoneyField(verbose_name: Any, **kwargs: Any) -> models.DecimalField:  # noqa: N802 - reads like a field
    """An amount: 14 digits, 2 decimals (céntimos)."""
    kwargs.setdefault("max_digits", 14)
    kwargs.setdefault("decimal_places", 2)
    return models.DecimalField(verbose_name, **kwargs)


def PercentField(verbose_name: Any, **kwargs: Any) -> models.DecimalField:  # noqa: N802
    """A percentage as users read it: 40.0000 means 40 %."""
    kwargs.setdefault("max_digits", 9)
    kwargs.setdefault("decimal_places", 4)
    return models.DecimalField(verbose_name, **kwargs)


def CurrencyField(verbose_name: Any = None, **kwargs: Any) -> models.CharField:  # noqa: N802
    kwargs.setdefault("max_length", 3)
    kwargs.setdefault("choices", Currency.choices)
    kwargs.setdefault("default", Currency.PEN)
    return models.CharField(verbose_name or _("currency"), **kwargs)


class TimestampedModel(models.Model):
    created = models.DateTimeField(_("created"), auto_now_add=True)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        abstract = True
