"""The whole lending cycle through the API only: product, miner, buyer and key, supplier, application,
submit, approval by another user, disbursement, settlements with withholdings, remittance,
reconciliation and the buyer's statement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from loans.models import LoanApplication
from tests.api.conftest import key_client, settlement_body, today


def test_it_runs_a_loan_from_product_to_statement(admin_api, officer_api, approver_api, analyst_api) -> None:
    def ok(response, status=200):  # type: ignore[no-untyped-def]
        assert response.status_code == status, response.content[:800]
        return response.json()

    product = ok(
        admin_api.post(
            "/api/v1/loan-products/",
            {
                "code": "equipo-hg0",
                "name": "Equipo libre de mercurio",
                "purpose": "mercury_free_equipment",
                "currency": "PEN",
                "tea_pct": "40",
                "max_tea_pct": "60",
                "moratory_tea_pct": "15",
                "min_amount": "1000",
                "max_amount": "100000",
                "min_term": 3,
                "max_term": 36,
            },
            format="json",
        ),
        201,
    )
    miner = ok(
        officer_api.post(
            "/api/v1/miners/",
            {
                "first_names": "Rosa",
                "last_names": "Huamán Condori",
                "document_type": "DNI",
                "document_number": "41234567",
                "gender": "F",
                "ubigeo": "040112",
                "role": "owner_operator",
                "reinfo_code": "REINFO-000123",
                "reinfo_status": "vigente",
                "formalization_stage": "reinfo",
            },
            format="json",
        ),
        201,
    )
    buyer = ok(
        admin_api.post(
            "/api/v1/buyers/",
            {
                "ruc": "20100130204",
                "name": "Minera Orex S.A.C.",
                "region": "04",
                "kind": "mining_company",
            },
            format="json",
        ),
        201,
    )
    key = ok(admin_api.post(f"/api/v1/buyers/{buyer['id']}/api-keys/", {"name": "ERP"}, format="json"), 201)["key"]
    ok(
        officer_api.post(
            "/api/v1/suppliers/",
            {
                "buyer": buyer["id"],
                "miner": miner["id"],
                "since": "2023-01-01",
                "agreement_kind": "coexistence",
            },
            format="json",
        ),
        201,
    )

    start = today() - dt.timedelta(days=75)
    application = ok(
        officer_api.post(
            "/api/v1/loan-applications/",
            {
                "miner": miner["id"],
                "product": product["id"],
                "amount": "10000.00",
                "term": 6,
                "disbursement_date": start.isoformat(),
                "first_due_on": (start + dt.timedelta(days=30)).isoformat(),
                "withholding_buyer": buyer["id"],
            },
            format="json",
        ),
        201,
    )
    ok(officer_api.post(f"/api/v1/loan-applications/{application['id']}/submit/"))
    ok(
        approver_api.post(
            f"/api/v1/loan-applications/{application['id']}/approve/", {"comment": "Comité 12"}, format="json"
        )
    )
    # The story started 75 days ago, so did the committee: no disbursement is dated before its approval.
    LoanApplication.objects.filter(pk=application["id"]).update(
        decided_at=timezone.make_aware(dt.datetime.combine(start, dt.time(9)))
    )
    loan = ok(
        officer_api.post(
            f"/api/v1/loan-applications/{application['id']}/disburse/",
            {"disbursed_on": start.isoformat(), "reference": "OP-77"},
            format="json",
        ),
        201,
    )
    assert ok(officer_api.get(f"/api/v1/loans/{loan['id']}/"))["days_past_due"] >= 0

    orex = key_client(key)
    [supplier] = ok(orex.get("/api/v1/suppliers/"))["results"]
    owed_now = Decimal(supplier["amount_due"][0]["amount_due"])
    assert owed_now > 0

    class _Miner:
        pk = miner["id"]

    first = ok(orex.post("/api/v1/settlements/", settlement_body(_Miner, "L-1"), format="json"), 201)
    assert Decimal(first["withholding"]["amount"]) == owed_now
    batch = ok(
        orex.post(
            "/api/v1/settlements/bulk/",
            {
                "rows": [
                    settlement_body(_Miner, "L-2", wet_tonnes="2"),
                    settlement_body(_Miner, "L-3", wet_tonnes="2"),
                ]
            },
            format="json",
        ),
        201,
    )
    settlements = [first, *batch["settlements"]]
    withheld = sum(Decimal(s["withholding"]["amount"]) for s in settlements)

    remittance = ok(
        orex.post(
            "/api/v1/remittances/",
            {
                "reference": "BCP-000123",
                "amount": str(withheld),
                "currency": "PEN",
                "paid_on": today().isoformat(),
                "settlements": [s["id"] for s in settlements],
            },
            format="json",
        ),
        201,
    )
    assert remittance["unmatched_amount"] == "0.00"
    assert remittance["exceptions"] == []
    assert sum(Decimal(m["amount"]) for m in remittance["matches"]) == withheld

    statement = ok(orex.get("/api/v1/statement/", {"from": start.isoformat(), "to": today().isoformat()}))
    assert Decimal(statement["withheld"]["PEN"]) == withheld
    assert Decimal(statement["remitted"]["PEN"]) == withheld
    assert Decimal(statement["owed"]["PEN"]) == 0
    assert all(row["status"] in {"remitted", "reconciled"} for row in statement["rows"])

    # The lender sees the withholdings as the miner's payments, and the loan is current.
    payments = ok(analyst_api.get(f"/api/v1/loans/{loan['id']}/payments/", {"kind": "withholding"}))
    assert sum(Decimal(p["amount"]) for p in payments["results"]) == withheld
    assert ok(analyst_api.get(f"/api/v1/loans/{loan['id']}/"))["days_past_due"] == 0
