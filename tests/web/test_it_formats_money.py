"""Amounts are written the Peruvian way in both languages: S/ 1,234.50."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from asmcredit.templatetags.money import amount, money, pct, percent, soles


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (Decimal("1234.5"), "S/ 1,234.50"),
        (Decimal("0.005"), "S/ 0.01"),  # half-up, never banker's rounding
        (Decimal("1234567.891"), "S/ 1,234,567.89"),
        ("10", "S/ 10.00"),
        (Decimal("-0.001"), "S/ 0.00"),
        (Decimal("-25"), "-S/ 25.00"),
        (None, "—"),
        ("not a number", "—"),
    ],
)
def test_it_formats_soles(value, expected) -> None:  # type: ignore[no-untyped-def]
    assert soles(value) == expected


def test_it_formats_dollars_and_plain_amounts() -> None:
    assert money(Decimal("12212.83"), "USD") == "US$ 12,212.83"
    assert amount(Decimal("9.2"), 3) == "9.200"
    assert percent(Decimal("0.2307")) == "23.07%"
    assert pct(Decimal("40.0000")) == "40.00%"


@pytest.mark.parametrize("language", ["es", "en"])
def test_it_uses_comma_thousands_and_point_decimals_in_every_language(language: str) -> None:
    with translation.override(language):
        rendered = Template('{% load money %}{{ a|soles }} {{ a|money:"USD" }}').render(
            Context({"a": Decimal("1234.5")})
        )
    assert rendered == "S/ 1,234.50 US$ 1,234.50"
