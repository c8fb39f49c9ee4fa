"""``/api/v1/guarantee-claims/``: filed by an officer, approved by someone else, the fund's payment and the
remittance of its share of the recoveries recorded by treasury; refusals in the documented error shape."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from installments.services import payment_record
from lifecycle.models import GuaranteedProduct, GuaranteeFund
from loans.models import Loan
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


def api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def defaulted(officer, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    GuaranteedProduct.objects.create(fund=GuaranteeFund.objects.get(code="crecer"), product=product)
    disbursed = TODAY - dt.timedelta(days=130)
    return disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def test_a_claim_goes_from_filing_to_the_funds_payment_and_its_share(  # type: ignore[no-untyped-def]
    officer, approver, analyst, treasurer, defaulted, rosa, product
) -> None:
    assert api(analyst).post("/api/v1/guarantee-claims/", {"loan": defaulted.pk}, format="json").status_code == 403
    missing = api(officer).post("/api/v1/guarantee-claims/", {"loan": 999999}, format="json")
    assert missing.status_code == 400 and missing.json()["error"]["fields"] == {"loan": ["No such loan."]}
    huge = api(officer).post("/api/v1/guarantee-claims/", {"loan": 2**70}, format="json")
    assert huge.status_code == 400 and "loan" in huge.json()["error"]["fields"]
    young = disburse(
        miner=rosa, product=product, officer=officer, disbursed_on=TODAY, first_due_on=TODAY + dt.timedelta(days=30)
    )
    refused = api(officer).post("/api/v1/guarantee-claims/", {"loan": young.pk}, format="json")
    assert refused.status_code == 409
    assert "0 days past due; Fondo CRECER takes claims from 90 days" in refused.json()["error"]["message"]

    filed = api(officer).post(
        "/api/v1/guarantee-claims/", {"loan": defaulted.pk, "note": "No deliveries"}, format="json"
    )
    assert filed.status_code == 201, filed.content
    claim = filed.json()
    assert (claim["status"], claim["amount"], claim["fund"], claim["days_past_due"]) == (
        "pending",
        "8000.00",
        "crecer",
        100,
    )
    url = f"/api/v1/guarantee-claims/{claim['id']}/"
    assert api(officer).post(url + "approve/", {}, format="json").status_code == 403
    assert api(approver).post(url + "approve/", {}, format="json").json()["status"] == "approved"

    payment = {"paid_on": TODAY.isoformat(), "amount": "8000.01", "bank_reference": "BN-1"}
    assert api(officer).post(url + "payment/", payment, format="json").status_code == 403
    too_much = api(treasurer).post(url + "payment/", payment, format="json")
    assert too_much.status_code == 400 and "amount" in too_much.json()["error"]["fields"]
    paid = api(treasurer).post(url + "payment/", {**payment, "amount": "8000.00"}, format="json")
    assert paid.status_code == 200 and paid.json()["status"] == "paid" and paid.json()["exposure_after"] == "2000.00"

    payment_record(loan=defaulted, amount=Decimal("500.00"), paid_on=TODAY, actor=officer)
    shown = api(analyst).get(url).json()
    assert shown["recovery"] == {
        "recovered": "500.00",
        "fund_share": "400.00",
        "remitted": "0.00",
        "owed_to_fund": "400.00",
    }
    remit = {"amount": "150.00", "remitted_on": TODAY.isoformat(), "reference": "TR-7"}
    remitted = api(treasurer).post(url + "remittances/", remit, format="json")
    assert remitted.status_code == 201
    assert (
        remitted.json()["recovery"]["owed_to_fund"] == "250.00"
        and remitted.json()["remittances"][0]["amount"] == "150.00"
    )
    over = api(treasurer).post(url + "remittances/", {**remit, "amount": "250.01"}, format="json")
    assert over.status_code == 400 and "250.00" in over.json()["error"]["fields"]["amount"][0]

    listed = api(analyst).get("/api/v1/guarantee-claims/?status=paid&fund=crecer").json()
    assert [row["id"] for row in listed["results"]] == [claim["id"]]
    assert api(analyst).get("/api/v1/guarantee-claims/?status=pending").json()["results"] == []
