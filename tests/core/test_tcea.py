"""TCEA: the rate that discounts a loan's installments to the net amount received (DOMAIN.md §3)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loans.tcea import TceaError, present_value, solve_rate, tcea

D = Decimal


def test_it_finds_the_annual_rate_of_a_single_payment_after_a_year() -> None:
    assert tcea(D("1000.00"), [(360, D("1400.00"))]) == D("40.00")


def test_it_annualizes_on_a_360_day_year() -> None:
    # 1,000 grows to 1,200 in 180 days: (1.2)^2 − 1 = 44%.
    assert tcea(D("1000.00"), [(180, D("1200.00"))]) == D("44.00")


def test_it_is_zero_when_the_client_repays_exactly_what_it_received() -> None:
    assert tcea(D("100.00"), [(30, D("50.00")), (60, D("50.00"))]) == D("0.00")


def test_it_reproduces_the_domain_worked_example_rate() -> None:
    flows = [
        (33, D("1838.45")),
        (61, D("1838.45")),
        (90, D("1838.45")),
        (120, D("1838.45")),
        (152, D("1838.45")),
        (181, D("1838.44")),
    ]

    assert tcea(D("10000.00"), flows) == D("40.00")
    assert tcea(D("9800.00"), flows) == D("50.19")


def test_it_handles_very_high_rates() -> None:
    # Doubling in 30 days: 2^12 − 1 = 4,095 → 409,500%.
    assert tcea(D("100.00"), [(30, D("200.00"))]) == D("409500.00")


def test_it_handles_negative_rates() -> None:
    assert tcea(D("100.00"), [(360, D("90.00"))]) == D("-10.00")


def test_it_returns_an_unrounded_fraction_from_solve_rate() -> None:
    rate = solve_rate(D("1000.00"), [(360, D("1400.00"))])

    assert abs(rate - D("0.4")) < D("1e-25")


def test_it_ignores_the_order_of_flows() -> None:
    flows = [(30, D("400.00")), (60, D("400.00")), (90, D("400.00"))]

    assert tcea(D("1100.00"), flows) == tcea(D("1100.00"), list(reversed(flows)))


@pytest.mark.parametrize(
    ("net", "flows"),
    [
        (D("0"), [(30, D("100.00"))]),
        (D("-1"), [(30, D("100.00"))]),
        (D("100.00"), []),
        (D("100.00"), [(0, D("100.00"))]),
        (D("100.00"), [(30, D("-100.00"))]),
        (D("100.00"), [(-1, D("100.00"))]),
    ],
)
def test_it_refuses_flows_without_a_rate(net: Decimal, flows: list[tuple[int, Decimal]]) -> None:
    with pytest.raises(TceaError):
        tcea(net, flows)


@settings(max_examples=150, deadline=None)
@given(
    st.integers(100_000, 50_000_000),
    st.integers(90, 200),
    st.lists(st.tuples(st.integers(30, 1200), st.integers(1, 100)), min_size=1, max_size=36),
)
def test_it_discounts_the_flows_back_to_the_net_amount(
    net_cents: int, total_pct: int, raw: list[tuple[int, int]]
) -> None:
    # Flows add up to 90–200% of the net amount, due 30 days to 40 months out: the rates a lender could
    # charge (or a deep discount), which is where the solver has to be right.
    net = D(net_cents) / 100
    weights = sum(weight for _, weight in raw)
    flows = [(days, (net * total_pct * weight / 100 / weights).quantize(D("0.01"))) for days, weight in raw]
    total = sum((amount for _, amount in flows), D(0))

    rate = solve_rate(net, flows)

    assert abs(present_value(rate, flows) - net) < D("0.000001")
    assert (rate > 0) == (total > net)
    assert (rate < 0) == (total < net)
