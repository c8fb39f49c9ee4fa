"""Control characters (C0 other than tab, newline and carriage return; DEL) are refused in text input: by
the API's JSON parser for every endpoint, with a 400 naming the field, and by the settlement row's text
fields for the CSV import and the forms."""

from __future__ import annotations

import json

import pytest
from rest_framework import exceptions

from asmcredit.parsers import check_parsed_json
from buyers.models import Settlement
from buyers.settlement_input import SettlementRowForm
from installments.services.settlement_batches import settlements_import_csv
from tests.api.conftest import BuyerPersona, settlement_body

CONTROLS = ["\x01", "\x08", "\x0b", "\x0c", "\x1b[2J", "\x1f", "\x7f"]


@pytest.mark.parametrize("control", CONTROLS, ids=repr)
def test_the_api_refuses_a_control_character_naming_the_field(orex: BuyerPersona, control: str) -> None:
    body = settlement_body(orex.supplier, f"L-1{control}")
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"lot_code": ["The text contains a control character."]}
    assert not Settlement.objects.exists()


def test_inside_a_list_the_field_is_named_by_its_row(orex: BuyerPersona) -> None:
    rows = [settlement_body(orex.supplier, "L-1"), settlement_body(orex.supplier, "L-2", gold_price_source="LBMA\x1b")]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["rows.1.gold_price_source"]


def test_a_key_with_a_control_character_is_a_parse_error(orex: BuyerPersona) -> None:
    body = json.dumps({**settlement_body(orex.supplier, "L-1"), "lot\x07code": "x"})
    response = orex.client.post("/api/v1/settlements/", body, content_type="application/json")
    assert response.status_code == 400
    assert not Settlement.objects.exists()


def test_every_endpoint_is_covered_by_the_parser() -> None:
    with pytest.raises(exceptions.ValidationError) as caught:
        check_parsed_json({"miner": {"names": ["Ana", "Rosa\x1b"]}})
    assert caught.value.detail == {"miner.names.1": ["The text contains a control character."]}


def test_tab_newline_and_carriage_return_are_ordinary_text(orex: BuyerPersona) -> None:
    check_parsed_json({"note": "line one\r\nline\ttwo"})
    body = settlement_body(orex.supplier, "L-1", gold_price_source="LBMA\tPM")
    assert orex.client.post("/api/v1/settlements/", body, format="json").status_code == 201


def test_the_csv_import_and_the_row_form_refuse_it_too(orex: BuyerPersona) -> None:
    row = {k: str(v) for k, v in settlement_body(orex.supplier, "L-\x1b1").items()}
    text = ",".join(row) + "\n" + ",".join(row.values())
    result = settlements_import_csv(buyer=orex.buyer, actor="test", text=text)
    assert result.errors == {2: {"lot_code": ["The text contains a control character."]}}
    assert not Settlement.objects.exists()

    form = SettlementRowForm(data={**row, "lot_code": "L-1", "miner_document": "", "gold_price_source": "x\x7f"})
    assert not form.is_valid()
    assert form.errors["gold_price_source"] == ["The text contains a control character."]
