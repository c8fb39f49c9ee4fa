"""Every bound declared in ``buyers.settlement_input.SETTLEMENT_FIELDS`` is enforced alike by the row
form, the settlements API and the CSV import, and shown as such in the OpenAPI schema."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import Any

import pytest
from django import forms
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from buyers.models import Settlement
from buyers.settlement_input import (
    COST_FIELDS,
    CSV_ALIASES,
    NUMERIC_FIELDS,
    ROW_FIELDS,
    SETTLEMENT_FIELDS,
    FieldSpec,
    SettlementInput,
    SettlementRowForm,
)
from installments.api.buyers import SettlementInputSerializer
from installments.services.settlement_batches import settlements_import_csv
from tests.api.conftest import _buyer_persona, settlement_body


def _out_of_bounds(spec: FieldSpec) -> list[tuple[str, str | None]]:
    """(what is wrong, the value that is wrong that way) for each bound ``spec`` declares; None omits it."""
    cases: list[tuple[str, str | None]] = []
    if spec.required and spec.default is None:
        cases.append(("required", None))
    step = Decimal(1) if spec.kind == "integer" else Decimal(10) ** -(spec.decimal_places or 0)
    if spec.min_value is not None:
        cases.append(("min_value", str(Decimal(spec.min_value) - step)))
    if spec.max_value is not None:
        cases.append(("max_value", str(Decimal(spec.max_value) + step)))
    if spec.kind == "decimal":
        assert spec.max_digits is not None and spec.decimal_places is not None
        whole = spec.max_digits - spec.decimal_places
        cases.append(("max_digits", "1" * (whole + 1)))
        cases.append(("decimal_places", "0." + "0" * spec.decimal_places + "1"))
    if spec.max_length is not None:
        cases.append(("max_length", "X" * (spec.max_length + 1)))
    if spec.choices:
        cases.append(("choices", "XYZ"))
    return cases


CASES = [
    pytest.param(spec.name, value, id=f"{spec.name}-{bound}")
    for spec in SETTLEMENT_FIELDS
    for bound, value in _out_of_bounds(spec)
]


def _row(supplier: Any, name: str, value: str | None) -> dict[str, Any]:
    """The DOMAIN.md §4 lot with ``name`` set to ``value`` (or left out) and the fields that exclude it
    left out, so that ``name`` alone is wrong."""
    row = {key: str(v) for key, v in settlement_body(supplier, "L-BOUNDS").items()}
    if name in ("miner_document", "miner_document_type"):
        row.pop("miner")
        row["miner_document"] = supplier.document_number
    if name == "grade_g_t":
        row.pop("grade_oz_tc")
    row.pop(name, None)
    if value is not None:
        row[name] = value
    return row


def test_the_lists_of_fields_are_read_off_the_spec() -> None:
    assert tuple(spec.name for spec in SETTLEMENT_FIELDS) == ROW_FIELDS
    assert list(SettlementRowForm.base_fields) == list(ROW_FIELDS)
    assert set(COST_FIELDS) <= NUMERIC_FIELDS <= set(ROW_FIELDS)
    assert set(CSV_ALIASES.values()) <= set(ROW_FIELDS)
    # A validated row fills a SettlementInput: the miner and the grade resolved, the payable named in US$.
    filled = {"miner_document": "miner", "miner_document_type": "miner", "grade_g_t": "grade_oz_tc"}
    filled["declared_payable"] = "declared_payable_usd"
    inputs = {f.name for f in dataclasses.fields(SettlementInput)}
    # What the row does not carry: where its maquila came from, and the terms in force on its date.
    derived = {"maquila_source", "terms"}
    assert {filled.get(name, name) for name in ROW_FIELDS} == inputs - derived


@pytest.mark.parametrize("spec", SETTLEMENT_FIELDS, ids=lambda spec: spec.name)
def test_the_api_schema_shows_the_bounds_the_form_enforces(spec: FieldSpec) -> None:
    form_field = SettlementRowForm.base_fields[spec.name]
    api_field = SettlementInputSerializer().fields[spec.name]
    assert api_field.required == form_field.required
    for bound in ("min_value", "max_value", "max_digits", "decimal_places", "max_length"):
        assert getattr(api_field, bound, None) == getattr(form_field, bound, None), bound
    if spec.choices:
        assert isinstance(api_field, serializers.ChoiceField) and isinstance(form_field, forms.ChoiceField)
        assert list(api_field.choices) == [value for value, _label in form_field.choices]


def test_the_openapi_document_carries_the_bounds() -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    properties = schema["components"]["schemas"]["SettlementInputRequest"]["properties"]
    required = set(schema["components"]["schemas"]["SettlementInputRequest"]["required"])
    for spec in SETTLEMENT_FIELDS:
        documented = properties[spec.name]
        assert (spec.name in required) == (spec.required and spec.default is None), spec.name
        if spec.min_value is not None:
            assert Decimal(str(documented["minimum"])) == spec.min_value, spec.name
        if spec.max_value is not None:
            assert Decimal(str(documented["maximum"])) == spec.max_value, spec.name
        if spec.max_length is not None:
            assert documented["maxLength"] == spec.max_length, spec.name


@pytest.mark.parametrize(("name", "value"), CASES)
def test_the_form_the_api_and_the_csv_import_refuse_a_value_out_of_bounds(db, name: str, value: str | None) -> None:
    orex = _buyer_persona("Minera Orex S.A.C.")
    row = _row(orex.supplier, name, value)
    assert SettlementRowForm(data=_row(orex.supplier, "lot_code", "L-OK")).is_valid()

    form = SettlementRowForm(data=row)
    assert not form.is_valid()
    assert name in form.errors

    response = orex.client.post("/api/v1/settlements/", row, format="json")
    assert response.status_code == 400
    assert name in response.json()["error"]["fields"]

    columns = list(row)
    text = "\n".join([",".join(columns), ",".join(row[c] for c in columns)])
    result = settlements_import_csv(buyer=orex.buyer, actor="test", text=text)
    assert not result.ok
    assert name in result.errors[2]
    assert not Settlement.objects.exists()


@pytest.mark.parametrize("spec", [s for s in SETTLEMENT_FIELDS if s.min_value is not None], ids=lambda s: s.name)
def test_a_value_on_the_bound_is_accepted(db, spec: FieldSpec) -> None:
    orex = _buyer_persona("Minera Orex S.A.C.")
    for bound in (spec.min_value, spec.max_value):
        if bound is not None:
            form = SettlementRowForm(data=_row(orex.supplier, spec.name, str(bound)))
            assert spec.name not in form.errors, (bound, form.errors)
