"""SBS rating (DOMAIN.md §6): categories and provisions at each boundary, alignment, PAR, warnings."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from installments.models import LoanRating, PortfolioRating
from installments.services import moratory_accrue, nightly_servicing, portfolio_rate, settlement_post
from loans.collateral import collateral_add
from tests.factories import MinerFactory
from tests.installments.conftest import DOMAIN_LOT, TEN_THOUSAND, disburse, make_product

D = Decimal
AS_OF = dt.date(2025, 9, 30)


def loan_late_by(days: int, *, officer, product, amount=TEN_THOUSAND, miner=None):  # type: ignore[no-untyped-def]
    """A loan whose first installment fell due ``days`` before AS_OF and was never paid."""
    first_due = AS_OF - dt.timedelta(days=days)
    return disburse(
        miner=miner or MinerFactory.create(),
        product=product,
        officer=officer,
        amount=amount,
        disbursed_on=first_due - dt.timedelta(days=30),
        first_due_on=first_due,
        term=12,
    )


@pytest.mark.parametrize(
    ("dpd", "category", "provision", "guaranteed_provision"),
    [
        (8, "normal", "100.00", "100.00"),
        (9, "cpp", "500.00", "300.00"),
        (30, "cpp", "500.00", "300.00"),
        (31, "deficiente", "2500.00", "1500.00"),
        (60, "deficiente", "2500.00", "1500.00"),
        (61, "dudoso", "6000.00", "3600.00"),
        (120, "dudoso", "6000.00", "3600.00"),
        (121, "perdida", "10000.00", "6800.00"),
    ],
)
def test_it_rates_and_provisions_at_each_days_past_due_boundary(  # type: ignore[no-untyped-def]
    officer, product, dpd, category, provision, guaranteed_provision
):
    plain = loan_late_by(dpd, officer=officer, product=product)
    covered = loan_late_by(dpd, officer=officer, product=product)
    # A registered pledge (garantía mobiliaria) appraised at S/ 8,000 covers 80% of the S/ 10,000 owed.
    collateral_add(
        loan=covered,
        actor=officer,
        description="Molino de bolas",
        appraised_value=D("8000.00"),
        appraised_on=dt.date(2025, 1, 10),
        registry_entry=f"RMC-{dpd}",
        registered_on=dt.date(2025, 1, 20),
    )

    portfolio_rate(as_of=AS_OF)

    rating = LoanRating.objects.get(loan=plain, as_of=AS_OF)
    assert (rating.days_past_due, rating.category, rating.aligned_category) == (dpd, category, category)
    assert rating.outstanding_principal == D("10000.00")
    assert rating.provision == D(provision)
    # 80% covered by registered collateral at the preferred-guarantee rate, 20% at the normal one.
    guaranteed = LoanRating.objects.get(loan=covered, as_of=AS_OF)
    assert (guaranteed.covered_share, guaranteed.provision) == (D("0.8000"), D(guaranteed_provision))


def test_it_aligns_a_miner_to_its_worst_loan_unless_that_loan_is_immaterial(officer, product):
    big_product = make_product(code="grande", max_amount=D("900000"))
    small_debtor, large_debtor = MinerFactory(), MinerFactory()
    # S/ 1,000 forty days late next to S/ 200,000 current: under 1% of the debt, so it does not drag.
    immaterial = loan_late_by(40, officer=officer, product=product, amount=D("1000.00"), miner=small_debtor)
    healthy = loan_late_by(0, officer=officer, product=big_product, amount=D("200000.00"), miner=small_debtor)
    # The same late loan next to S/ 50,000: above max(S/ 100, 1%), so the debtor is Deficiente.
    material = loan_late_by(40, officer=officer, product=product, amount=D("1000.00"), miner=large_debtor)
    dragged = loan_late_by(0, officer=officer, product=big_product, amount=D("50000.00"), miner=large_debtor)

    portfolio_rate(as_of=AS_OF)

    def rated(loan):  # type: ignore[no-untyped-def]
        r = LoanRating.objects.get(loan=loan, as_of=AS_OF)
        return r.category, r.aligned_category, r.provision

    assert rated(immaterial) == ("deficiente", "normal", D("10.00"))
    assert rated(healthy) == ("normal", "normal", D("2000.00"))
    assert rated(material) == ("deficiente", "deficiente", D("250.00"))
    assert rated(dragged) == ("normal", "deficiente", D("12500.00"))


def test_it_stores_portfolio_at_risk_by_balance_and_changes_nothing_when_rerun(officer, product):
    for dpd in (0, 5, 31, 95):
        loan_late_by(dpd, officer=officer, product=product)

    first = portfolio_rate(as_of=AS_OF)
    second = portfolio_rate(as_of=AS_OF)

    portfolio = PortfolioRating.objects.get(as_of=AS_OF)
    assert (portfolio.active_loans, portfolio.outstanding_principal) == (4, D("40000.00"))
    assert (portfolio.par1, portfolio.par30, portfolio.par90) == (D("0.7500"), D("0.5000"), D("0.2500"))
    assert portfolio.generic_provision == D("200.00")
    assert portfolio.specific_provision == D("2500.00") + D("6000.00")
    assert portfolio.by_category["normal"]["loans"] == 2
    assert first.rows_touched == 5 and first.status == "succeeded"
    assert second.rows_touched == 0


def test_it_warns_when_deliveries_stop_volumes_fall_and_withholdings_fall_short(officer, orex, product):
    quiet = MinerFactory(first_names="Hilda")
    loan = disburse(miner=quiet, product=product, officer=officer, buyer=orex)
    steady = MinerFactory(first_names="Pedro")
    steady_loan = disburse(miner=steady, product=product, officer=officer, buyer=orex, term=12)
    day = dt.date(2025, 1, 20)
    n = 0
    while day <= AS_OF:
        n += 1
        # Hilda delivers small lots weekly until April, then stops; Pedro keeps delivering full lots.
        if day <= dt.date(2025, 4, 20):
            settlement_post(
                buyer=orex,
                miner=quiet,
                actor=officer,
                lot_code=f"H-{n}",
                settled_on=day,
                currency="PEN",
                exchange_rate=D("3.75"),
                **{**DOMAIN_LOT, "wet_tonnes": D("0.3")},
            )
        settlement_post(
            buyer=orex,
            miner=steady,
            actor=officer,
            lot_code=f"P-{n}",
            settled_on=day,
            currency="PEN",
            exchange_rate=D("3.75"),
            **DOMAIN_LOT,
        )
        day += dt.timedelta(days=7)

    nightly_servicing(as_of=dt.date(2025, 7, 1))

    warned = LoanRating.objects.get(loan=loan, as_of=dt.date(2025, 7, 1))
    assert warned.warnings == ["no_deliveries", "volume_drop", "withholding_short"]
    assert LoanRating.objects.get(loan=steady_loan, as_of=dt.date(2025, 7, 1)).warnings == []


def test_it_accrues_moratory_interest_nightly_exactly_as_the_replay_does(officer, product):
    from installments.services import loan_recompute

    loan = loan_late_by(41, officer=officer, product=product)
    loan_recompute(loan=loan, as_of=AS_OF - dt.timedelta(days=30))

    first = moratory_accrue(as_of=AS_OF)
    loan.refresh_from_db()
    by_sql = (loan.moratory_accrued, loan.overdue_amount, loan.days_past_due, loan.state_as_of)
    again = moratory_accrue(as_of=AS_OF)

    loan_recompute(loan=loan, as_of=AS_OF)
    loan.refresh_from_db()
    assert by_sql == (loan.moratory_accrued, loan.overdue_amount, loan.days_past_due, loan.state_as_of)
    assert by_sql[0] > 0 and by_sql[2] == 41
    assert first.rows_touched > 0 and again.rows_touched == 0
