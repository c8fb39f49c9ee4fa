"""SBS rating, provisions, PAR, guarantee fund and early warnings (DOMAIN.md §6)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from installments.risk import (
    Category,
    aligned_category,
    category_for_dpd,
    early_warnings,
    guarantee_claim,
    guarantee_claimable,
    guarantee_coverage,
    median_interval_days,
    par,
    provision,
    provision_rate,
    worst,
)

D = Decimal


@pytest.mark.parametrize(
    ("dpd", "category"),
    [
        (0, Category.NORMAL),
        (8, Category.NORMAL),
        (9, Category.CPP),
        (30, Category.CPP),
        (31, Category.DEFICIENTE),
        (60, Category.DEFICIENTE),
        (61, Category.DUDOSO),
        (120, Category.DUDOSO),
        (121, Category.PERDIDA),
        (2000, Category.PERDIDA),
    ],
)
def test_it_rates_by_days_past_due_at_the_sbs_boundaries(dpd: int, category: Category) -> None:
    assert category_for_dpd(dpd) is category


def test_it_refuses_negative_days_past_due() -> None:
    with pytest.raises(ValueError):
        category_for_dpd(-1)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 1000), st.integers(0, 1000))
def test_it_never_rates_a_later_loan_better(dpd: int, extra: int) -> None:
    assert category_for_dpd(dpd + extra).severity >= category_for_dpd(dpd).severity


def test_it_orders_categories_by_severity() -> None:
    assert [c.severity for c in Category] == [0, 1, 2, 3, 4]
    assert worst([Category.CPP, Category.DUDOSO, Category.NORMAL]) is Category.DUDOSO


@pytest.mark.parametrize(
    ("category", "without", "with_guarantee"),
    [
        (Category.NORMAL, D("0.01"), D("0.01")),
        (Category.CPP, D("0.05"), D("0.025")),
        (Category.DEFICIENTE, D("0.25"), D("0.125")),
        (Category.DUDOSO, D("0.60"), D("0.30")),
        (Category.PERDIDA, D("1.00"), D("0.60")),
    ],
)
def test_it_uses_the_sbs_provision_rates(category: Category, without: Decimal, with_guarantee: Decimal) -> None:
    assert provision_rate(category, preferred_guarantee=False) == without
    assert provision_rate(category, preferred_guarantee=True) == with_guarantee


def test_it_provisions_the_uncovered_balance_at_the_full_rate() -> None:
    assert provision(D("10000.00"), Category.CPP) == D("500.00")
    # 2,000 uncovered × 5% + 8,000 covered × 2.5%
    assert provision(D("10000.00"), Category.CPP, covered_share=D("0.80")) == D("300.00")
    assert provision(D("10000.00"), Category.PERDIDA, covered_share=D("1")) == D("6000.00")
    assert provision(D("1234.57"), Category.NORMAL) == D("12.35")


def test_it_refuses_a_covered_share_above_one() -> None:
    with pytest.raises(ValueError):
        provision(D("100.00"), Category.CPP, covered_share=D("1.01"))


def test_it_aligns_a_debtor_to_its_worst_loan() -> None:
    assert aligned_category([(Category.NORMAL, D("5000.00")), (Category.DUDOSO, D("3000.00"))]) is Category.DUDOSO


def test_it_ignores_a_worse_loan_under_one_hundred_soles() -> None:
    # Debt 5,099.99: 1% is 51, so S/ 100 is the threshold.
    assert aligned_category([(Category.NORMAL, D("5000.00")), (Category.PERDIDA, D("99.99"))]) is Category.NORMAL
    assert aligned_category([(Category.NORMAL, D("5000.00")), (Category.PERDIDA, D("100.00"))]) is Category.PERDIDA


def test_it_ignores_a_worse_loan_under_one_percent_of_a_larger_debt() -> None:
    # Debt 50,400 → threshold 504; debt 50,600 → threshold 506.
    assert aligned_category([(Category.CPP, D("50000.00")), (Category.DUDOSO, D("400.00"))]) is Category.CPP
    assert aligned_category([(Category.CPP, D("50000.00")), (Category.DUDOSO, D("600.00"))]) is Category.DUDOSO


def test_it_counts_set_aside_loans_when_trying_the_next_category() -> None:
    # Pérdida (60) alone is under S/ 100, but Dudoso and worse add up to 120.
    loans = [(Category.NORMAL, D("9900.00")), (Category.PERDIDA, D("60.00")), (Category.DUDOSO, D("60.00"))]

    assert aligned_category(loans) is Category.DUDOSO


def test_it_rates_a_single_loan_debtor_by_that_loan() -> None:
    assert aligned_category([(Category.DEFICIENTE, D("10.00"))]) is Category.DEFICIENTE


def test_it_refuses_to_align_a_debtor_without_loans() -> None:
    with pytest.raises(ValueError):
        aligned_category([])


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(list(Category)), st.integers(0, 10_000_000).map(lambda c: D(c) / 100)),
        min_size=1,
        max_size=6,
    )
)
def test_it_aligns_between_the_best_and_worst_loans(loans: list[tuple[Category, Decimal]]) -> None:
    aligned = aligned_category(loans)

    severities = [category.severity for category, _ in loans]
    assert min(severities) <= aligned.severity <= max(severities)
    assert aligned in {category for category, _ in loans}


def test_it_measures_portfolio_at_risk_by_balance() -> None:
    portfolio = [(0, D("6000.00")), (30, D("2000.00")), (31, D("1500.00")), (95, D("500.00"))]

    assert par(portfolio, 30) == D("0.2000")
    assert par(portfolio, 90) == D("0.0500")
    assert par(portfolio, 0) == D("0.4000")
    assert par([], 30) == D("0")


def test_it_covers_80_percent_up_to_36_months_and_85_beyond() -> None:
    assert guarantee_coverage(36) == D("0.80")
    assert guarantee_coverage(37) == D("0.85")
    assert guarantee_claim(D("12345.67"), D("0.80")) == D("9876.54")
    assert not guarantee_claimable(89)
    assert guarantee_claimable(90)


def test_it_takes_the_median_gap_between_delivery_days() -> None:
    start = date(2025, 1, 1)

    assert median_interval_days([start + timedelta(days=d) for d in (0, 7, 14, 28)]) == D("7")
    assert median_interval_days([start + timedelta(days=d) for d in (0, 7, 17)]) == D("8.5")
    assert median_interval_days([start, start, start + timedelta(days=10)]) == D("10")
    assert median_interval_days([start, start]) is None
    assert median_interval_days([]) is None


WEEKLY = [date(2025, 5, 26) + timedelta(weeks=k) for k in range(8)]  # last delivery 2025-07-14


def quiet(**overrides: object) -> list[str]:
    fields: dict[str, object] = {
        "as_of": date(2025, 7, 20),
        "settlement_dates": WEEKLY,
        "volume_last_90": D("80"),
        "volume_prior_90": D("100"),
        "recent_withholdings": [D("900.00"), D("950.00"), D("1000.00")],
        "installment_amount": D("900.00"),
    }
    fields.update(overrides)
    return early_warnings(**fields)  # type: ignore[arg-type]


def test_it_raises_no_warning_for_a_steady_supplier() -> None:
    assert quiet() == []


def test_it_warns_when_deliveries_stop() -> None:
    # Weekly deliveries: the limit is max(30, 3 × 7) = 30 days after 2025-07-14.
    assert quiet(as_of=date(2025, 8, 13)) == []
    assert quiet(as_of=date(2025, 8, 14)) == ["no_deliveries"]
    assert quiet(settlement_dates=[]) == ["no_deliveries"]


def test_it_waits_three_usual_intervals_for_an_infrequent_supplier() -> None:
    monthly = [date(2025, 1, 1) + timedelta(days=20 * k) for k in range(4)]  # last 2025-03-02

    assert quiet(as_of=date(2025, 4, 1), settlement_dates=monthly) == []
    assert quiet(as_of=date(2025, 5, 1), settlement_dates=monthly) == []
    assert quiet(as_of=date(2025, 5, 2), settlement_dates=monthly) == ["no_deliveries"]


def test_it_warns_when_volume_halves() -> None:
    assert quiet(volume_last_90=D("49.99")) == ["volume_drop"]
    assert quiet(volume_last_90=D("50")) == []
    assert quiet(volume_last_90=D("0"), volume_prior_90=D("0")) == []


def test_it_warns_when_withholdings_no_longer_cover_the_installment() -> None:
    assert quiet(recent_withholdings=[D("2000.00"), D("800.00"), D("900.00"), D("950.00")]) == ["withholding_short"]
    assert quiet(recent_withholdings=[D("900.00")]) == []
    assert quiet(recent_withholdings=[]) == []
