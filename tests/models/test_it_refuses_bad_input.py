"""Bad input is refused twice: by model validation with a message naming the field, and by the
database's own constraints if something skips validation. Nothing is saved either way."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from buyers.models import Buyer, Settlement
from loans.models import LoanApplication, LoanProduct
from loans.services import application_create
from miners.models import Miner
from tests.factories import BuyerFactory, LoanProductFactory, MinerFactory

pytestmark = pytest.mark.django_db


def _miner(**overrides: object) -> Miner:
    fields: dict[str, object] = dict(
        first_names="Rosa",
        last_names="Huamán Ccori",
        document_type="DNI",
        document_number="45871236",
        gender="F",
        ubigeo="040112",
        role="owner_operator",
    )
    fields.update(overrides)
    return Miner(**fields)


def test_it_refuses_a_dni_that_is_not_8_digits() -> None:
    with pytest.raises(ValidationError) as excinfo:
        _miner(document_number="4587123").full_clean()
    assert "document_number" in excinfo.value.message_dict
    assert Miner.objects.count() == 0


def test_it_refuses_a_ruc_with_a_wrong_check_digit() -> None:
    with pytest.raises(ValidationError) as excinfo:
        _miner(ruc="10458712360").full_clean()  # the right check digit for this DNI is not 0
    assert "ruc" in excinfo.value.message_dict


def test_it_accepts_the_personal_ruc_of_the_miners_dni() -> None:
    from miners.identity import personal_ruc

    miner = _miner(ruc=personal_ruc("45871236"))
    miner.full_clean()
    miner.save()
    assert Miner.objects.get().ruc.startswith("1045871236")


def test_it_refuses_a_buyer_ruc_with_a_wrong_check_digit() -> None:
    with pytest.raises(ValidationError) as excinfo:
        Buyer(ruc="20100070971", name="Minera X", region="04").full_clean()
    assert "ruc" in excinfo.value.message_dict


def test_it_refuses_a_pallaquera_with_a_reinfo_code() -> None:
    with pytest.raises(ValidationError) as excinfo:
        _miner(role="pallaquera", reinfo_code="R-1", reinfo_status="vigente").full_clean()
    assert "reinfo_code" in excinfo.value.message_dict


def test_the_database_refuses_a_malformed_dni_even_without_validation() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        _miner(document_number="12AB").save()
    assert Miner.objects.count() == 0


def test_the_database_refuses_a_duplicate_document() -> None:
    _miner().save()
    with pytest.raises(IntegrityError), transaction.atomic():
        _miner(first_names="Otra").save()
    assert Miner.objects.count() == 1


def _settlement(**overrides: object) -> Settlement:
    buyer = BuyerFactory()
    miner = MinerFactory()
    fields: dict[str, object] = dict(
        buyer=buyer,
        miner=miner,
        lot_code="L-1",
        settled_on=dt.date(2025, 3, 1),
        exchange_rate=Decimal("3.75"),
        wet_tonnes=Decimal("10"),
        moisture_pct=Decimal("8"),
        grade_oz_tc=Decimal("0.5"),
        recovery=Decimal("0.84"),
        gold_price_usd_oz=Decimal("3322.10"),
        dry_tonnes=Decimal("9.2"),
        value_per_tms=Decimal("1327.4816"),
        payable_usd=Decimal("12212.83"),
        contained_gold_usd=Decimal("16835.00"),
        price_share=Decimal("0.9759"),
        value_share=Decimal("0.8631"),
    )
    fields.update(overrides)
    return Settlement(**fields)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("moisture_pct", Decimal("100")),
        ("moisture_pct", Decimal("-1")),
        ("wet_tonnes", Decimal("-5")),
        ("wet_tonnes", Decimal("0")),
        ("recovery", Decimal("1.2")),
        ("exchange_rate", Decimal("0")),
    ],
)
def test_the_database_refuses_an_impossible_settlement(field: str, value: Decimal) -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        _settlement(**{field: value}).save()
    assert Settlement.objects.count() == 0


def test_the_database_refuses_a_product_whose_tea_exceeds_its_limit() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        LoanProductFactory(tea_pct=Decimal("70"), max_tea_pct=Decimal("60"))
    assert LoanProduct.objects.count() == 0


def _application_kwargs(officer, **overrides):  # type: ignore[no-untyped-def]
    kwargs = dict(
        miner=MinerFactory(),
        product=LoanProductFactory(),
        amount=Decimal("10000"),
        term=6,
        disbursement_date=dt.date(2025, 1, 15),
        first_due_on=dt.date(2025, 2, 17),
        prepared_by=officer,
    )
    kwargs.update(overrides)
    return kwargs


def test_it_refuses_a_tea_above_the_products_limit(officer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        application_create(**_application_kwargs(officer, tea_pct=Decimal("75")))
    assert "tea_pct" in excinfo.value.message_dict
    assert "60" in excinfo.value.message_dict["tea_pct"][0]
    assert LoanApplication.objects.count() == 0


@pytest.mark.parametrize("term", [2, 37])
def test_it_refuses_a_term_outside_the_products_range(officer, term: int) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        application_create(**_application_kwargs(officer, term=term))
    assert "term" in excinfo.value.message_dict
    assert LoanApplication.objects.count() == 0


def test_it_refuses_an_amount_outside_the_products_range(officer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as excinfo:
        application_create(**_application_kwargs(officer, amount=Decimal("500000")))
    assert "amount" in excinfo.value.message_dict


def test_it_refuses_a_reinfo_product_for_a_miner_without_reinfo(officer) -> None:  # type: ignore[no-untyped-def]
    miner = MinerFactory(reinfo_code="", reinfo_status="", role="pallaquera")
    with pytest.raises(ValidationError) as excinfo:
        application_create(**_application_kwargs(officer, miner=miner))
    assert "miner" in excinfo.value.message_dict


def test_it_lets_a_pallaquera_apply_for_a_non_mining_product(officer) -> None:  # type: ignore[no-untyped-def]
    miner = MinerFactory(reinfo_code="", reinfo_status="", role="pallaquera", gender="F")
    product = LoanProductFactory(purpose="micro_enterprise", requires_reinfo=False)
    application = application_create(**_application_kwargs(officer, miner=miner, product=product))
    assert application.status == "draft"
