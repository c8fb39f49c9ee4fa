"""POST simulations/: the loan simulator (rates in percent), for any authenticated client."""

from __future__ import annotations

from decimal import Decimal

WORKED_EXAMPLE = {
    "amount": "10000.00",
    "tea": "40",
    "term": 6,
    "disbursement_date": "2025-01-15",
    "first_due_date": "2025-02-17",
    "due_dates": ["2025-02-17", "2025-03-17", "2025-04-15", "2025-05-15", "2025-06-16", "2025-07-15"],
}


def test_it_reproduces_the_domain_worked_example(officer_api) -> None:
    response = officer_api.post("/api/v1/simulations/", WORKED_EXAMPLE, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["installment"] == "1838.45"
    assert [row["interest"] for row in body["rows"]] == ["313.24", "224.71", "188.51", "148.18", "106.89", "49.16"]
    assert body["totals"]["principal"] == "10000.00"
    assert body["rows"][-1]["closing_balance"] == "0.00"
    # Without insurance or fees the total cost is the TEA itself.
    assert Decimal(body["tcea_pct"]) == Decimal("40.00")


def test_it_is_open_to_buyers(orex) -> None:
    body = {name: value for name, value in WORKED_EXAMPLE.items() if name != "due_dates"}
    response = orex.client.post("/api/v1/simulations/", body, format="json")
    assert response.status_code == 200
    assert [row["due_on"] for row in response.json()["rows"]][:3] == ["2025-02-17", "2025-03-17", "2025-04-17"]


def test_it_adds_insurance_and_fees_to_the_tcea(analyst_api) -> None:
    body = {**WORKED_EXAMPLE, "insurance_monthly_rate": "0.08", "fee_per_installment": "5.00", "upfront_fees": "100"}
    response = analyst_api.post("/api/v1/simulations/", body, format="json")
    assert response.status_code == 200
    result = response.json()
    assert Decimal(result["tcea_pct"]) > Decimal("40")
    assert result["net_received"] == "9900.00"
    assert all(row["fees"] == "5.00" for row in result["rows"])


def test_it_simulates_partial_grace(officer_api) -> None:
    body = {**WORKED_EXAMPLE, "grace_periods": 2, "grace_kind": "partial"}
    rows = officer_api.post("/api/v1/simulations/", body, format="json").json()["rows"]
    assert [row["principal"] for row in rows[:2]] == ["0.00", "0.00"]


def test_it_explains_bad_terms_field_by_field(officer_api) -> None:
    body = {**WORKED_EXAMPLE, "first_due_date": "2025-01-10", "tea": "-1", "term": 0}
    response = officer_api.post("/api/v1/simulations/", body, format="json")
    assert response.status_code == 400
    assert {"tea", "term"} <= set(response.json()["error"]["fields"])


def test_it_refuses_grace_that_leaves_nothing_to_amortize(officer_api) -> None:
    body = {**WORKED_EXAMPLE, "grace_periods": 6, "grace_kind": "total"}
    response = officer_api.post("/api/v1/simulations/", body, format="json")
    assert response.status_code == 400
    assert "grace_periods" in response.json()["error"]["fields"]
