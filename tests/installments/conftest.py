"""Servicing personas: Minera Orex (the buyer), Rosa (always on time), Teodoro (late), and the loan
officer Olga who disburses their loans. Loans go through the real origination and disbursement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from buyers.models import Buyer
from installments.services import loan_disburse
from loans.models import Loan, LoanApplication, LoanProduct
from miners.models import Miner
from tests.factories import BuyerFactory, MinerFactory

D = Decimal

# The DOMAIN.md §3 example: S/ 10,000 at TEA 40%, disbursed 2025-01-15, first due date 2025-02-17.
TEN_THOUSAND = D("10000.00")
DISBURSED = dt.date(2025, 1, 15)
FIRST_DUE = dt.date(2025, 2, 17)

# DOMAIN.md §4: 10 TMH, 8% H2O, 0.5 oz/TC, INTER 3,322.10, RC 80, recovery 0.84, maquila 110,
# consumos 30.26, flete 22 → 9.200 TMS, US$ 12,212.83.
DOMAIN_LOT: dict[str, Any] = {
    "wet_tonnes": D("10"),
    "moisture_pct": D("8"),
    "grade_oz_tc": D("0.5"),
    "recovery": D("0.84"),
    "gold_price_usd_oz": D("3322.10"),
    "commercial_deduction_usd_oz": D("80"),
    "maquila_usd_tc": D("110"),
    "reagents_usd_tms": D("30.26"),
    "freight_usd_tms": D("22"),
}


@pytest.fixture
def orex(db) -> Buyer:  # type: ignore[no-untyped-def]
    return BuyerFactory.create(name="Minera Orex S.A.C.", remittance_days=7)


@pytest.fixture
def product(db) -> LoanProduct:  # type: ignore[no-untyped-def]
    return make_product()


def make_product(**overrides: Any) -> LoanProduct:
    values: dict[str, Any] = {
        "code": "equipo-sin-mercurio",
        "name": "Equipo sin mercurio",
        "purpose": LoanProduct.Purpose.MERCURY_FREE_EQUIPMENT,
        "currency": "PEN",
        "tea_pct": D("40"),
        "max_tea_pct": D("60"),
        "moratory_tea_pct": D("15"),
        "min_amount": D("1000"),
        "max_amount": D("500000"),
        "min_term": 1,
        "max_term": 36,
        "requires_reinfo": False,
        "max_withholding_share_pct": D("30"),
    }
    values.update(overrides)
    return LoanProduct.objects.create(**values)


@pytest.fixture
def rosa(db) -> Miner:  # type: ignore[no-untyped-def]
    return MinerFactory.create(first_names="Rosa", last_names="Huamán Condori", gender="F")


@pytest.fixture
def teodoro(db) -> Miner:  # type: ignore[no-untyped-def]
    return MinerFactory.create(first_names="Teodoro", last_names="Quispe Ccama")


def disburse(
    *,
    miner: Miner,
    product: LoanProduct,
    officer: Any,
    amount: Decimal = TEN_THOUSAND,
    term: int = 6,
    disbursed_on: dt.date = DISBURSED,
    first_due_on: dt.date = FIRST_DUE,
    buyer: Buyer | None = None,
    equipment: Any = None,
) -> Loan:
    """An approved application disbursed by ``officer`` (approval is written directly: the approval
    flow has its own tests)."""
    application = LoanApplication.objects.create(
        miner=miner,
        product=product,
        amount=amount,
        term=term,
        tea_pct=product.tea_pct,
        disbursement_date=disbursed_on,
        first_due_on=first_due_on,
        withholding_buyer=buyer,
        equipment=equipment,
        status=LoanApplication.Status.APPROVED,
        prepared_by=officer,
    )
    return loan_disburse(application=application, actor=officer, disbursed_on=disbursed_on, reference="TRX-1")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    # The personas' passwords are hashed on every test; the default PBKDF2 costs ~0.3 s each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
