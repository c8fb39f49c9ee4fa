"""The officer web application's tests: plain static files, cookies over http, tasks run in-process."""

from __future__ import annotations

import os

import pytest

# Sync Playwright runs an event loop in the test thread; Django refuses ORM calls from a thread with a
# running loop unless told it is safe (it is: the live server runs in its own thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def _web_settings(settings):  # type: ignore[no-untyped-def]
    # With DEBUG off the settings use whitenoise's manifest storage, which needs `collectstatic`;
    # the tests serve the source files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    settings.SECURE_SSL_REDIRECT = False
    # The personas' passwords are hashed in every test; the production hasher is deliberately slow.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officer_client(client, officer):  # type: ignore[no-untyped-def]
    client.force_login(officer)
    return client


@pytest.fixture
def approver_client(client, approver):  # type: ignore[no-untyped-def]
    client.force_login(approver)
    return client


@pytest.fixture
def analyst_client(client, analyst):  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    return client


def settle(buyer, miner, day, payable_usd, n):  # type: ignore[no-untyped-def]
    """A posted settlement row as the valuation would leave it (the tests need its payable only)."""
    from decimal import Decimal

    from buyers.models import Settlement

    return Settlement.objects.create(
        buyer=buyer,
        miner=miner,
        lot_code=f"L-{miner.pk}-{n}",
        settled_on=day,
        currency="USD",
        exchange_rate=Decimal("3.7500"),
        wet_tonnes=Decimal("10"),
        moisture_pct=Decimal("8"),
        grade_oz_tc=Decimal("0.5"),
        recovery=Decimal("0.84"),
        gold_price_usd_oz=Decimal("3322.10"),
        dry_tonnes=Decimal("9.200"),
        value_per_tms=Decimal("1000"),
        payable_usd=Decimal(payable_usd),
        contained_gold_usd=Decimal(payable_usd) * 2,
        price_share=Decimal("0.9759"),
        value_share=Decimal("0.5"),
        source=Settlement.Source.SEED,
    )


@pytest.fixture
def world(db):  # type: ignore[no-untyped-def]
    """A buyer, its supplier with a year of monthly deliveries, and an equipment product."""
    import datetime as dt
    from decimal import Decimal
    from types import SimpleNamespace

    from django.utils import timezone

    from loans.underwriting import months_before
    from tests.factories import EquipmentFactory, LoanProductFactory, RelationshipFactory

    relationship = RelationshipFactory(since=dt.date(2022, 1, 1))
    today = timezone.localdate()
    for n, key in enumerate(months_before(today, 12)):
        settle(relationship.buyer, relationship.miner, dt.date(int(key[:4]), int(key[5:]), 12), "2000", n)
    product = LoanProductFactory(requires_equipment=True, name="Equipo libre de mercurio")
    equipment = EquipmentFactory(price=Decimal("20000.00"))
    return SimpleNamespace(
        buyer=relationship.buyer, miner=relationship.miner, product=product, equipment=equipment, today=today
    )


@pytest.fixture
def application(world, officer):  # type: ignore[no-untyped-def]
    import datetime as dt
    from decimal import Decimal

    from loans.services import application_create

    return application_create(
        miner=world.miner,
        product=world.product,
        amount=Decimal("20000"),
        term=12,
        disbursement_date=world.today,
        first_due_on=world.today + dt.timedelta(days=31),
        prepared_by=officer,
        equipment=world.equipment,
        withholding_buyer=world.buyer,
    )


@pytest.fixture
def loan(application, officer, approver):  # type: ignore[no-untyped-def]
    from installments.services import loan_disburse
    from loans.services import application_approve, application_submit

    application_submit(application=application, actor=officer)
    application_approve(application=application, approver=approver)
    return loan_disburse(application=application, actor=officer, reference="TRF-1")
