"""GSM-7 counting (GSM 03.38): the basic set costs one septet, the extension table two, anything else
sends the whole SMS as UCS-2; Spanish á í ó ú lose their accent on the SMS channel only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from notices.rendering import (
    NotGSM7,
    Phrase,
    day_es,
    gsm7_length,
    gsm7_transliterate,
    money_es,
    render_text,
    sms_size,
    unknown_variables,
)


def test_it_counts_one_septet_for_the_basic_set_spanish_letters_included() -> None:
    assert gsm7_length("Hola") == 4
    assert gsm7_length("é ñ Ñ ü Ü à è ì ò ù É ¿¡") == 24
    assert gsm7_length("S/ 1,234.50 @£$") == 15
    assert gsm7_length("línea 1\nlínea 2".replace("í", "i")) == 15


def test_it_counts_two_septets_for_the_extension_table() -> None:
    assert gsm7_length("^{}\\[~]|€") == 18
    assert gsm7_length("a€b") == 4


def test_a_character_outside_gsm7_makes_the_text_ucs2() -> None:
    with pytest.raises(NotGSM7) as error:
        gsm7_length("crédito á ó")
    assert error.value.chars == "áó"
    size = sms_size("Su crédito está al día")
    assert (size.encoding, size.length, size.segments, size.single_limit) == ("UCS-2", 22, 1, 70)
    assert sms_size("x" * 70 + "á").segments == 2  # 71 UTF-16 units in parts of 67
    assert sms_size("😀").length == 2  # a surrogate pair is two UCS-2 units


def test_it_counts_the_parts_of_a_long_gsm7_message() -> None:
    assert (sms_size("x" * 160).segments, sms_size("x" * 161).segments) == (1, 2)
    assert (sms_size("x" * 306).segments, sms_size("x" * 307).segments) == (2, 3)
    assert sms_size("€" * 80).length == 160


def test_it_strips_only_the_accents_gsm7_lacks() -> None:
    assert gsm7_transliterate("Huamán Ríos Ñoño: crédito, cuota, Último, ÍÓÚÁ") == (
        "Huaman Rios Ñoño: crédito, cuota, Ultimo, IOUA"
    )
    assert gsm7_transliterate("“Hola” – ok…") == '"Hola" - ok...'
    assert gsm7_transliterate("ç") == "c"
    assert gsm7_transliterate("金") == "金"  # no GSM-7 form: the message goes as UCS-2


def test_an_sms_is_transliterated_and_other_channels_keep_every_accent() -> None:
    context = {"name": "Ramón", "amount": money_es(Decimal("1234.5"))}
    body = "Señor {{ name }}: su crédito   recibió {{ amount }}.\n\n\n\nGracias"
    _, sms = render_text(subject="", body=body, channel="sms", language="es", context=context)
    assert sms == "Señor Ramon: su crédito recibio S/ 1,234.50.\n\nGracias"
    assert gsm7_length(sms) == len(sms)
    subject, mail = render_text(subject="Hola {{ name }}", body=body, channel="email", language="es", context=context)
    assert subject == "Hola Ramón"
    assert "recibió S/ 1,234.50" in mail


def test_it_formats_amounts_and_dates_the_peruvian_way() -> None:
    assert money_es(Decimal("1234.505")) == "S/ 1,234.51"
    assert money_es(Decimal("68000"), "USD") == "US$ 68,000.00"
    assert day_es(dt.date(2026, 3, 5)) == "05/03/2026"
    assert day_es(None) == ""


def test_a_phrase_speaks_the_language_of_the_message_and_nothing_is_escaped() -> None:
    context = {"phrase": Phrase(es="Le pagaron el 97.6%", en="You were paid 97.6%"), "buyer": "Oro & Plata <SAC>"}
    body = "{{ phrase }} — {{ buyer }}"
    assert render_text(subject="", body=body, channel="whatsapp", language="es", context=context)[1] == (
        "Le pagaron el 97.6% — Oro & Plata <SAC>"
    )
    assert render_text(subject="", body=body, channel="email", language="en", context=context)[1] == (
        "You were paid 97.6% — Oro & Plata <SAC>"
    )


def test_it_names_the_variables_a_template_uses_but_the_event_lacks() -> None:
    assert unknown_variables(
        subject="{{ lot }}", body="{{ a }} {{ typo }}{% if b %}{{ b }}{% endif %}", context={"a": "1"}
    ) == [
        "lot",
        "typo",
    ]
