"""Personas for the messages to miners: Minera Orex (the buyer), Rosa and Teodoro (the miners), the
product and the loan officer Olga, from the servicing tests; and the demo-like book the SMS budgets are
measured on (``demo_book``)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.utils import timezone

from installments.models import Withholding
from installments.services import settlement_post
from loans.models import Loan
from notices.defaults import seed_default_templates
from notices.models import MessageTemplate
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse, orex, product, rosa, teodoro  # noqa: F401

D = Decimal


@pytest.fixture
def default_templates(db) -> None:  # type: ignore[no-untyped-def]
    """The wording of migration ``notices 0002`` (idempotent: already there unless a test flushed it)."""
    seed_default_templates(MessageTemplate)


@dataclass
class DemoBook:
    loan: Loan
    withholding: Withholding


@pytest.fixture
def demo_book(db, officer, product, settings) -> DemoBook:  # type: ignore[no-untyped-def]  # noqa: F811
    """Built like the demo: "Minera Orex S.A.C. (demo)", a S/ 68,000 loan of 24 installments to a miner
    with accents in her name, a withholding from lot ``L261103-00123`` a month and a half in."""
    settings.SITE_URL = "https://asmcredit.pe"
    buyer = BuyerFactory.create(name="Minera Orex S.A.C. (demo)", remittance_days=7)
    miner = MinerFactory.create(first_names="Rosa María", last_names="Huamán Condori", gender="F")
    today = timezone.localdate()
    disbursed = today - dt.timedelta(days=75)
    loan = disburse(
        miner=miner,
        product=product,
        officer=officer,
        amount=D("68000.00"),
        term=24,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
        buyer=buyer,
    )
    outcome = settlement_post(
        buyer=buyer,
        miner=miner,
        actor=officer,
        lot_code="L261103-00123",
        settled_on=today - dt.timedelta(days=2),
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    loan.refresh_from_db()
    return DemoBook(loan=loan, withholding=outcome.withholdings[0])
