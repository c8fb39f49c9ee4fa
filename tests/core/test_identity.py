"""DNI, carné de extranjería, RUC and ubigeo (DOMAIN.md §2)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from miners.identity import (
    is_valid_ce,
    is_valid_dni,
    is_valid_ruc,
    is_valid_ubigeo,
    normalize_document,
    personal_ruc,
    ruc_check_digit,
    validate_ce,
    validate_dni,
    validate_ruc,
    validate_ubigeo,
)

# Published RUCs of well-known Peruvian companies and of SUNAT itself.
REAL_RUCS = [
    "20100070970",  # Supermercados Peruanos
    "20100190797",  # Gloria
    "20100047218",  # Banco de Crédito del Perú
    "20131312955",  # SUNAT
]


@pytest.mark.parametrize("dni", ["46779354", "00000001", "12345678"])
def test_it_accepts_eight_digit_dnis(dni: str) -> None:
    assert is_valid_dni(dni)
    validate_dni(dni)


@pytest.mark.parametrize("dni", ["", "1234567", "123456789", "1234567a", " 12345678", "１２３４５６７８"])
def test_it_rejects_anything_but_eight_ascii_digits_as_a_dni(dni: str) -> None:
    assert not is_valid_dni(dni)
    with pytest.raises(ValidationError) as excinfo:
        validate_dni(dni)
    assert excinfo.value.code == "invalid_dni"


@pytest.mark.parametrize("ce", ["001234567", "A1", "ABCDEF123456", "x"])
def test_it_accepts_up_to_twelve_letters_or_digits_as_a_ce(ce: str) -> None:
    assert is_valid_ce(ce)
    validate_ce(ce)


@pytest.mark.parametrize("ce", ["", "ABCDEF1234567", "00-123", "Ñ12345"])
def test_it_rejects_other_carnes_de_extranjeria(ce: str) -> None:
    assert not is_valid_ce(ce)
    with pytest.raises(ValidationError) as excinfo:
        validate_ce(ce)
    assert excinfo.value.code == "invalid_ce"


@pytest.mark.parametrize("ruc", REAL_RUCS)
def test_it_accepts_real_rucs(ruc: str) -> None:
    assert ruc_check_digit(ruc[:10]) == int(ruc[10])
    assert is_valid_ruc(ruc)
    validate_ruc(ruc)


@pytest.mark.parametrize("ruc", REAL_RUCS)
def test_it_rejects_every_wrong_check_digit(ruc: str) -> None:
    for digit in "0123456789":
        if digit != ruc[10]:
            candidate = ruc[:10] + digit
            assert not is_valid_ruc(candidate)
            with pytest.raises(ValidationError) as excinfo:
                validate_ruc(candidate)
            assert excinfo.value.code == "invalid_ruc_check_digit"


def test_it_computes_the_check_digit_by_hand() -> None:
    # 2·5 + 0·4 + 1·3 + 0·2 + 0·7 + 1·6 + 9·5 + 0·4 + 7·3 + 9·2 = 103; 103 mod 11 = 4; 11 − 4 = 7.
    assert ruc_check_digit("2010019079") == 7
    # S = 89, 89 mod 11 = 1: 11 − 1 = 10, which becomes 0.
    assert ruc_check_digit("2010007097") == 0
    # S = 22, 22 mod 11 = 0: 11 − 0 = 11, which becomes 1.
    assert ruc_check_digit("2010000013") == 1


def test_it_rejects_a_ruc_with_an_unknown_prefix_even_if_the_digit_checks() -> None:
    first10 = "1110019079"
    ruc = first10 + str(ruc_check_digit(first10))

    assert not is_valid_ruc(ruc)
    with pytest.raises(ValidationError) as excinfo:
        validate_ruc(ruc)
    assert excinfo.value.code == "invalid_ruc_prefix"


@pytest.mark.parametrize("ruc", ["", "2010007097", "201000709701", "2010007097a"])
def test_it_rejects_rucs_that_are_not_eleven_digits(ruc: str) -> None:
    assert not is_valid_ruc(ruc)
    with pytest.raises(ValidationError) as excinfo:
        validate_ruc(ruc)
    assert excinfo.value.code == "invalid_ruc"


def test_it_refuses_to_compute_a_check_digit_for_a_malformed_prefix() -> None:
    with pytest.raises(ValueError):
        ruc_check_digit("123")


def test_it_derives_the_personal_ruc_from_a_dni() -> None:
    assert personal_ruc("46779354") == "10467793549"
    with pytest.raises(ValueError):
        personal_ruc("4677935")


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(["10", "15", "17", "20"]), st.text("0123456789", min_size=8, max_size=8))
def test_it_accepts_exactly_one_check_digit_per_number(prefix: str, body: str) -> None:
    first10 = prefix + body
    valid = [digit for digit in "0123456789" if is_valid_ruc(first10 + digit)]

    assert valid == [str(ruc_check_digit(first10))]


@settings(max_examples=100, deadline=None)
@given(st.text("0123456789", min_size=8, max_size=8))
def test_it_always_builds_a_valid_personal_ruc(dni: str) -> None:
    ruc = personal_ruc(dni)

    assert ruc.startswith("10")
    assert ruc[2:10] == dni
    assert is_valid_ruc(ruc)


@pytest.mark.parametrize("ubigeo", ["040101", "170101", "210101", "250101", "010101"])
def test_it_accepts_district_ubigeos(ubigeo: str) -> None:
    assert is_valid_ubigeo(ubigeo)
    validate_ubigeo(ubigeo)


@pytest.mark.parametrize("ubigeo", ["000101", "260101", "990101", "040001", "040100", "04010", "0401011", "04O101"])
def test_it_rejects_other_ubigeos(ubigeo: str) -> None:
    assert not is_valid_ubigeo(ubigeo)
    with pytest.raises(ValidationError) as excinfo:
        validate_ubigeo(ubigeo)
    assert excinfo.value.code == "invalid_ubigeo"


@pytest.mark.parametrize(
    ("validator", "value"),
    [(validate_dni, "1"), (validate_ce, ""), (validate_ruc, "1"), (validate_ubigeo, "1")],
)
def test_it_explains_every_rejection(validator: Callable[[str], None], value: str) -> None:
    with pytest.raises(ValidationError) as excinfo:
        validator(value)

    assert excinfo.value.messages[0]


def test_it_normalizes_what_officers_type() -> None:
    assert normalize_document(" 4677 9354 ") == "46779354"
    assert normalize_document("ab12") == "AB12"
