"""Issue #11 item 12: BCRP rate caps (DOMAIN.md §3 "Rate caps", Ley 31143) are enforced on products,
offers and disbursements, each against the cap in force on its date, and the refusal names the cap.

The database starts with the caps the ``rates`` data migration loads: 109.83% in soles and 87.56% in
dollars (compensatory and moratory alike) from 2026-01-01. Tests that need other caps add rows of
their own, dated where the test needs them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.services import loan_disburse
from loans.models import Loan, LoanApplication, LoanProduct
from loans.services import application_approve, application_create, application_submit, application_update
from rates.caps import rate_cap_in_force
from rates.models import RateCap
from tests.controls.conftest import api_client
from tests.factories import LoanProductFactory, RelationshipFactory

D = Decimal
SEEDED_FROM = dt.date(2026, 1, 1)

PRODUCT_BODY: dict[str, Any] = {
    "code": "usurero",
    "name": "Producto a 110%",
    "purpose": "working_capital",
    "currency": "PEN",
    "tea_pct": "110.00",
    "max_tea_pct": "110.00",
    "moratory_tea_pct": "15",
    "min_amount": "1000.00",
    "max_amount": "50000.00",
    "min_term": 3,
    "max_term": 24,
}


def _cap(currency: str, since: dt.date, compensatory: str, moratory: str | None = None) -> RateCap:
    return RateCap.objects.create(
        currency=currency,
        effective_from=since,
        compensatory_tea_max_pct=D(compensatory),
        moratory_tea_max_pct=D(moratory if moratory is not None else compensatory),
        source="test",
    )


def _approved(officer: Any, *, product: LoanProduct, tea_pct: str, planned: dt.date) -> LoanApplication:
    """An approved application written directly (the approval flow has its own tests), planned for
    ``planned`` with the first due date a month later."""
    relationship = RelationshipFactory()
    return LoanApplication.objects.create(
        miner=relationship.miner,
        withholding_buyer=relationship.buyer,
        product=product,
        amount=D("10000.00"),
        term=6,
        tea_pct=D(tea_pct),
        disbursement_date=planned,
        first_due_on=planned + dt.timedelta(days=31),
        status=LoanApplication.Status.APPROVED,
        prepared_by=officer,
    )


def _draft_kwargs(officer: Any, product: LoanProduct, **overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    relationship = RelationshipFactory()
    values: dict[str, Any] = {
        "miner": relationship.miner,
        "withholding_buyer": relationship.buyer,
        "product": product,
        "amount": D("5000.00"),
        "term": 6,
        "disbursement_date": today,
        "first_due_on": today + dt.timedelta(days=31),
        "prepared_by": officer,
    }
    values.update(overrides)
    return values


# --- The table ------------------------------------------------------------------------------------


def test_item12_the_migration_loads_the_published_caps(db) -> None:  # type: ignore[no-untyped-def]
    soles = rate_cap_in_force(currency="PEN", on=SEEDED_FROM)
    dollars = rate_cap_in_force(currency="USD", on=dt.date(2026, 6, 30))
    assert soles is not None and dollars is not None
    assert (soles.effective_from, soles.compensatory_tea_max_pct, soles.moratory_tea_max_pct) == (
        SEEDED_FROM,
        D("109.8300"),
        D("109.8300"),
    )
    assert (dollars.compensatory_tea_max_pct, dollars.moratory_tea_max_pct) == (D("87.5600"), D("87.5600"))
    # No history is invented before the published caps: an earlier day has no cap (and is allowed).
    assert rate_cap_in_force(currency="PEN", on=SEEDED_FROM - dt.timedelta(days=1)) is None


# --- Products -------------------------------------------------------------------------------------


def test_item12_a_110pct_product_in_soles_is_refused_by_the_api_naming_the_cap(admin_user) -> None:  # type: ignore[no-untyped-def]
    response = api_client(admin_user).post("/api/v1/loan-products/", PRODUCT_BODY, format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["fields"]["tea_pct"] == [
        "The TEA 110.00% exceeds the BCRP cap for PEN in force since 2026-01-01 (109.83%)."
    ]
    assert error["fields"]["max_tea_pct"] == [
        "The maximum TEA 110.00% exceeds the BCRP cap for PEN in force since 2026-01-01 (109.83%)."
    ]
    assert not LoanProduct.objects.filter(code="usurero").exists()

    # In Spanish the message names the same cap.
    spanish = api_client(admin_user).post(
        "/api/v1/loan-products/", PRODUCT_BODY, format="json", HTTP_ACCEPT_LANGUAGE="es"
    )
    assert spanish.status_code == 400
    assert "109.83%" in spanish.json()["error"]["fields"]["tea_pct"][0]

    # At the cap itself the product is accepted: only a rate above it is refused.
    at_cap = {**PRODUCT_BODY, "tea_pct": "109.83", "max_tea_pct": "109.83"}
    assert api_client(admin_user).post("/api/v1/loan-products/", at_cap, format="json").status_code == 201


def test_item12_a_product_edit_above_the_cap_is_refused_but_it_can_be_switched_off(admin_user) -> None:  # type: ignore[no-untyped-def]
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))
    url = f"/api/v1/loan-products/{product.pk}/"
    raised = api_client(admin_user).patch(url, {"max_tea_pct": "115.5"}, format="json")
    assert raised.status_code == 400
    assert list(raised.json()["error"]["fields"]) == ["max_tea_pct"]
    assert "115.50%" in raised.json()["error"]["fields"]["max_tea_pct"][0]
    product.refresh_from_db()
    assert product.max_tea_pct == D("60")

    # A product left above a new, lower cap offers nothing once inactive, so switching it off is allowed.
    _cap("PEN", timezone.localdate(), "50")
    assert api_client(admin_user).patch(url, {"name": "Renamed"}, format="json").status_code == 400
    off = api_client(admin_user).patch(url, {"is_active": False}, format="json")
    assert off.status_code == 200, off.content


def test_item12_a_110pct_product_in_soles_is_refused_by_the_admin_form(admin_client) -> None:  # type: ignore[no-untyped-def]
    form = {
        **PRODUCT_BODY,
        "grace_kind": "none",
        "max_grace_periods": "0",
        "insurance_monthly_rate_pct": "0",
        "upfront_fee": "0",
        "fee_per_installment": "0",
        "max_withholding_share_pct": "30",
        "max_installment_to_capacity_pct": "40",
        "guarantee_fund_coverage_pct": "0",
        "is_active": "on",
    }
    response = admin_client.post(reverse("admin:loans_loanproduct_add"), form)
    assert response.status_code == 200  # the form again, with its errors
    page = response.content.decode()
    # The admin speaks the user's language: the figures name the cap whatever the words.
    assert "2026-01-01" in page and "(109.83%)" in page
    assert not LoanProduct.objects.filter(code="usurero").exists()


def test_item12_dollars_use_their_own_cap(admin_user) -> None:  # type: ignore[no-untyped-def]
    # 90% is within the soles cap (109.83%) but above the dollar cap (87.56%).
    dollars = {**PRODUCT_BODY, "code": "dolares-90", "currency": "USD", "tea_pct": "90", "max_tea_pct": "90"}
    refused = api_client(admin_user).post("/api/v1/loan-products/", dollars, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"]["tea_pct"] == [
        "The TEA 90.00% exceeds the BCRP cap for USD in force since 2026-01-01 (87.56%)."
    ]
    soles = {**dollars, "code": "soles-90", "currency": "PEN"}
    assert api_client(admin_user).post("/api/v1/loan-products/", soles, format="json").status_code == 201


def test_item12_the_moratory_cap_is_enforced(admin_user, officer) -> None:  # type: ignore[no-untyped-def]
    _cap("PEN", dt.date(2025, 1, 1), "109.83", "20")
    product = {**PRODUCT_BODY, "code": "mora-25", "tea_pct": "40", "max_tea_pct": "60", "moratory_tea_pct": "25"}
    # Today the seeded cap (moratory 109.83%) is in force: 25% is accepted.
    assert api_client(admin_user).post("/api/v1/loan-products/", product, format="json").status_code == 201
    # On 2025-06-01 the 20% moratory cap was in force: a loan carrying 25% moratory is refused then.
    application = _approved(
        officer, product=LoanProduct.objects.get(code="mora-25"), tea_pct="40", planned=dt.date(2025, 6, 1)
    )
    with pytest.raises(ValidationError) as refused:
        loan_disburse(application=application, actor=officer, disbursed_on=dt.date(2025, 6, 1))
    assert refused.value.message_dict == {
        "moratory_tea_pct": [
            "The moratory TEA 25.00% exceeds the BCRP moratory cap for PEN in force since 2025-01-01 (20.00%)."
        ]
    }
    assert not Loan.objects.exists()
    # A product above today's moratory cap is refused when written.
    _cap("PEN", timezone.localdate(), "109.83", "20")
    refused_product = api_client(admin_user).post(
        "/api/v1/loan-products/", {**product, "code": "mora-25-b"}, format="json"
    )
    assert refused_product.status_code == 400
    assert list(refused_product.json()["error"]["fields"]) == ["moratory_tea_pct"]


# --- Offers (applications) -----------------------------------------------------------------------


def test_item12_an_offer_above_the_cap_is_refused_when_created_changed_submitted_or_approved(  # type: ignore[no-untyped-def]
    officer, approver
) -> None:
    today = timezone.localdate()
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))
    draft = application_create(**_draft_kwargs(officer, product, tea_pct=D("55")))
    submitted = application_create(**_draft_kwargs(officer, product, tea_pct=D("55")))
    application_submit(application=submitted, actor=officer, underwriting={})

    # A new, lower cap takes effect today.
    _cap("PEN", today, "50", "50")
    expected = {
        "tea_pct": [f"The TEA 55.00% exceeds the BCRP cap for PEN in force since {today.isoformat()} (50.00%)."]
    }

    with pytest.raises(ValidationError) as created:
        application_create(**_draft_kwargs(officer, product, tea_pct=D("55")))
    assert created.value.message_dict == expected
    with pytest.raises(ValidationError) as changed:
        application_update(application=draft, actor=officer, amount=D("6000.00"))
    assert changed.value.message_dict == expected
    with pytest.raises(ValidationError) as sent:
        application_submit(application=draft, actor=officer, underwriting={})
    assert sent.value.message_dict == expected
    with pytest.raises(ValidationError) as approved:
        application_approve(application=submitted, approver=approver, comment="Buen historial de entregas.")
    assert approved.value.message_dict == expected
    submitted.refresh_from_db()
    assert submitted.status == LoanApplication.Status.SUBMITTED

    # The same offer at the cap goes through.
    application_update(application=draft, actor=officer, tea_pct=D("50"))
    assert application_submit(application=draft, actor=officer, underwriting={}).status == "submitted"


def test_item12_an_offer_above_the_cap_is_refused_by_the_api_and_the_form(officer, client) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))
    _cap("PEN", today, "50", "50")
    values = _draft_kwargs(officer, product)
    body = {
        "miner": values["miner"].pk,
        "withholding_buyer": values["withholding_buyer"].pk,
        "product": product.pk,
        "amount": "5000.00",
        "term": 6,
        "tea_pct": "55",
        "disbursement_date": today.isoformat(),
        "first_due_on": (today + dt.timedelta(days=31)).isoformat(),
    }
    response = api_client(officer).post("/api/v1/loan-applications/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "tea_pct": [f"The TEA 55.00% exceeds the BCRP cap for PEN in force since {today.isoformat()} (50.00%)."]
    }

    client.force_login(officer)
    page = client.post(reverse("loans:application-create"), {**body, "purpose_note": ""})
    assert page.status_code == 200
    assert "50.00%" in page.content.decode()
    assert "tea_pct" in page.context["form"].errors
    assert not LoanApplication.objects.exists()


def test_item12_an_offer_is_checked_against_a_cap_published_for_its_disbursement_date(officer) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))
    _cap("PEN", today + dt.timedelta(days=10), "45")
    # Disbursed before the new cap: 55% is still allowed.
    before = application_create(**_draft_kwargs(officer, product, tea_pct=D("55")))
    assert before.tea_pct == D("55")
    # Planned after it: the cap already published for that day refuses the offer now.
    with pytest.raises(ValidationError) as refused:
        application_create(
            **_draft_kwargs(
                officer,
                product,
                tea_pct=D("55"),
                disbursement_date=today + dt.timedelta(days=12),
                first_due_on=today + dt.timedelta(days=43),
            )
        )
    assert "45.00%" in refused.value.message_dict["tea_pct"][0]


# --- Disbursements --------------------------------------------------------------------------------


def test_item12_a_disbursement_on_a_date_with_a_lower_cap_is_refused(officer) -> None:  # type: ignore[no-untyped-def]
    _cap("PEN", dt.date(2025, 1, 1), "109.83")
    _cap("PEN", dt.date(2025, 3, 1), "50")
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))

    # The cap's effective date is honoured: the same 55% is accepted the day before the lower cap…
    early = _approved(officer, product=product, tea_pct="55", planned=dt.date(2025, 2, 28))
    assert loan_disburse(application=early, actor=officer, disbursed_on=dt.date(2025, 2, 28)).tea_pct == D("55")

    # …and refused from its first day, naming it.
    late = _approved(officer, product=product, tea_pct="55", planned=dt.date(2025, 2, 28))
    with pytest.raises(ValidationError) as refused:
        loan_disburse(application=late, actor=officer, disbursed_on=dt.date(2025, 3, 1))
    assert refused.value.message_dict == {
        "tea_pct": ["The TEA 55.00% exceeds the BCRP cap for PEN in force since 2025-03-01 (50.00%)."]
    }
    late.refresh_from_db()
    assert late.status == LoanApplication.Status.APPROVED
    assert Loan.objects.count() == 1

    # Over the API: a 400 in the documented shape naming the field, nothing disbursed.
    response = api_client(officer).post(
        f"/api/v1/loan-applications/{late.pk}/disburse/", {"disbursed_on": "2025-03-05"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "tea_pct": ["The TEA 55.00% exceeds the BCRP cap for PEN in force since 2025-03-01 (50.00%)."]
    }
    assert Loan.objects.count() == 1


def test_item12_the_disbursement_page_shows_the_cap_as_a_form_error(officer, client) -> None:  # type: ignore[no-untyped-def]
    _cap("PEN", dt.date(2025, 3, 1), "50")
    product = LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"))
    application = _approved(officer, product=product, tea_pct="55", planned=dt.date(2025, 3, 2))
    client.force_login(officer)
    response = client.post(
        reverse("loans:application-disburse", args=[application.pk]), {"disbursed_on": "2025-03-02", "reference": ""}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "2025-03-01" in page and "(50.00%)" in page
    assert not Loan.objects.exists()


# --- The caps API ---------------------------------------------------------------------------------


def test_item12_staff_read_the_caps_and_only_the_lender_admin_records_one(  # type: ignore[no-untyped-def]
    admin_user, officer, analyst
) -> None:
    listed = api_client(analyst).get("/api/v1/rate-caps/?currency=PEN")
    assert listed.status_code == 200
    assert [(row["effective_from"], row["compensatory_tea_max_pct"]) for row in listed.json()["results"]] == [
        ("2026-01-01", "109.8300")
    ]
    body = {
        "currency": "PEN",
        "effective_from": "2026-07-01",
        "compensatory_tea_max_pct": "105.5",
        "moratory_tea_max_pct": "16.5",
        "source": "Circular BCRP",
    }
    assert api_client(officer).post("/api/v1/rate-caps/", body, format="json").status_code == 403
    created = api_client(admin_user).post("/api/v1/rate-caps/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["compensatory_tea_max_pct"] == "105.5000"
    assert AuditEvent.objects.filter(action="rate_cap.create").count() == 1

    # The same currency and day again is refused, naming the field: caps are never replaced.
    again = api_client(admin_user).post(
        "/api/v1/rate-caps/", {**body, "compensatory_tea_max_pct": "100"}, format="json"
    )
    assert again.status_code == 400
    assert list(again.json()["error"]["fields"]) == ["effective_from"]
    assert (
        api_client(admin_user)
        .post(
            "/api/v1/rate-caps/",
            {**body, "effective_from": "2026-08-01", "compensatory_tea_max_pct": "1098.3"},
            format="json",
        )
        .status_code
        == 400
    )

    in_force = api_client(analyst).get("/api/v1/rate-caps/?on=2026-06-30")
    assert sorted((r["currency"], r["effective_from"]) for r in in_force.json()["results"]) == [
        ("PEN", "2026-01-01"),
        ("USD", "2026-01-01"),
    ]
    later = api_client(analyst).get("/api/v1/rate-caps/?on=2026-07-01&currency=PEN")
    assert [r["compensatory_tea_max_pct"] for r in later.json()["results"]] == ["105.5000"]
    assert api_client(analyst).get("/api/v1/rate-caps/?on=not-a-date").status_code == 400
