"""A settlement with a physically absurd value (a grade of 999,999 oz/TC, a price typed per gram) is
refused by every way in — the API, the bulk API, the CSV import — and the bounds are documented."""

from __future__ import annotations

from decimal import Decimal

import pytest
from drf_spectacular.generators import SchemaGenerator

from buyers.models import Settlement
from buyers.settlement_input import COST_FIELDS
from installments.services.settlement_batches import settlements_import_csv
from tests.api.conftest import BuyerPersona, settlement_body

TOO_HIGH_OR_LOW = [
    ("grade_oz_tc", "999999"),
    ("grade_oz_tc", "50.0001"),
    ("grade_g_t", "1714.2851"),
    ("wet_tonnes", "1000.001"),
    ("gold_price_usd_oz", "20000.01"),
    ("gold_price_usd_oz", "99.99"),
    ("exchange_rate", "10.0001"),
    ("exchange_rate", "0.2667"),
    *[(name, "5000.01") for name in COST_FIELDS],
]


def _body(orex: BuyerPersona, name: str, value: str) -> dict[str, str]:
    body = settlement_body(orex.supplier, "L-ABSURD", **{name: value})
    if name == "grade_g_t":
        body.pop("grade_oz_tc")
    return body


def test_the_audited_grade_of_999999_oz_tc_is_refused_and_nothing_is_stored(orex: BuyerPersona) -> None:
    response = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-1", grade_oz_tc="999999"), format="json"
    )
    assert response.status_code == 400
    assert "grade_oz_tc" in response.json()["error"]["fields"]
    assert not Settlement.objects.exists()


@pytest.mark.parametrize(("name", "value"), TOO_HIGH_OR_LOW, ids=lambda v: str(v))
def test_the_api_refuses_a_value_outside_its_realistic_bounds(orex: BuyerPersona, name: str, value: str) -> None:
    response = orex.client.post("/api/v1/settlements/", _body(orex, name, value), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [name]
    assert not Settlement.objects.exists()


def test_the_bulk_api_and_the_csv_import_refuse_it_too(orex: BuyerPersona) -> None:
    body = {"rows": [settlement_body(orex.supplier, "L-1"), settlement_body(orex.supplier, "L-2", wet_tonnes="5000")]}
    response = orex.client.post("/api/v1/settlements/bulk/", body, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["rows.1.wet_tonnes"]

    row = {k: str(v) for k, v in settlement_body(orex.supplier, "L-3", gold_price_usd_oz="3322100").items()}
    text = ",".join(row) + "\n" + ",".join(row.values())
    result = settlements_import_csv(buyer=orex.buyer, actor="test", text=text)
    assert list(result.errors) == [2] and list(result.errors[2]) == ["gold_price_usd_oz"]
    assert not Settlement.objects.exists()


def test_a_lot_at_every_upper_bound_is_still_valued_and_saved(orex: BuyerPersona) -> None:
    body = settlement_body(
        orex.supplier,
        "L-RICH",
        grade_oz_tc="50",
        wet_tonnes="1000",
        moisture_pct="0",
        recovery="1",
        gold_price_usd_oz="20000",
        exchange_rate="10",
        commercial_deduction_usd_oz="0",
        maquila_usd_tc="0",
        reagents_usd_tms="0",
        freight_usd_tms="0",
    )
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201, response.json()
    # (20,000 × 50 × 1) × 1.10231 × 1,000 TMS
    assert Settlement.objects.get().payable_usd == Decimal("1102310000.00")


def test_a_grade_in_g_t_is_held_to_the_same_bound_as_in_oz_tc(orex: BuyerPersona) -> None:
    body = settlement_body(orex.supplier, "L-GT", grade_g_t="1714.2850")
    body.pop("grade_oz_tc")
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201, response.json()
    assert Settlement.objects.get().grade_oz_tc == Decimal("50.0000")


def test_the_openapi_document_shows_the_new_bounds() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    properties = schema["components"]["schemas"]["SettlementInputRequest"]["properties"]
    bounds = {name: (properties[name].get("minimum"), properties[name].get("maximum")) for name in properties}
    as_decimals = {name: tuple(None if b is None else Decimal(str(b)) for b in pair) for name, pair in bounds.items()}
    assert as_decimals["grade_oz_tc"] == (0, 50)
    assert as_decimals["grade_g_t"] == (0, Decimal("1714.285"))
    assert as_decimals["wet_tonnes"] == (Decimal("0.001"), 1000)
    assert as_decimals["gold_price_usd_oz"] == (100, 20000)
    assert as_decimals["exchange_rate"] == (1, 10)
    for name in COST_FIELDS:
        assert as_decimals[name] == (0, 5000), name
