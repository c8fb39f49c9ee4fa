from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from rates.models import ExchangeRate, RateCap
from rates.services import exchange_rate_set


@admin.register(ExchangeRate)
class ExchangeRateAdmin(admin.ModelAdmin):
    """The SBS accounting rate per day. A day's rate is corrected by saving that day again (the same
    write path as the CSV load and the API, audited); rates are never deleted, because past portfolio
    figures name the rate they used."""

    list_display = ["currency", "rate_on", "soles_per_unit", "source", "updated"]
    list_filter = ["currency"]
    date_hierarchy = "rate_on"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("currency", "rate_on") if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: ExchangeRate, form: Any, change: bool) -> None:
        outcome = exchange_rate_set(
            currency=obj.currency,
            rate_on=obj.rate_on,
            soles_per_unit=obj.soles_per_unit,
            source=obj.source,
            actor=request.user,
        )
        obj.pk = outcome.rate.pk
        obj.created, obj.updated = outcome.rate.created, outcome.rate.updated


@admin.register(RateCap)
class RateCapAdmin(admin.ModelAdmin):
    list_display = ["currency", "effective_from", "compensatory_tea_max_pct", "moratory_tea_max_pct", "source"]
    list_filter = ["currency"]
