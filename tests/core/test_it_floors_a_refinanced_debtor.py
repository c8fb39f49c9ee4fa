"""DOMAIN.md §7, refinanciación: a refinanced debtor rated Normal becomes CPP, a worse category is kept, and
the floor improves one category only after two quarters of punctual payment; a late installment restarts
the window (``installments.risk.refinance_category``, ``refinance_floor``)."""

from __future__ import annotations

import datetime as dt

from installments.risk import Category, refinance_category, refinance_floor
from loans.schedule import due_dates

REFINANCED = dt.date(2025, 1, 10)
DUES = due_dates(dt.date(2025, 2, 10), 24)  # monthly on the 10th


def _floor(paid: dict[dt.date, dt.date | None], as_of: dt.date, category: Category = Category.CPP, grace: int = 0):  # type: ignore[no-untyped-def]
    lines = [(due, paid.get(due, due if due <= as_of else None)) for due in DUES]
    return refinance_floor(
        category=category, refinanced_on=REFINANCED, installments=lines, as_of=as_of, months=6, grace_days=grace
    )


def test_normal_becomes_cpp_and_worse_is_kept() -> None:
    assert refinance_category([Category.NORMAL]) is Category.CPP
    assert refinance_category([]) is Category.CPP
    assert refinance_category([Category.NORMAL, Category.DUDOSO]) is Category.DUDOSO


def test_punctual_payment_improves_one_category_after_two_quarters_not_before() -> None:
    assert _floor({}, dt.date(2025, 7, 9)).category is Category.CPP
    met = _floor({}, dt.date(2025, 7, 10))
    assert met.category is Category.NORMAL
    assert met.punctual_since == dt.date(2025, 7, 10)


def test_each_further_step_needs_two_more_quarters() -> None:
    assert _floor({}, dt.date(2025, 7, 10), Category.DUDOSO).category is Category.DEFICIENTE
    assert _floor({}, dt.date(2026, 1, 9), Category.DUDOSO).category is Category.DEFICIENTE
    assert _floor({}, dt.date(2026, 1, 10), Category.DUDOSO).category is Category.CPP


def test_a_late_payment_restarts_the_window_on_the_day_it_was_paid() -> None:
    late = {dt.date(2025, 4, 10): dt.date(2025, 4, 15)}
    restarted = _floor(late, dt.date(2025, 7, 10))
    assert restarted.category is Category.CPP
    assert restarted.punctual_since == dt.date(2025, 4, 15)
    assert _floor(late, dt.date(2025, 10, 14)).category is Category.CPP
    assert _floor(late, dt.date(2025, 10, 15)).category is Category.NORMAL


def test_an_unpaid_installment_keeps_the_window_from_opening() -> None:
    unpaid = {dt.date(2025, 4, 10): None}
    still = _floor(unpaid, dt.date(2025, 9, 1))
    assert still.category is Category.CPP
    assert still.punctual_since == dt.date(2025, 9, 1)


def test_the_grace_days_are_a_setting() -> None:
    three_days = {dt.date(2025, 4, 10): dt.date(2025, 4, 13)}
    assert _floor(three_days, dt.date(2025, 7, 10)).category is Category.CPP
    assert _floor(three_days, dt.date(2025, 7, 10), grace=3).category is Category.NORMAL
