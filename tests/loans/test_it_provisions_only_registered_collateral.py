"""Provisions (DOMAIN.md §6–§7): only the part of a loan covered by REGISTERED collateral earns the
preferred-guarantee rates; unregistered, released or not-yet-registered collateral and a guarantee
fund's coverage do not. Expected figures are worked by hand from the §6 table."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from installments import risk
from installments.models import LoanRating
from installments.services import portfolio_rate
from loans.collateral import collateral_add, collateral_update
from rates.fx import MissingExchangeRate
from rates.models import ExchangeRate
from tests.factories import EquipmentFactory, MinerFactory
from tests.installments.conftest import TEN_THOUSAND, disburse, make_product

pytestmark = pytest.mark.django_db

D = Decimal
AS_OF = dt.date(2025, 9, 30)
APPRAISED = dt.date(2025, 6, 1)


@pytest.fixture
def product(db):  # type: ignore[no-untyped-def]
    return make_product()


def loan_late_by(days: int, *, officer, product, amount=TEN_THOUSAND):  # type: ignore[no-untyped-def]
    """A S/ 10,000 loan whose first installment fell due ``days`` before AS_OF and was never paid: all
    of its principal is outstanding."""
    first_due = AS_OF - dt.timedelta(days=days)
    return disburse(
        miner=MinerFactory.create(),
        product=product,
        officer=officer,
        amount=amount,
        disbursed_on=first_due - dt.timedelta(days=30),
        first_due_on=first_due,
        term=12,
    )


def pledge(loan, officer, value: str, *, entry: str = "", registered_on=None, **more):  # type: ignore[no-untyped-def]
    return collateral_add(
        loan=loan,
        actor=officer,
        description="Concentrador centrífugo, serie KC-1",
        appraised_value=D(value),
        appraised_on=APPRAISED,
        registry_entry=entry,
        registered_on=registered_on,
        **more,
    )


def rated(loan) -> LoanRating:  # type: ignore[no-untyped-def]
    return LoanRating.objects.get(loan=loan, as_of=AS_OF)


def test_registered_collateral_earns_the_preferred_rate_and_unregistered_does_not(officer, product) -> None:  # type: ignore[no-untyped-def]
    # Deficiente (31 dpd): 25% without a preferred guarantee, 12.5% with one.
    bare = loan_late_by(31, officer=officer, product=product)
    unregistered = loan_late_by(31, officer=officer, product=product)
    registered = loan_late_by(31, officer=officer, product=product)
    pledge(unregistered, officer, "12000.00")
    pledge(registered, officer, "12000.00", entry="RMC-2025-000101", registered_on=dt.date(2025, 6, 10))

    portfolio_rate(as_of=AS_OF)

    # 10,000 × 25% = 2,500.00 for the loan without collateral and for the unregistered pledge.
    assert (rated(bare).covered_share, rated(bare).provision) == (D("0"), D("2500.00"))
    assert (rated(unregistered).covered_share, rated(unregistered).provision) == (D("0"), D("2500.00"))
    # 12,000 registered covers the whole 10,000: 10,000 × 12.5% = 1,250.00, a 12.5% rate.
    assert (rated(registered).covered_share, rated(registered).provision) == (D("1.0000"), D("1250.00"))
    assert rated(registered).provision_rate == D("12.5000")


def test_partial_cover_splits_the_balance_between_the_two_rates(officer, product) -> None:  # type: ignore[no-untyped-def]
    deficiente = loan_late_by(31, officer=officer, product=product)
    perdida = loan_late_by(121, officer=officer, product=product)
    # Two registered pledges on one loan add up: 2,500 + 1,500 = 4,000 of 10,000.
    pledge(deficiente, officer, "2500.00", entry="RMC-1", registered_on=dt.date(2025, 6, 10))
    pledge(deficiente, officer, "1500.00", entry="RMC-2", registered_on=dt.date(2025, 6, 11))
    pledge(perdida, officer, "5000.00", entry="RMC-3", registered_on=dt.date(2025, 6, 10))

    portfolio_rate(as_of=AS_OF)

    # 6,000 × 25% + 4,000 × 12.5% = 1,500 + 500 = 2,000.00 (a 20% blended rate).
    assert (rated(deficiente).covered_share, rated(deficiente).provision) == (D("0.4000"), D("2000.00"))
    assert rated(deficiente).provision_rate == D("20.0000")
    # Pérdida: 5,000 × 100% + 5,000 × 60% = 8,000.00.
    assert (rated(perdida).covered_share, rated(perdida).provision) == (D("0.5000"), D("8000.00"))


def test_a_guarantee_fund_no_longer_lowers_the_provision(officer) -> None:  # type: ignore[no-untyped-def]
    crecer = make_product(code="crecer", guarantee_fund_coverage_pct=D("80"))
    covered_by_fund = loan_late_by(9, officer=officer, product=crecer)

    portfolio_rate(as_of=AS_OF)

    # CPP: 10,000 × 5% = 500.00, whatever the fund covers (its claims are a separate matter).
    assert (rated(covered_by_fund).covered_share, rated(covered_by_fund).provision) == (D("0"), D("500.00"))


def test_collateral_counts_only_between_its_registration_and_its_release(officer, product) -> None:  # type: ignore[no-untyped-def]
    later = loan_late_by(31, officer=officer, product=product)
    released = loan_late_by(31, officer=officer, product=product)
    released_after = loan_late_by(31, officer=officer, product=product)
    # Registered the day after the rating date: not yet a preferred guarantee on AS_OF.
    pledge(later, officer, "10000.00", entry="RMC-LATE", registered_on=AS_OF + dt.timedelta(days=1))
    lifted = pledge(released, officer, "10000.00", entry="RMC-LIFTED", registered_on=dt.date(2025, 6, 10))
    collateral_update(collateral=lifted, actor=officer, released_on=AS_OF)
    still = pledge(released_after, officer, "10000.00", entry="RMC-STILL", registered_on=dt.date(2025, 6, 10))
    collateral_update(collateral=still, actor=officer, released_on=AS_OF + dt.timedelta(days=1))

    portfolio_rate(as_of=AS_OF)

    assert rated(later).provision == D("2500.00")
    assert rated(released).provision == D("2500.00")  # released on the day: no longer pledged
    assert rated(released_after).provision == D("1250.00")


def test_dollar_collateral_on_a_soles_loan_is_valued_at_the_rate_of_the_day(officer, product) -> None:  # type: ignore[no-untyped-def]
    loan = loan_late_by(31, officer=officer, product=product)
    pledge(loan, officer, "1000.00", currency="USD", entry="RMC-USD", registered_on=dt.date(2025, 6, 10))

    with pytest.raises(MissingExchangeRate):
        portfolio_rate(as_of=AS_OF)  # never valued at 1: the run fails before writing
    assert not LoanRating.objects.filter(loan=loan).exists()

    ExchangeRate.objects.create(currency="USD", rate_on=AS_OF - dt.timedelta(days=1), soles_per_unit=D("3.75"))
    portfolio_rate(as_of=AS_OF)

    # US$ 1,000 × 3.75 = S/ 3,750 of 10,000: 6,250 × 25% + 3,750 × 12.5% = 1,562.50 + 468.75 = 2,031.25.
    assert (rated(loan).covered_share, rated(loan).provision) == (D("0.3750"), D("2031.25"))


def test_an_expired_policy_keeps_counting_with_a_warning_unless_insurance_is_required(  # type: ignore[no-untyped-def]
    officer, product, settings
) -> None:
    loan = loan_late_by(31, officer=officer, product=product)
    insured = loan_late_by(31, officer=officer, product=product)
    pledge(
        loan,
        officer,
        "10000.00",
        entry="RMC-EXP",
        registered_on=dt.date(2025, 6, 10),
        insurer="Rímac Seguros",
        policy_number="POL-1",
        policy_expires_on=AS_OF - dt.timedelta(days=1),
    )
    pledge(
        insured,
        officer,
        "10000.00",
        entry="RMC-OK",
        registered_on=dt.date(2025, 6, 10),
        insurer="Rímac Seguros",
        policy_number="POL-2",
        policy_expires_on=AS_OF,
    )

    portfolio_rate(as_of=AS_OF)
    assert (rated(loan).provision, rated(loan).warnings) == (D("1250.00"), [risk.COLLATERAL_POLICY_EXPIRED])
    assert (rated(insured).provision, rated(insured).warnings) == (D("1250.00"), [])

    settings.COLLATERAL_INSURANCE_REQUIRED = True
    portfolio_rate(as_of=AS_OF)
    assert (rated(loan).provision, rated(loan).warnings) == (D("2500.00"), [risk.COLLATERAL_POLICY_EXPIRED])
    assert rated(insured).provision == D("1250.00")  # insured through the rating date


def test_an_equipment_loan_pledges_its_financed_equipment(officer) -> None:  # type: ignore[no-untyped-def]
    equipment = EquipmentFactory(price=D("12000.00"))
    loan = disburse(
        miner=MinerFactory.create(),
        product=make_product(code="equipo", requires_equipment=True),
        officer=officer,
        equipment=equipment,
    )
    collateral = pledge(loan, officer, "12000.00", equipment=equipment, entry="RMC-EQ", registered_on=APPRAISED)

    assert (collateral.equipment, collateral.currency, collateral.is_registered) == (equipment, "PEN", True)


@pytest.mark.parametrize(
    ("value", "outstanding", "share"),
    [
        ("0", "100", "0.0000"),
        ("40", "100", "0.4000"),
        ("150", "100", "1.0000"),
        ("1", "3", "0.3333"),
        ("5", "0", "0.0000"),
    ],
)
def test_the_covered_share_is_the_registered_value_over_the_balance_at_most_one(value, outstanding, share) -> None:  # type: ignore[no-untyped-def]
    assert risk.collateral_covered_share(D(value), D(outstanding)) == D(share)
