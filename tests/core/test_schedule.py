"""Cronograma: the worked example of DOMAIN.md §3, grace, prepayment and schedule invariants."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from loans.schedule import (
    GraceKind,
    Schedule,
    ScheduleError,
    ScheduleTerms,
    build_schedule,
    classify_prepayment,
    due_dates,
    fixed_installment,
    period_rate,
    reschedule_after_prepayment,
)
from loans.tcea import present_value, solve_rate

D = Decimal

EXAMPLE_DATES = (
    date(2025, 2, 17),
    date(2025, 3, 17),
    date(2025, 4, 15),
    date(2025, 5, 15),
    date(2025, 6, 16),
    date(2025, 7, 15),
)


def example_terms(**overrides: object) -> ScheduleTerms:
    fields: dict[str, object] = {
        "principal": D("10000.00"),
        "tea": D("0.40"),
        "disbursed_on": date(2025, 1, 15),
        "first_due_on": date(2025, 2, 17),
        "installments": 6,
        "due_dates": EXAMPLE_DATES,
    }
    fields.update(overrides)
    return ScheduleTerms(**fields)  # type: ignore[arg-type]


def test_it_reproduces_the_domain_worked_example() -> None:
    schedule = build_schedule(example_terms())

    assert schedule.installment == D("1838.45")
    assert [line.interest for line in schedule.lines] == [
        D("313.24"),
        D("224.71"),
        D("188.51"),
        D("148.18"),
        D("106.89"),
        D("49.16"),
    ]
    assert [line.principal for line in schedule.lines] == [
        D("1525.21"),
        D("1613.74"),
        D("1649.94"),
        D("1690.27"),
        D("1731.56"),
        D("1789.28"),
    ]
    assert [line.total for line in schedule.lines[:5]] == [D("1838.45")] * 5
    assert schedule.lines[-1].total == D("1838.44")
    assert [line.days for line in schedule.lines] == [33, 28, 29, 30, 32, 29]
    assert schedule.total_principal == D("10000.00")
    assert schedule.total_interest == D("1030.69")
    assert schedule.total_paid == D("11030.69")
    assert schedule.lines[-1].closing_balance == D("0.00")
    assert schedule.tcea == D("40.00")


def test_it_numbers_lines_and_chains_balances() -> None:
    schedule = build_schedule(example_terms())

    assert [line.number for line in schedule.lines] == [1, 2, 3, 4, 5, 6]
    for earlier, later in zip(schedule.lines, schedule.lines[1:], strict=False):
        assert later.opening_balance == earlier.closing_balance


def test_it_generates_fixed_day_due_dates_clamped_to_month_end() -> None:
    assert due_dates(date(2025, 1, 31), 4) == [
        date(2025, 1, 31),
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 4, 30),
    ]
    assert due_dates(date(2024, 1, 30), 3) == [date(2024, 1, 30), date(2024, 2, 29), date(2024, 3, 30)]
    assert due_dates(date(2025, 11, 15), 3) == [date(2025, 11, 15), date(2025, 12, 15), date(2026, 1, 15)]
    assert due_dates(date(2025, 1, 15), 0) == []


def test_it_uses_generated_dates_when_none_are_given() -> None:
    terms = example_terms(due_dates=None, first_due_on=date(2025, 2, 15), installments=3)

    schedule = build_schedule(terms)

    assert [line.due_on for line in schedule.lines] == [date(2025, 2, 15), date(2025, 3, 15), date(2025, 4, 15)]
    assert [line.days for line in schedule.lines] == [31, 28, 31]


def test_it_computes_period_rates_on_a_360_day_year() -> None:
    assert abs(period_rate(D("0.40"), 360) - D("0.40")) < D("1e-30")
    assert abs(period_rate(D("0.44"), 180) - D("0.2")) < D("1e-30")
    assert period_rate(D("0"), 31) == 0


def test_it_splits_a_zero_rate_loan_evenly_with_the_remainder_last() -> None:
    terms = example_terms(principal=D("1000.00"), tea=D("0"), installments=3, due_dates=EXAMPLE_DATES[:3])

    schedule = build_schedule(terms)

    assert schedule.installment == D("333.33")
    assert [line.principal for line in schedule.lines] == [D("333.33"), D("333.33"), D("333.34")]
    assert schedule.total_interest == 0
    assert schedule.tcea == D("0.00")


def test_it_charges_interest_only_during_partial_grace() -> None:
    terms = ScheduleTerms(
        principal=D("10000.00"),
        tea=D("0.40"),
        disbursed_on=date(2025, 1, 15),
        first_due_on=date(2025, 2, 15),
        installments=6,
        grace_periods=2,
        grace_kind=GraceKind.PARTIAL,
    )

    schedule = build_schedule(terms)

    # Hand check: 10,000 × (1.4^(31/360) − 1) = 293.978, × (1.4^(28/360) − 1) = 265.155; the cuota is
    # 10,000 / Σ 1.4^(−DA/360) with DA = 31, 61, 92, 122 counted from the last grace date, 2025-03-15.
    grace = schedule.lines[:2]
    assert [line.interest for line in grace] == [D("293.98"), D("265.16")]
    assert [line.principal for line in grace] == [D("0.00"), D("0.00")]
    assert [line.total for line in grace] == [D("293.98"), D("265.16")]
    assert [line.closing_balance for line in grace] == [D("10000.00"), D("10000.00")]
    assert schedule.installment == D("2683.94")
    assert schedule.lines[2].interest == D("293.98")
    assert schedule.lines[2].principal == D("2389.96")
    assert schedule.lines[-1].total == D("2683.95")
    assert schedule.total_principal == D("10000.00")
    assert schedule.tcea == D("40.00")


def test_it_capitalizes_interest_during_total_grace() -> None:
    terms = ScheduleTerms(
        principal=D("10000.00"),
        tea=D("0.40"),
        disbursed_on=date(2025, 1, 15),
        first_due_on=date(2025, 2, 15),
        installments=6,
        grace_periods=2,
        grace_kind=GraceKind.TOTAL,
        fee_per_installment=D("5.00"),
    )

    schedule = build_schedule(terms)

    # Hand check: 10,000 + 293.98 = 10,293.98; + 10,293.98 × (1.4^(28/360) − 1) = 272.95 → 10,566.93;
    # the cuota is 10,566.93 / Σ 1.4^(−DA/360), DA = 31, 61, 92, 122 → 2,836.10.
    grace = schedule.lines[:2]
    assert [line.capitalized for line in grace] == [D("293.98"), D("272.95")]
    assert [line.interest for line in grace] == [D("0.00"), D("0.00")]
    assert [line.total for line in grace] == [D("5.00"), D("5.00")]
    assert [line.closing_balance for line in grace] == [D("10293.98"), D("10566.93")]
    assert schedule.installment == D("2836.10")
    assert schedule.lines[2].opening_balance == D("10566.93")
    assert schedule.total_principal == D("10566.93")
    assert schedule.total_capitalized == D("566.93")
    assert schedule.lines[-1].closing_balance == D("0.00")


def test_it_adds_insurance_and_fees_to_each_installment() -> None:
    schedule = build_schedule(example_terms(insurance_monthly_rate=D("0.0007"), fee_per_installment=D("5.00")))

    first = schedule.lines[0]
    # 0.0007 × 10,000 × 33 / 30 = 7.70
    assert first.insurance == D("7.70")
    assert first.fees == D("5.00")
    assert first.total == D("1838.45") + D("7.70") + D("5.00")
    assert schedule.total_fees == D("30.00")
    assert schedule.total_paid == (
        schedule.total_principal + schedule.total_interest + schedule.total_insurance + schedule.total_fees
    )
    assert schedule.tcea > D("40.00")


def test_it_raises_the_tcea_for_upfront_fees() -> None:
    schedule = build_schedule(example_terms(upfront_fees=D("200.00")))

    assert schedule.installment == D("1838.45")
    assert schedule.tcea > D("40.00")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"principal": D("0")}, "principal"),
        ({"principal": D("100.005")}, "principal"),
        ({"tea": D("-0.01")}, "tea"),
        ({"installments": 0, "due_dates": None}, "installments"),
        ({"grace_periods": 6, "grace_kind": GraceKind.PARTIAL}, "grace_periods"),
        ({"grace_periods": -1}, "grace_periods"),
        ({"grace_periods": 1}, "grace_kind"),
        ({"first_due_on": date(2025, 1, 15), "due_dates": None}, "first_due_on"),
        ({"due_dates": EXAMPLE_DATES[:5]}, "due_dates"),
        ({"due_dates": (EXAMPLE_DATES[0], EXAMPLE_DATES[0], *EXAMPLE_DATES[2:])}, "due_dates"),
        ({"first_due_on": date(2025, 2, 16)}, "due_dates"),
        ({"fee_per_installment": D("-1")}, "fee_per_installment"),
        ({"insurance_monthly_rate": D("-0.001")}, "insurance_monthly_rate"),
        ({"upfront_fees": D("10000.00")}, "upfront_fees"),
    ],
)
def test_it_refuses_impossible_terms_naming_the_field(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(ScheduleError) as excinfo:
        build_schedule(example_terms(**overrides))

    assert excinfo.value.field == field
    assert isinstance(excinfo.value, ValueError)


# --- prepayment -------------------------------------------------------------------------------------


def test_it_shortens_the_term_keeping_the_installment_after_a_pago_anticipado() -> None:
    schedule = build_schedule(example_terms())
    # After paying installment 2 on 2025-03-17 the client pays 3,000 more the same day.
    balance = schedule.lines[1].closing_balance - D("3000.00")

    lines = reschedule_after_prepayment(
        balance=balance,
        tea=D("0.40"),
        paid_on=date(2025, 3, 17),
        remaining_due_dates=EXAMPLE_DATES[2:],
        current_installment=schedule.installment,
        mode="reduce_term",
        first_number=3,
    )

    assert len(lines) == 3
    assert [line.number for line in lines] == [3, 4, 5]
    assert [line.total for line in lines[:-1]] == [D("1838.45")] * 2
    assert lines[-1].total <= D("1838.45")
    assert sum((line.principal for line in lines), D(0)) == balance
    assert lines[-1].closing_balance == 0


def test_it_lowers_the_installment_keeping_the_dates_when_asked() -> None:
    schedule = build_schedule(example_terms())
    balance = schedule.lines[1].closing_balance - D("3000.00")

    lines = reschedule_after_prepayment(
        balance=balance,
        tea=D("0.40"),
        paid_on=date(2025, 3, 17),
        remaining_due_dates=EXAMPLE_DATES[2:],
        current_installment=schedule.installment,
        mode="reduce_installment",
    )

    new_installment = fixed_installment(balance, D("0.40"), date(2025, 3, 17), EXAMPLE_DATES[2:])
    assert [line.due_on for line in lines] == list(EXAMPLE_DATES[2:])
    assert new_installment < schedule.installment
    assert [line.principal + line.interest for line in lines[:-1]] == [new_installment] * 3
    assert sum((line.principal for line in lines), D(0)) == balance


def test_it_returns_no_lines_when_a_prepayment_clears_the_loan() -> None:
    lines = reschedule_after_prepayment(
        balance=D("0.00"),
        tea=D("0.40"),
        paid_on=date(2025, 3, 17),
        remaining_due_dates=EXAMPLE_DATES[2:],
        current_installment=D("1838.45"),
    )

    assert lines == ()


def test_it_refuses_a_remaining_date_before_the_payment() -> None:
    with pytest.raises(ScheduleError) as excinfo:
        reschedule_after_prepayment(
            balance=D("100.00"),
            tea=D("0.40"),
            paid_on=date(2025, 4, 15),
            remaining_due_dates=EXAMPLE_DATES[2:],
            current_installment=D("1838.45"),
        )

    assert excinfo.value.field == "remaining_due_dates"


@pytest.mark.parametrize(
    ("amount", "kind"),
    [
        (D("1838.45"), "adelanto"),
        (D("3676.90"), "adelanto"),
        (D("3676.91"), "anticipado"),
    ],
)
def test_it_classifies_prepayments_by_two_installments_worth(amount: Decimal, kind: str) -> None:
    assert classify_prepayment(amount, [D("1838.45"), D("1838.45"), D("1838.45")]) == kind


def test_it_uses_what_is_left_when_fewer_than_two_installments_remain() -> None:
    assert classify_prepayment(D("1838.45"), [D("1838.44")]) == "anticipado"


# --- properties -------------------------------------------------------------------------------------


@st.composite
def schedule_terms(draw: st.DrawFn, *, costs: str = "any", min_principal: int = 1_000) -> ScheduleTerms:
    """Realistic terms: S/ 1,000–500,000, TEA 0–100%, 1–36 monthly installments.

    ``costs`` is "none" (no insurance or fees), "some" (at least one cost large enough to move the TCEA
    well past rounding noise) or "any".
    """
    principal = D(draw(st.integers(min_principal * 100, 50_000_000))) / 100
    tea = D(draw(st.integers(0, 10_000))) / 10_000
    disbursed_on = draw(st.dates(date(2024, 1, 1), date(2030, 12, 31)))
    first_due_on = disbursed_on + timedelta(days=draw(st.integers(15, 45)))
    installments = draw(st.integers(1, 36))
    grace_periods = draw(st.integers(0, min(6, installments - 1)))
    grace_kind = draw(st.sampled_from([GraceKind.PARTIAL, GraceKind.TOTAL])) if grace_periods else GraceKind.NONE
    insurance = fee = upfront = D(0)
    if costs != "none":
        chosen = draw(st.sets(st.sampled_from(["insurance", "fee", "upfront"]), min_size=costs == "some"))
        if "insurance" in chosen:
            insurance = D(draw(st.integers(3, 20))) / 10_000
        if "fee" in chosen:
            fee = (principal * D(draw(st.integers(5, 50))) / 10_000).quantize(D("0.01"))
        if "upfront" in chosen:
            upfront = (principal * D(draw(st.integers(50, 300))) / 10_000).quantize(D("0.01"))
    return ScheduleTerms(
        principal=principal,
        tea=tea,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        installments=installments,
        grace_periods=grace_periods,
        grace_kind=grace_kind,
        insurance_monthly_rate=insurance,
        fee_per_installment=fee,
        upfront_fees=upfront,
    )


@settings(max_examples=150, deadline=None)
@given(schedule_terms())
def test_it_repays_exactly_the_amount_lent(terms: ScheduleTerms) -> None:
    schedule = build_schedule(terms)

    assert schedule.total_principal == terms.principal + schedule.total_capitalized
    assert len(schedule.lines) == terms.installments
    assert schedule.lines[-1].closing_balance == 0


@settings(max_examples=150, deadline=None)
@given(schedule_terms())
def test_it_never_lets_a_balance_go_negative(terms: ScheduleTerms) -> None:
    schedule: Schedule = build_schedule(terms)

    for line in schedule.lines:
        assert line.opening_balance >= 0
        assert line.closing_balance >= 0
        assert line.closing_balance == line.opening_balance - line.principal + line.capitalized
        assert line.total == line.principal + line.interest + line.insurance + line.fees
        assert line.days > 0


@settings(max_examples=100, deadline=None)
@given(schedule_terms(costs="some"))
def test_it_shows_a_tcea_above_the_tea_when_the_loan_has_costs(terms: ScheduleTerms) -> None:
    schedule = build_schedule(terms)

    assert schedule.tcea > terms.tea * 100


@settings(max_examples=100, deadline=None)
@given(schedule_terms(costs="none", min_principal=10_000))
def test_it_shows_a_tcea_equal_to_the_tea_without_costs(terms: ScheduleTerms) -> None:
    schedule = build_schedule(terms)

    assert abs(schedule.tcea - terms.tea * 100) <= D("0.01")


@settings(max_examples=100, deadline=None)
@given(schedule_terms())
def test_it_discounts_its_own_installments_back_to_the_net_amount(terms: ScheduleTerms) -> None:
    schedule = build_schedule(terms)
    net = terms.net_received

    rate = solve_rate(net, schedule.flows)
    assert abs(present_value(rate, schedule.flows) - net) <= D("0.01") * len(schedule.lines)
    # The 2-decimal TCEA is the true rate rounded half-up, so the true rate lies within ±0.005 points
    # of it and the net amount lies between the values discounted at either end of that interval.
    shown = schedule.tcea / 100
    half_point = D("0.00005")
    assert present_value(shown - half_point, schedule.flows) >= net >= present_value(shown + half_point, schedule.flows)


@settings(max_examples=100, deadline=None)
@given(
    schedule_terms(costs="none", min_principal=5_000),
    st.integers(0, 100),
    st.integers(1, 60),
    st.sampled_from(["reduce_term", "reduce_installment"]),
)
def test_it_reschedules_a_prepayment_to_clear_the_new_balance(
    terms: ScheduleTerms, paid_after: int, prepaid_pct: int, mode: str
) -> None:
    schedule = build_schedule(terms)
    lines = schedule.lines
    paid = paid_after * (len(lines) - 1) // 100
    assume(paid > terms.grace_periods)
    balance = lines[paid - 1].closing_balance
    balance -= (balance * prepaid_pct / 100).quantize(D("0.01"))
    remaining = [line.due_on for line in lines[paid:]]

    new_lines = reschedule_after_prepayment(
        balance=balance,
        tea=terms.tea,
        paid_on=lines[paid - 1].due_on,
        remaining_due_dates=remaining,
        current_installment=schedule.installment,
        mode=mode,  # type: ignore[arg-type]
        first_number=paid + 1,
    )

    assert sum((line.principal for line in new_lines), D(0)) == balance
    assert all(line.closing_balance >= 0 for line in new_lines)
    if balance:
        assert new_lines[-1].closing_balance == 0
        assert new_lines[0].number == paid + 1
    assert len(new_lines) <= len(remaining)
    if mode == "reduce_term":
        assert all(line.principal + line.interest == schedule.installment for line in new_lines[:-1])
        if new_lines:
            assert new_lines[-1].principal + new_lines[-1].interest <= schedule.installment
    else:
        assert len(new_lines) == (len(remaining) if balance else 0)
