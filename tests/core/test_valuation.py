"""Liquidación: valuing an ore lot (DOMAIN.md §4)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from asmcredit.money import money
from buyers.terms import AgreedTerms, MaquilaBand
from buyers.valuation import (
    SettlementError,
    SettlementTerms,
    convert,
    declared_difference,
    dry_tonnes,
    fair_price_flags,
    g_t_to_oz_tc,
    oz_tc_to_g_t,
    value_settlement,
)

D = Decimal

EXAMPLE = SettlementTerms(
    wet_tonnes=D("10"),
    moisture_pct=D("8.00"),
    grade_oz_tc=D("0.5"),
    recovery=D("0.84"),
    gold_price_usd_oz=D("3322.10"),
    commercial_deduction_usd_oz=D("80"),
    maquila_usd_tc=D("110"),
    reagents_usd_tms=D("30.26"),
    freight_usd_tms=D("22"),
)


def test_it_reproduces_the_domain_worked_example() -> None:
    value = value_settlement(EXAMPLE)

    assert value.dry_tonnes == D("9.200")
    assert value.value_per_tms == D("1327.48158542")
    assert value.payable == D("12212.83")


def test_it_values_the_contained_gold_per_short_ton() -> None:
    value = value_settlement(EXAMPLE)

    # 9.200 TMS × 1.10231 TC/t × 0.5 oz/TC = 5.070626 oz; × 3,322.10 = 16,845.13.
    assert value.contained_gold_oz == D("5.0706")
    assert value.contained_gold_usd == D("16845.13")
    # × recovery 0.84 = 4.2593 oz recoverable.
    assert value.recoverable_gold_oz == D("4.2593")


def test_it_gives_the_three_fair_price_figures_of_the_domain_example() -> None:
    value = value_settlement(EXAMPLE)

    # (3,322.10 − 80) / 3,322.10 = 3,242.10 / 3,322.10 = 0.97592 → 0.9759, above the 95% reference.
    assert value.price_share == D("0.9759")
    # 12,212.83 / (4.25932584 oz × 3,322.10 = 14,149.906) = 0.86310 → 0.8631; reported, never flagged.
    assert value.value_share == D("0.8631")
    assert value.fair_price_flags == ()
    assert value.terms_deviations == ()


AGREED = AgreedTerms(
    effective_from=dt.date(2025, 1, 1),
    commercial_deduction_usd_oz=D("80"),
    recovery=D("0.84"),
    bands=(MaquilaBand(D("0"), D("0.3"), D("90")), MaquilaBand(D("0.3"), None, D("110"))),
)


@pytest.mark.parametrize(
    ("changes", "deviations"),
    [
        ({}, ()),
        ({"maquila_usd_tc": D("110.01")}, ("maquila",)),
        ({"commercial_deduction_usd_oz": D("81")}, ("rc",)),
        ({"recovery": D("0.83")}, ("recovery",)),
        (
            {"maquila_usd_tc": D("120"), "commercial_deduction_usd_oz": D("90"), "recovery": D("0.8")},
            ("maquila", "rc", "recovery"),
        ),
        # Better than agreed for the miner is not off terms.
        ({"maquila_usd_tc": D("100"), "commercial_deduction_usd_oz": D("70"), "recovery": D("0.9")}, ()),
    ],
)
def test_it_names_what_is_off_the_agreed_terms(changes: dict, deviations: tuple) -> None:
    value = value_settlement(replace(EXAMPLE, **changes), agreed=AGREED)

    assert value.terms_deviations == deviations
    assert ("off_agreed_terms" in value.fair_price_flags) == bool(deviations)


def test_it_checks_no_terms_when_the_buyer_agreed_none() -> None:
    value = value_settlement(replace(EXAMPLE, commercial_deduction_usd_oz=D("500")), agreed=None)

    assert value.terms_deviations == ()
    # (3,322.10 − 500) / 3,322.10 = 0.84949 → 0.8495, under 95%.
    assert value.fair_price_flags == ("price_below_reference",)


def test_it_flags_the_price_share_under_the_reference_only() -> None:
    assert fair_price_flags(D("0.9500"), ()) == ()
    assert fair_price_flags(D("0.9499"), ()) == ("price_below_reference",)
    # The lender may set another reference.
    assert fair_price_flags(D("0.9759"), (), D("0.98")) == ("price_below_reference",)
    assert fair_price_flags(D("0.9759"), ("rc",)) == ("off_agreed_terms",)


def test_it_rounds_dry_tonnes_down_to_the_kilogram() -> None:
    assert dry_tonnes(D("1.9999"), D("0")) == D("1.999")
    assert dry_tonnes(D("12.345"), D("7.5")) == D("11.419")
    assert dry_tonnes(D("10"), D("8.00")) == D("9.200")


def test_it_pays_nothing_rather_than_charging_for_a_worthless_lot() -> None:
    value = value_settlement(replace(EXAMPLE, grade_oz_tc=D("0.05")))

    assert value.value_per_tms < 0
    assert value.payable == D("0.00")


def test_it_values_a_lot_without_gold_at_zero_without_flags() -> None:
    value = value_settlement(replace(EXAMPLE, grade_oz_tc=D("0")))

    assert value.payable == D("0.00")
    assert value.value_share == 0
    assert value.fair_price_flags == ()


def test_it_converts_grades_between_oz_per_short_ton_and_grams_per_tonne() -> None:
    assert oz_tc_to_g_t(D("1")) == D("34.2857")
    assert g_t_to_oz_tc(D("34.2857")) == D("1.0000")
    assert oz_tc_to_g_t(D("0.5")) == D("17.1429")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 100_000))
def test_it_round_trips_grades_in_oz_per_short_ton(ten_thousandths: int) -> None:
    grade = D(ten_thousandths) / 10_000

    assert g_t_to_oz_tc(oz_tc_to_g_t(grade)) == grade


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 3_000_000))
def test_it_round_trips_grades_in_grams_per_tonne_within_tolerance(ten_thousandths: int) -> None:
    grade = D(ten_thousandths) / 10_000

    # An oz/TC figure is only as fine as 0.00005 oz/TC, i.e. 0.0017 g/t.
    assert abs(oz_tc_to_g_t(g_t_to_oz_tc(grade)) - grade) <= D("0.002")


def test_it_converts_dollars_at_the_settlement_exchange_rate() -> None:
    assert convert(D("12212.83"), D("3.75")) == D("45798.11")
    with pytest.raises(SettlementError):
        convert(D("1.00"), D("0"))


def test_it_reports_what_the_buyer_declared_over_the_recomputed_amount() -> None:
    assert declared_difference(D("12212.83"), D("12250.00")) == D("37.17")
    assert declared_difference(D("12212.83"), D("12212.83")) == D("0.00")
    assert declared_difference(D("12212.83"), D("12000.00")) == D("-212.83")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"moisture_pct": D("100")}, "moisture_pct"),
        ({"moisture_pct": D("-0.01")}, "moisture_pct"),
        ({"wet_tonnes": D("-1")}, "wet_tonnes"),
        ({"recovery": D("0")}, "recovery"),
        ({"recovery": D("1.01")}, "recovery"),
        ({"grade_oz_tc": D("-0.1")}, "grade_oz_tc"),
        ({"gold_price_usd_oz": D("-1")}, "gold_price_usd_oz"),
        ({"commercial_deduction_usd_oz": D("-1")}, "commercial_deduction_usd_oz"),
        ({"maquila_usd_tc": D("-1")}, "maquila_usd_tc"),
        ({"reagents_usd_tms": D("-1")}, "reagents_usd_tms"),
        ({"freight_usd_tms": D("-1")}, "freight_usd_tms"),
        ({"other_usd_tms": D("-1")}, "other_usd_tms"),
    ],
)
def test_it_refuses_impossible_lots_naming_the_field(overrides: dict[str, Decimal], field: str) -> None:
    with pytest.raises(SettlementError) as excinfo:
        value_settlement(replace(EXAMPLE, **overrides))

    assert excinfo.value.field == field


@settings(max_examples=150, deadline=None)
@given(
    st.integers(0, 100_000),
    st.integers(0, 3_000),
    st.integers(1, 20_000),
    st.integers(1, 100),
    st.integers(150_000, 500_000),
)
def test_it_pays_the_rounded_value_of_the_dry_tonnes_never_less_than_zero(
    wet_kg: int, moisture_bp: int, grade_ten_thousandths: int, recovery_pct: int, price_cents: int
) -> None:
    terms = replace(
        EXAMPLE,
        wet_tonnes=D(wet_kg) / 1000,
        moisture_pct=D(moisture_bp) / 100,
        grade_oz_tc=D(grade_ten_thousandths) / 10_000,
        recovery=D(recovery_pct) / 100,
        gold_price_usd_oz=D(price_cents) / 100,
    )

    value = value_settlement(terms)

    assert value.dry_tonnes <= terms.wet_tonnes
    assert value.payable >= 0
    if value.value_per_tms > 0:
        assert value.payable == money(value.value_per_tms * value.dry_tonnes)
    if value.contained_gold_usd > 0:
        # The RC and the charges keep what reaches the miner under the recoverable gold's value.
        assert 0 <= value.value_share <= 1
    assert value.price_share <= 1
