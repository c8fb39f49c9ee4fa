"""Template filters for the reports: ``{{ value|amount:currency }}``, ``{{ rate|pct }}``, ``{{ par|ratio }}``."""

from __future__ import annotations

from typing import Any

from django import template

from reports import formatting

register = template.Library()


@register.filter
def amount(value: Any, currency: str = "PEN") -> str:
    return formatting.amount(value, currency or "PEN")


@register.filter
def soles(value: Any) -> str:
    return formatting.soles(value)


@register.filter
def num(value: Any, places: int = 2) -> str:
    return formatting.number(value, int(places))


@register.filter
def pct(value: Any, places: int = 2) -> str:
    return formatting.percent(value, int(places))


@register.filter
def ratio(value: Any, places: int = 2) -> str:
    return formatting.ratio(value, int(places))


@register.filter
def day(value: Any) -> str:
    return formatting.day(value)


@register.filter
def month(value: Any) -> str:
    return formatting.month(value)
