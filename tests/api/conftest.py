"""API personas: two buyer companies (Orex, ours; Rival, the outsider), each with an API key and a
supplier, and the lender's staff with tokens. Helpers build clients and post settlements over HTTP."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.tokens import staff_token_issue
from buyers.models import Buyer, SupplierRelationship
from buyers.services import api_key_issue
from installments.services import loan_disburse
from loans.models import LoanApplication
from loans.services import application_approve, application_create, application_submit
from miners.models import Miner
from tests.factories import BuyerFactory, LoanProductFactory, MinerFactory, RelationshipFactory


def throttle_rate(monkeypatch: pytest.MonkeyPatch, rate: str) -> None:
    """Set the API's rate for this test. DRF binds throttle rates when the class is imported, so the
    rate is patched on the configured class rather than through settings."""
    from rest_framework.settings import api_settings

    for throttle_class in api_settings.DEFAULT_THROTTLE_CLASSES:
        monkeypatch.setattr(throttle_class, "rate", rate, raising=False)


@pytest.fixture(autouse=True)
def _fresh_throttle(monkeypatch):  # type: ignore[no-untyped-def]
    """Each test starts with empty throttle buckets and a rate no test reaches by accident."""
    cache.clear()
    throttle_rate(monkeypatch, "100000/min")
    yield
    cache.clear()


def token_client(user: Any) -> APIClient:
    """A client sending a freshly issued staff token (``Authorization: Token <key>``) for ``user``."""
    client = APIClient()
    raw, _ = staff_token_issue(user=user, actor="tests")
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def key_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    return client


@dataclass
class BuyerPersona:
    buyer: Buyer
    key: str
    client: APIClient
    supplier: Miner
    relationship: SupplierRelationship


def _buyer_persona(name: str) -> BuyerPersona:
    buyer = BuyerFactory(name=name)
    raw, _ = api_key_issue(buyer=buyer, name="ERP")
    relationship = RelationshipFactory(buyer=buyer, miner=MinerFactory())
    return BuyerPersona(buyer, raw, key_client(raw), relationship.miner, relationship)


@pytest.fixture
def orex(db) -> BuyerPersona:  # type: ignore[no-untyped-def]
    """Our buyer: Minera Orex, with one supplier."""
    return _buyer_persona("Minera Orex S.A.C.")


@pytest.fixture
def rival(db) -> BuyerPersona:  # type: ignore[no-untyped-def]
    """Another buyer, whose data Orex must never see."""
    return _buyer_persona("Minera Rival S.A.C.")


@pytest.fixture
def officer_api(officer) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(officer)


@pytest.fixture
def approver_api(approver) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(approver)


@pytest.fixture
def analyst_api(analyst) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(analyst)


@pytest.fixture
def admin_api(admin_user) -> APIClient:  # type: ignore[no-untyped-def]
    return token_client(admin_user)


@pytest.fixture
def nobody_api(django_user_model) -> APIClient:  # type: ignore[no-untyped-def]
    """A lender login without any role."""
    return token_client(django_user_model.objects.create_user("sin.rol", password="correct-horse-battery-9"))


def today() -> dt.date:
    return timezone.localdate()


def settlement_body(miner: Miner, lot_code: str, **overrides: Any) -> dict[str, Any]:
    """DOMAIN.md §4's worked lot: 10 TMH at 8% → 9.200 TMS, US$ 12,212.83."""
    body = {
        "miner": miner.pk,
        "lot_code": lot_code,
        "settled_on": today().isoformat(),
        "currency": "USD",
        "exchange_rate": "3.7500",
        "wet_tonnes": "10",
        "moisture_pct": "8",
        "grade_oz_tc": "0.5",
        "recovery": "0.84",
        "gold_price_usd_oz": "3322.10",
        "commercial_deduction_usd_oz": "80",
        "maquila_usd_tc": "110",
        "reagents_usd_tms": "30.26",
        "freight_usd_tms": "22",
    }
    body.update(overrides)
    return body


def disbursed_loan(
    *, miner: Miner, buyer: Buyer, officer: Any, approver: Any, amount: str = "10000.00", days_ago: int = 75
) -> Any:
    """A PEN loan disbursed ``days_ago`` with the first installment due 30 days later (so, by default,
    one installment is overdue today), collected through ``buyer``."""
    product = LoanProductFactory()
    disbursed = today() - dt.timedelta(days=days_ago)
    application = application_create(
        miner=miner,
        product=product,
        amount=Decimal(amount),
        term=6,
        disbursement_date=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
        prepared_by=officer,
        withholding_buyer=buyer,
    )
    application_submit(application=application, actor=officer, underwriting={})
    application_approve(application=application, approver=approver)
    # A loan from the past was approved in the past: a disbursement is never dated before its approval.
    LoanApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.make_aware(dt.datetime.combine(disbursed, dt.time(9)))
    )
    return loan_disburse(application=application, actor=officer, disbursed_on=disbursed)
