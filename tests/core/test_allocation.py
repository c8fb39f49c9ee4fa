"""Imputación de pagos and moratory interest (DOMAIN.md §3)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from random import Random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installments.allocation import (
    COMPONENTS,
    ComponentAllocation,
    InstallmentDue,
    allocate,
    moratory_interest,
    totals_by_component,
)

D = Decimal

MARCH = InstallmentDue(
    number=2,
    due_on=date(2025, 3, 17),
    moratory=D("4.10"),
    interest=D("224.71"),
    insurance=D("6.00"),
    fees=D("5.00"),
    principal=D("1613.74"),
)
APRIL = InstallmentDue(
    number=3,
    due_on=date(2025, 4, 15),
    moratory=D("0.00"),
    interest=D("188.51"),
    insurance=D("5.00"),
    fees=D("5.00"),
    principal=D("1649.94"),
)


def test_it_pays_the_oldest_installment_first_in_component_order() -> None:
    allocations, leftover = allocate(D("2000.00"), [APRIL, MARCH])

    assert allocations == [
        ComponentAllocation(2, "moratory", D("4.10")),
        ComponentAllocation(2, "interest", D("224.71")),
        ComponentAllocation(2, "insurance", D("6.00")),
        ComponentAllocation(2, "fees", D("5.00")),
        ComponentAllocation(2, "principal", D("1613.74")),
        ComponentAllocation(3, "interest", D("146.45")),
    ]
    assert leftover == D("0.00")


def test_it_stops_inside_a_component_when_the_money_runs_out() -> None:
    allocations, leftover = allocate(D("100.00"), [MARCH])

    assert allocations == [
        ComponentAllocation(2, "moratory", D("4.10")),
        ComponentAllocation(2, "interest", D("95.90")),
    ]
    assert leftover == 0


def test_it_returns_what_exceeds_everything_owed() -> None:
    allocations, leftover = allocate(D("5000.00"), [MARCH, APRIL])

    assert sum((a.amount for a in allocations), D(0)) == MARCH.total + APRIL.total
    assert leftover == D("5000.00") - MARCH.total - APRIL.total


def test_it_orders_installments_due_the_same_day_by_number() -> None:
    same_day = InstallmentDue(1, MARCH.due_on, D(0), D("10.00"), D(0), D(0), D(0))

    allocations, _ = allocate(D("5.00"), [MARCH, same_day])

    assert allocations == [ComponentAllocation(1, "interest", D("5.00"))]


def test_it_allocates_nothing_from_nothing() -> None:
    assert allocate(D("0.00"), [MARCH]) == ([], D("0.00"))


def test_it_refuses_a_negative_payment() -> None:
    with pytest.raises(ValueError):
        allocate(D("-1.00"), [MARCH])


def test_it_totals_allocations_by_component() -> None:
    allocations, _ = allocate(D("2000.00"), [MARCH, APRIL])

    totals = totals_by_component(allocations)

    assert list(totals) == list(COMPONENTS)
    assert totals["interest"] == D("371.16")
    assert totals["principal"] == D("1613.74")


def test_it_charges_moratory_interest_at_the_moratory_tea() -> None:
    # Linear by day (DOMAIN.md §3): 1,000 × i₁ × d with i₁ = 1.10^(1/360) − 1 = 0.000264786…
    assert moratory_interest(D("1000.00"), D("0.10"), 30) == D("7.94")
    assert moratory_interest(D("1000.00"), D("0.10"), 60) == D("15.89")
    assert moratory_interest(D("1000.00"), D("0.10"), 360) == D("95.32")
    assert moratory_interest(D("1000.00"), D("0.10"), 0) == D("0.00")
    assert moratory_interest(D("0.00"), D("0.10"), 30) == D("0.00")


def test_it_refuses_negative_moratory_inputs() -> None:
    with pytest.raises(ValueError):
        moratory_interest(D("-1.00"), D("0.10"), 30)
    with pytest.raises(ValueError):
        moratory_interest(D("1.00"), D("-0.10"), 30)


amounts = st.integers(0, 500_000).map(lambda cents: D(cents) / 100)


@st.composite
def dues(draw: st.DrawFn) -> list[InstallmentDue]:
    count = draw(st.integers(0, 8))
    start = date(2025, 1, 15)
    offsets = draw(st.lists(st.integers(0, 400), min_size=count, max_size=count))
    return [
        InstallmentDue(
            number=number,
            due_on=start + timedelta(days=offset),
            moratory=draw(amounts),
            interest=draw(amounts),
            insurance=draw(amounts),
            fees=draw(amounts),
            principal=draw(amounts),
        )
        for number, offset in enumerate(offsets, start=1)
    ]


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5_000_000).map(lambda cents: D(cents) / 100), dues(), st.randoms())
def test_it_allocates_the_same_whatever_order_installments_arrive_in(
    amount: Decimal, owed: list[InstallmentDue], rng: Random
) -> None:
    shuffled = list(owed)
    rng.shuffle(shuffled)

    assert allocate(amount, owed) == allocate(amount, shuffled)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 5_000_000).map(lambda cents: D(cents) / 100), dues())
def test_it_never_allocates_more_than_is_owed_or_paid(amount: Decimal, owed: list[InstallmentDue]) -> None:
    allocations, leftover = allocate(amount, owed)

    by_number = {due.number: due for due in owed}
    for allocation in allocations:
        assert 0 < allocation.amount <= getattr(by_number[allocation.number], allocation.component)
    assert len({(a.number, a.component) for a in allocations}) == len(allocations)
    allocated = sum((a.amount for a in allocations), D(0))
    assert allocated + leftover == amount
    assert leftover >= 0
    owed_total = sum((due.total for due in owed), D(0))
    assert allocated == min(amount, owed_total)
