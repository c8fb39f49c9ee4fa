"""The underwriting panel: eligibility checklist, capacity from settlements, recommendation."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation

from buyers.models import Settlement
from loans.models import Loan, LoanApplication, LoanProduct
from loans.underwriting import (
    Check,
    coefficient_of_variation,
    installment_ratio_pct,
    median,
    monthly_totals,
    months_before,
    recommend,
    underwriting_panel,
)
from miners.models import Miner
from tests.factories import LoanProductFactory, MinerFactory, RelationshipFactory

AS_OF = dt.date(2025, 7, 10)


@pytest.fixture(autouse=True)
def _in_english():  # type: ignore[no-untyped-def]
    # The panel's reasons are translated; these tests read the English source strings.
    with translation.override("en"):
        yield


# --- pure arithmetic ---------------------------------------------------------------------------------


def test_it_lists_the_full_months_before_the_date() -> None:
    assert months_before(dt.date(2025, 2, 14), 3) == ["2024-11", "2024-12", "2025-01"]


def test_it_counts_months_without_deliveries_as_zero() -> None:
    totals = monthly_totals(
        [
            (dt.date(2025, 1, 3), Decimal("100")),
            (dt.date(2025, 1, 20), Decimal("50.5")),
            (dt.date(2025, 3, 1), Decimal(7)),
        ],
        ["2025-01", "2025-02", "2025-03"],
    )
    assert totals == [Decimal("150.50"), Decimal("0.00"), Decimal("7.00")]


def test_it_takes_the_median_of_an_even_count() -> None:
    assert median([Decimal(1), Decimal(4), Decimal(2), Decimal(10)]) == Decimal("3.00")
    assert median([]) == Decimal("0.00")


def test_it_measures_volatility_as_the_coefficient_of_variation() -> None:
    assert coefficient_of_variation([Decimal(100)] * 12) == Decimal("0.0000")
    # mean 100, population standard deviation 100
    assert coefficient_of_variation([Decimal(0), Decimal(200)]) == Decimal("1.0000")
    assert coefficient_of_variation([Decimal(0), Decimal(0)]) is None


def test_it_counts_other_installments_in_the_ratio() -> None:
    assert installment_ratio_pct(Decimal("1000"), Decimal("500"), Decimal("6000")) == Decimal("25.00")
    assert installment_ratio_pct(Decimal("1000"), Decimal("0"), Decimal("0")) is None


def _ok(code: str = "identity") -> Check:
    return Check(code, code, True, "")


def test_it_declines_a_failed_hard_check_and_reviews_a_soft_one() -> None:
    hard = [Check("reinfo", "REINFO", False, "SUSPENDIDO")]
    soft = [Check("buyer_relationship", "Buyer", False, "3 months")]
    assert (
        recommend(checks=hard, ratio_pct=Decimal(20), limit_pct=Decimal(40), volatility=None, has_history=True)[0]
        == "decline"
    )
    assert (
        recommend(checks=soft, ratio_pct=Decimal(20), limit_pct=Decimal(40), volatility=None, has_history=True)[0]
        == "review"
    )


@pytest.mark.parametrize(
    ("ratio", "expected"),
    [(Decimal("39.99"), "approve"), (Decimal("40.01"), "review"), (Decimal("60.01"), "decline")],
)
def test_it_compares_the_ratio_with_the_product_limit(ratio: Decimal, expected: str) -> None:
    outcome, reasons = recommend(
        checks=[_ok()], ratio_pct=ratio, limit_pct=Decimal(40), volatility=Decimal("0.1"), has_history=True
    )
    assert outcome == expected
    assert reasons


def test_it_reviews_a_volatile_or_missing_history() -> None:
    volatile = recommend(
        checks=[_ok()], ratio_pct=Decimal(10), limit_pct=Decimal(40), volatility=Decimal("0.9"), has_history=True
    )
    assert volatile[0] == "review"
    assert "volatile" in volatile[1][0]
    assert (
        recommend(checks=[_ok()], ratio_pct=None, limit_pct=Decimal(40), volatility=None, has_history=False)[0]
        == "review"
    )


# --- the panel from the database ----------------------------------------------------------------------


def _settle(buyer, miner, day: dt.date, payable_usd: Decimal, n: int) -> Settlement:  # type: ignore[no-untyped-def]
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
        payable_usd=payable_usd,
        contained_gold_usd=payable_usd * 2,
        price_share=Decimal("0.9759"),
        value_share=Decimal("0.5"),
        source=Settlement.Source.SEED,
    )


def _history(buyer, miner, months: int = 12, payable: Decimal = Decimal("2000")) -> None:  # type: ignore[no-untyped-def]
    for n, key in enumerate(months_before(AS_OF, months)):
        year, month = int(key[:4]), int(key[5:])
        _settle(buyer, miner, dt.date(year, month, 15), payable, n)


def _application(officer, miner, buyer, product=None, amount=Decimal("10000"), term=12) -> LoanApplication:  # type: ignore[no-untyped-def]
    chosen: Any = product or LoanProductFactory()
    return LoanApplication.objects.create(
        miner=miner,
        product=chosen,
        withholding_buyer=buyer,
        amount=amount,
        term=term,
        tea_pct=Decimal("40"),
        disbursement_date=dt.date(2025, 7, 15),
        first_due_on=dt.date(2025, 8, 15),
        prepared_by=officer,
    )


@pytest.fixture
def supplier():  # type: ignore[no-untyped-def]
    relationship = RelationshipFactory(since=dt.date(2023, 1, 1))
    return relationship.buyer, relationship.miner


@pytest.mark.django_db
def test_it_recommends_approval_for_a_regular_supplier_within_capacity(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    buyer, miner = supplier
    _history(buyer, miner)  # US$ 2,000 a month at 3.75 = S/ 7,500
    panel = underwriting_panel(application=_application(officer, miner, buyer), as_of=AS_OF)

    assert [(c.code, c.ok) for c in panel.checks] == [
        ("identity", True),
        ("reinfo", True),
        ("buyer_relationship", True),
        ("no_cpp_loans", True),
    ]
    assert panel.capacity.median_monthly == Decimal("7500.00")
    assert panel.capacity.volatility == Decimal("0.0000")
    assert panel.capacity.settlements == 12
    # S/ 10,000 over 12 months at TEA 40%: about S/ 1,000 a month, some 13% of capacity.
    assert Decimal("950") < panel.installment < Decimal("1100")
    assert panel.ratio_pct == (panel.installment / Decimal("7500") * 100).quantize(Decimal("0.01"))
    assert panel.recommendation == "approve"
    assert "within the limit of 40%" in panel.reasons[-1]


@pytest.mark.django_db
def test_it_declines_a_miner_whose_reinfo_is_suspended(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    buyer, miner = supplier
    Miner.objects.filter(pk=miner.pk).update(reinfo_status=Miner.ReinfoStatus.SUSPENDIDO)
    miner.refresh_from_db()
    _history(buyer, miner)
    panel = underwriting_panel(application=_application(officer, miner, buyer), as_of=AS_OF)
    assert {c.code: c.ok for c in panel.checks}["reinfo"] is False
    assert panel.recommendation == "decline"
    assert any("REINFO" in reason for reason in panel.reasons)


@pytest.mark.django_db
def test_it_reviews_a_new_supplier_with_few_deliveries(officer) -> None:  # type: ignore[no-untyped-def]
    relationship = RelationshipFactory(since=dt.date(2025, 4, 1))
    _history(relationship.buyer, relationship.miner, months=3)
    panel = underwriting_panel(
        application=_application(officer, relationship.miner, relationship.buyer, amount=Decimal("2000")),
        as_of=AS_OF,
    )
    check = next(c for c in panel.checks if c.code == "buyer_relationship")
    assert check.ok is False
    assert "3 months" in check.detail
    # 3 of 12 months delivered: the median month is empty.
    assert panel.capacity.median_monthly == Decimal("0.00")
    assert panel.recommendation == "decline"


@pytest.mark.django_db
def test_it_reviews_an_installment_above_the_product_limit(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    buyer, miner = supplier
    _history(buyer, miner, payable=Decimal("800"))  # S/ 3,000 a month
    panel = underwriting_panel(
        application=_application(officer, miner, buyer, amount=Decimal("15000")), as_of=AS_OF
    )  # ≈ S/ 1,560 a month, 52% > 40%
    assert panel.ratio_pct is not None and Decimal(40) < panel.ratio_pct <= Decimal(60)
    assert panel.recommendation == "review"


@pytest.mark.django_db
def test_it_declines_a_miner_with_a_loan_in_cpp(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    buyer, miner = supplier
    _history(buyer, miner)
    earlier = _application(officer, miner, buyer)
    LoanApplication.objects.filter(pk=earlier.pk).update(status=LoanApplication.Status.DISBURSED)
    Loan.objects.create(
        code="ASM-000001",
        application=earlier,
        miner=miner,
        product=earlier.product,
        currency="PEN",
        principal=Decimal("10000"),
        tea_pct=Decimal("40"),
        tcea_pct=Decimal("40"),
        term=12,
        installment_amount=Decimal("1040"),
        disbursed_on=dt.date(2025, 1, 15),
        first_due_on=dt.date(2025, 2, 15),
        payee=Loan.Payee.MINER,
        disbursed_by=officer,
        outstanding_principal=Decimal("6000"),
        days_past_due=12,
    )
    panel = underwriting_panel(application=_application(officer, miner, buyer), as_of=AS_OF)
    check = next(c for c in panel.checks if c.code == "no_cpp_loans")
    assert check.ok is False
    assert "ASM-000001 (12 d)" in check.detail
    assert panel.capacity.other_installments == Decimal("1040.00")
    assert panel.recommendation == "decline"


@pytest.mark.django_db
def test_it_does_not_ask_a_pallaquera_for_reinfo_on_a_micro_enterprise_loan(officer) -> None:  # type: ignore[no-untyped-def]
    pallaquera = MinerFactory(
        gender="F", role=Miner.Role.PALLAQUERA, reinfo_code="", reinfo_status="", reinfo_date=None
    )
    product = LoanProductFactory(purpose=LoanProduct.Purpose.MICRO_ENTERPRISE, requires_reinfo=False)
    panel = underwriting_panel(application=_application(officer, pallaquera, None, product=product), as_of=AS_OF)
    assert all(check.ok for check in panel.checks)
    assert panel.recommendation == "review"  # no settlements: capacity is assessed by hand
    assert panel.ratio_pct is None


@pytest.mark.django_db
def test_it_serializes_decimals_as_strings(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    import json

    buyer, miner = supplier
    _history(buyer, miner)
    data = underwriting_panel(application=_application(officer, miner, buyer), as_of=AS_OF).as_dict()
    json.dumps(data)
    assert data["capacity"]["median_monthly"] == "7500.00"
    assert data["recommendation"] == "approve"
    assert data["checks"][0]["code"] == "identity"
    assert len(data["capacity"]["months"]) == 12


@pytest.mark.django_db
def test_it_builds_the_panel_in_a_few_queries(officer, supplier, django_assert_max_num_queries) -> None:  # type: ignore[no-untyped-def]
    buyer, miner = supplier
    _history(buyer, miner)
    application = LoanApplication.objects.select_related("miner", "product", "withholding_buyer").get(
        pk=_application(officer, miner, buyer).pk
    )
    with django_assert_max_num_queries(3):
        underwriting_panel(application=application, as_of=AS_OF)


@pytest.mark.django_db
def test_it_freezes_the_panel_on_submission(officer, supplier) -> None:  # type: ignore[no-untyped-def]
    from loans.services import application_submit

    buyer, miner = supplier
    _history(buyer, miner)
    application = application_submit(application=_application(officer, miner, buyer), actor=officer)
    assert application.status == LoanApplication.Status.SUBMITTED
    assert {c["code"] for c in application.underwriting["checks"]} == {
        "identity",
        "reinfo",
        "buyer_relationship",
        "no_cpp_loans",
    }
