"""portfolio_summary: the figures the PDF, the dashboard and the API share, against hand-computed values."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from asmcredit.money import ZERO, pct_to_rate
from loans.schedule import ScheduleTerms, build_schedule
from reports.selectors import portfolio_summary
from tests.factories import MinerFactory
from tests.reports.conftest import AS_OF, PERIOD_FROM, WORKED_EXAMPLE_DUE_DATES, make_loan

pytestmark = pytest.mark.django_db


def _schedule(amount: str, term: int, disbursed_on: dt.date, first_due_on: dt.date, due_dates=None):
    return build_schedule(
        ScheduleTerms(
            principal=Decimal(amount),
            tea=pct_to_rate(Decimal("40")),
            disbursed_on=disbursed_on,
            first_due_on=first_due_on,
            installments=term,
            due_dates=due_dates,
        )
    )


# Independent figures: the cronogramas of DOMAIN.md §3 and of the fixture's other loans.
ROSA = _schedule("10000.00", 6, dt.date(2025, 1, 15), dt.date(2025, 2, 17), WORKED_EXAMPLE_DUE_DATES)
MARIO = _schedule("20000.00", 12, dt.date(2025, 3, 10), dt.date(2025, 4, 10))
JUANA = _schedule("3000.00", 6, dt.date(2025, 5, 20), dt.date(2025, 6, 20))
PEDRO = _schedule("5000.00", 12, dt.date(2024, 6, 1), dt.date(2024, 7, 1))

ROSA_BALANCE = ROSA.lines[3].closing_balance  # four installments paid
JUANA_BALANCE = JUANA.lines[0].closing_balance  # one installment paid
PEDRO_RATED = Decimal("2000.00")
OUTSTANDING = ROSA_BALANCE + Decimal("20000.00") + JUANA_BALANCE + PEDRO_RATED


def _in_period(schedule) -> list:
    return [line for line in schedule.lines if PERIOD_FROM <= line.due_on <= AS_OF]


def test_it_matches_the_worked_example_balances():
    assert ROSA.installment == Decimal("1838.45")
    assert Decimal("3520.84") == ROSA_BALANCE


def test_it_counts_disbursements_in_the_period_in_soles_only(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert s.loans_disbursed == 3  # Rosa, Mario, Juana; Pedro's are from 2024
    assert s.amount_disbursed == Decimal("33000.00")
    assert s.average_disbursed == Decimal("11000.00")
    assert (s.borrowers_disbursed, s.women_disbursed) == (3, 2)
    assert s.other_currency_loans == 0  # in soles every currency is in the figures (converted)


def test_it_reads_outstanding_and_par_from_ratings_or_the_loans_records(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert s.active_loans == 4  # Pedro's paid-off loan is out
    assert (s.borrowers, s.women_borrowers, s.pallaquera_borrowers) == (4, 2, 1)
    assert s.outstanding == OUTSTANDING == Decimal("28056.93")
    assert (s.rated_loans, s.derived_loans) == (1, 3)
    # Rosa 14 dpd (installment of 16/06 unpaid), Mario 81 dpd (nothing paid since 10/04), the others current.
    assert s.par1_amount == ROSA_BALANCE + Decimal("20000.00")
    assert s.par30_amount == Decimal("20000.00")
    assert s.par90_amount == ZERO
    assert s.par1 == (s.par1_amount / OUTSTANDING).quantize(Decimal("0.0001"))
    assert s.par30 == Decimal("0.7128")
    assert s.par90 == Decimal("0.0000")


def test_it_distributes_the_portfolio_by_sbs_category(portfolio):
    s = portfolio_summary(as_of=AS_OF)
    categories = {row.category: (row.loans, row.outstanding) for row in s.categories}
    assert categories == {
        "normal": (2, JUANA_BALANCE + PEDRO_RATED),
        "cpp": (1, ROSA_BALANCE),
        "deficiente": (0, ZERO),
        "dudoso": (1, Decimal("20000.00")),
        "perdida": (0, ZERO),
    }
    assert s.normal_share == Decimal("0.5000")
    assert s.sector_normal_baseline == Decimal("0.82")


def test_it_takes_a_rating_over_the_loans_records(portfolio):
    # Pedro's 2024 loan has no payments recorded: derived, it would be Pérdida with its full principal.
    s = portfolio_summary(as_of=AS_OF, region="04", product="equipo-limpio")
    pedro = [row for row in s.by_role if row.key == "owner_operator"][0]
    assert pedro.outstanding == ROSA_BALANCE + PEDRO_RATED
    day_after = portfolio_summary(as_of=AS_OF + dt.timedelta(days=1), region="04", product="equipo-limpio")
    assert day_after.rated_loans == 0
    assert day_after.par90_amount == Decimal("5000.00")


def test_it_computes_the_repayment_rate_from_what_fell_due(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    due = sum((line.total for sched in (ROSA, MARIO, JUANA, PEDRO) for line in _in_period(sched)), ZERO)
    collected = sum((line.total for line in ROSA.lines[:4]), ZERO) + JUANA.lines[0].total
    assert s.due_in_period == due
    assert s.collected_in_period == collected
    assert s.repayment_rate == (collected / due).quantize(Decimal("0.0001"))


def test_it_reports_withholdings_remittances_and_delays(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert s.withholdings_count == 4
    assert s.withheld == 4 * ROSA.installment == Decimal("7353.80")
    assert s.remitted_in_period == 3 * ROSA.installment
    # Withheld 17/02, 17/03 and 15/04, all remitted on 20/05: 92, 64 and 35 days.
    assert s.average_remittance_delay_days == Decimal("63.7")
    assert s.unremitted == s.unremitted_overdue == ROSA.installment


def test_it_breaks_results_down_by_gender_role_region_and_buyer(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    gender = {
        row.key: (row.loans_disbursed, row.amount_disbursed, row.active_loans, row.outstanding) for row in s.by_gender
    }
    assert gender == {
        "F": (2, Decimal("13000.00"), 2, ROSA_BALANCE + JUANA_BALANCE),
        "M": (1, Decimal("20000.00"), 2, Decimal("20000.00") + PEDRO_RATED),
    }
    roles = {row.key: row.active_loans for row in s.by_role}
    assert roles == {"owner_operator": 2, "worker": 1, "pallaquera": 1}
    regions = {row.label: row.outstanding for row in s.by_region}
    assert regions == {"Arequipa": ROSA_BALANCE + JUANA_BALANCE + PEDRO_RATED, "Puno": Decimal("20000.00")}
    buyers = {row.label: row.par30 for row in s.by_buyer}
    assert buyers["Planta Sur E.I.R.L."] == Decimal("1.0000")
    assert buyers["Minera Orex S.A.C."] == Decimal("0.0000")
    assert sum((row.outstanding for row in s.by_product), ZERO) == s.outstanding


def test_it_counts_equipment_mercury_and_trainings(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert [(row.kind, row.loans, row.amount, row.mercury_avoided_kg_year) for row in s.equipment] == [
        ("concentrator", 1, Decimal("10000.00"), Decimal("12.50"))
    ]
    assert s.mercury_avoided_kg_year == s.mercury_avoided_kg_year_to_date == Decimal("12.50")
    # Mario's mercury-free training was in December 2024, before the period.
    assert (s.trained_miners, s.trained_women, s.training_hours) == (2, 2, Decimal("7.0"))


def test_it_keeps_only_a_buyers_loans_and_withholdings(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM, buyer=portfolio.orex)
    assert (s.loans_disbursed, s.active_loans, s.outstanding) == (1, 1, ROSA_BALANCE)
    assert s.withheld == Decimal("7353.80")
    assert s.buyer_ruc == portfolio.orex.ruc
    by_ruc = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM, buyer=portfolio.sur.ruc)
    assert (by_ruc.outstanding, by_ruc.withheld, by_ruc.par30) == (Decimal("20000.00"), ZERO, Decimal("1.0000"))


def test_it_gives_monthly_series_over_the_period(portfolio):
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert [row.month for row in s.months] == [dt.date(2025, m, 1) for m in range(1, 7)]
    assert sum((row.amount_disbursed for row in s.months), ZERO) == s.amount_disbursed
    assert sum((row.withheld for row in s.months), ZERO) == s.withheld
    assert s.months[4].remitted == s.remitted_in_period  # all remitted in May


def test_it_serializes_for_the_api(portfolio):
    data = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM).as_dict()
    assert data["outstanding"] == "28056.93"
    assert data["par30"] == "0.7128"
    assert data["categories"][0]["category"] == "normal"
    assert data["as_of"] == "2025-06-30"


def test_it_costs_the_same_queries_for_more_loans(portfolio, product, officer, django_assert_max_num_queries):
    # 34: the figures, the loans beyond the happy path (reprogrammed, refinanced, written off, recovered)
    # and the guarantee funds.
    with django_assert_max_num_queries(34) as few:
        portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    for _ in range(15):
        make_loan(
            miner=MinerFactory(),
            product=product,
            amount=Decimal("4000.00"),
            term=6,
            disbursed_on=dt.date(2025, 2, 1),
            first_due_on=dt.date(2025, 3, 1),
            prepared_by=officer,
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)


def test_it_refuses_a_period_that_starts_after_the_as_of_date(db):
    with pytest.raises(ValueError):
        portfolio_summary(as_of=AS_OF, date_from=AS_OF + dt.timedelta(days=1))
