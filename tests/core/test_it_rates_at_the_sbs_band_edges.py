"""One SBS band table (``loans.sbs``, DOMAIN.md §6) read alike by the pure rating, underwriting, the
nightly batch's SQL and the portfolio report's SQL, at every band edge."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest
from django.db import connection

from installments import batch, risk
from installments.models import LoanRating
from installments.services import portfolio_rate
from loans import sbs, underwriting
from reports import selectors
from reports.selectors import portfolio_summary
from tests.factories import MinerFactory
from tests.installments.conftest import disburse, make_product

AS_OF = dt.date(2025, 9, 30)
EDGES = (0, 8, 9, 30, 31, 60, 61, 120, 121, 400)


def test_the_bands_cover_every_day_past_due_once_in_order_of_severity() -> None:
    assert sbs.DPD_BANDS[0].min_dpd == 0
    for earlier, later in zip(sbs.DPD_BANDS, sbs.DPD_BANDS[1:], strict=False):
        assert earlier.max_dpd is not None and later.min_dpd == earlier.max_dpd + 1
        assert later.category.severity == earlier.category.severity + 1
    assert sbs.worst_band().max_dpd is None
    assert [band.category for band in sbs.DPD_BANDS] == list(sbs.Category)
    assert set(sbs.PROVISION_RATES) == set(sbs.Category)


def test_servicing_and_underwriting_read_the_same_table() -> None:
    assert risk.Category is sbs.Category
    assert risk.category_for_dpd is sbs.category_for_dpd
    assert risk.provision_rate is sbs.provision_rate
    assert underwriting.CPP_MIN_DPD == sbs.min_dpd(sbs.Category.CPP) == 9
    assert [risk.category_for_dpd(dpd) for dpd in EDGES] == [
        "normal",
        "normal",
        "cpp",
        "cpp",
        "deficiente",
        "deficiente",
        "dudoso",
        "dudoso",
        "perdida",
        "perdida",
    ]


def _sql_case_over_days(case_sql: str) -> list[tuple[int, Any]]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT d, {case_sql} FROM generate_series(0, 400) AS d ORDER BY d")  # noqa: S608
        return list(cursor.fetchall())


@pytest.mark.django_db
def test_the_batch_and_report_sql_rate_every_day_past_due_as_the_pure_rule() -> None:
    expected = {dpd: risk.category_for_dpd(dpd) for dpd in range(401)}
    assert {dpd: list(sbs.Category)[severity] for dpd, severity in _sql_case_over_days(batch._severity_case("d"))} == (
        expected
    )
    assert dict(_sql_case_over_days(selectors._category_case("d"))) == {d: c.value for d, c in expected.items()}


@pytest.mark.django_db
def test_the_nightly_rating_and_the_report_agree_with_the_rule_at_each_edge(officer) -> None:  # type: ignore[no-untyped-def]
    product = make_product()
    loans = {}
    for dpd in EDGES[1:-1]:
        first_due = AS_OF - dt.timedelta(days=dpd)
        loans[dpd] = disburse(
            miner=MinerFactory.create(),
            product=product,
            officer=officer,
            disbursed_on=first_due - dt.timedelta(days=30),
            first_due_on=first_due,
            term=12,
        )
    expected = Counter(risk.category_for_dpd(dpd).value for dpd in loans)

    # Before the nightly run the report derives each loan's category from its days past due in SQL.
    derived = portfolio_summary(as_of=AS_OF)
    assert {row.category: row.loans for row in derived.categories if row.loans} == expected

    portfolio_rate(as_of=AS_OF)
    for dpd, loan in loans.items():
        rating = LoanRating.objects.get(loan=loan, as_of=AS_OF)
        assert (rating.days_past_due, rating.category) == (dpd, risk.category_for_dpd(dpd))
        assert rating.provision == (
            rating.outstanding_principal * risk.provision_rate(rating.category, preferred_guarantee=False)
        ).quantize(rating.provision)
    rated = portfolio_summary(as_of=AS_OF)
    assert {row.category: row.loans for row in rated.categories if row.loans} == expected
