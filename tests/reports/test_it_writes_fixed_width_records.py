"""Fixed-width records (reports.regulatory.fixed_width): pure, no database."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reports.regulatory.fixed_width import (
    CENTS,
    CONSTANT,
    DATE,
    INTEGER,
    RIGHT,
    TEXT,
    CompiledRecord,
    FieldOverflow,
    FieldSpec,
    format_value,
    layout_problems,
    record_spec,
)

BALANCE = record_spec(
    "balance",
    [
        FieldSpec("type", CONSTANT, 1, 1, constant="2"),
        FieldSpec("name", "name", 2, 10),
        FieldSpec("amount", "balance", 13, 12, CENTS, "0", RIGHT),  # column 12 left blank
        FieldSpec("dpd", "dpd", 25, 4, INTEGER, "0", RIGHT),
        FieldSpec("on", "cutoff", 29, 8, DATE),
    ],
)


def test_it_places_pads_and_formats_each_field():
    line = CompiledRecord(BALANCE).render(
        {"name": "Ñahui  rosa", "balance": Decimal("3520.84"), "dpd": 14, "cutoff": dt.date(2025, 6, 30)}
    )
    assert line == "2" + "ÑAHUI ROSA" + " " + "000000352084" + "0014" + "20250630"
    assert CompiledRecord(BALANCE).render({"name": "Huamán"}) == CompiledRecord(BALANCE).render({"name": "HUAMÁN"})


def test_it_cuts_a_long_name_but_never_a_number():
    assert format_value(FieldSpec("n", "name", 1, 5), "Condori Apaza") == "CONDO"
    with pytest.raises(FieldOverflow):
        format_value(FieldSpec("a", "balance", 1, 5, CENTS, "0", RIGHT), Decimal("1000.00"))
    with pytest.raises(FieldOverflow):
        format_value(FieldSpec("a", "balance", 1, 9, CENTS, "0", RIGHT), Decimal("-1.00"))
    with pytest.raises(FieldOverflow):
        format_value(FieldSpec("a", "balance", 1, 9, CENTS, "0", RIGHT), Decimal("1.005"))


def test_it_writes_what_the_encoding_cannot_hold_without_its_accent():
    assert format_value(FieldSpec("n", "name", 1, 8, TEXT), "Şahin", encoding="latin-1") == "SAHIN   "


@given(
    amount=st.decimals(min_value=0, max_value=Decimal("9999999999.99"), places=2),
    dpd=st.integers(min_value=0, max_value=9999),
)
def test_a_record_reads_back_what_was_written(amount, dpd):
    record = CompiledRecord(BALANCE)
    line = record.render({"balance": amount, "dpd": dpd})
    assert record.matches(line)
    assert record.parse(line, ("balance", "dpd")) == {"balance": amount, "dpd": dpd}


def test_it_names_what_keeps_a_layout_from_reading_back():
    header = record_spec("header", [FieldSpec("type", CONSTANT, 1, 1, constant="2")])
    debtor = record_spec("debtor", [FieldSpec("seq", "debtor_seq", 1, 9, INTEGER, "0")])
    totals = record_spec(
        "totals", [FieldSpec("type", CONSTANT, 1, 1, constant="9"), FieldSpec("n", "records", 1, 3, INTEGER)]
    )
    problems = layout_problems({"header": header, "debtor": debtor, "balance": BALANCE, "totals": totals})
    assert problems == [
        "debtor.seq: a number aligned left pads with spaces.",
        "The debtor record has no constant field to tell it apart.",
        "The balance and header records have the same constants.",
        "totals: n overlaps type.",
    ]
