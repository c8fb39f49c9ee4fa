"""Dates and amounts as people write them in spreadsheets (``asmcredit.tabular.parse_date`` and
``parse_decimal``): every accepted way of writing a number reads back as that number, and a number that
could be read two ways is refused, never guessed — unless the file's other amounts show its decimal mark
(``decimal_mark_of``)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import pytest
from django.utils import translation
from hypothesis import given
from hypothesis import strategies as st

from asmcredit.tabular import CellError, decimal_mark_of, parse_date, parse_decimal, parse_text

Style = Callable[[Decimal, str], str]


def plain(value: Decimal, mark: str) -> str:
    return f"{value:f}".replace(".", mark)


def grouped(value: Decimal, mark: str) -> str:
    text = f"{value:,f}"  # "1,234.5"
    return text if mark == "." else text.translate(str.maketrans(",.", ".,"))


def _ambiguous(text: str, file_mark: str | None) -> bool:
    """One mark, three digits after it, one to three before (not a leading 0), and not the mark the
    file's other amounts show."""
    match = re.fullmatch(r"-?([1-9][0-9]{0,2})([.,])([0-9]{3})", text)
    return match is not None and match[2] != file_mark


amounts = st.integers(min_value=0, max_value=4).flatmap(
    lambda places: st.decimals(
        min_value=-(10**9), max_value=10**9, places=places, allow_nan=False, allow_infinity=False
    )
)
styles = st.sampled_from([plain, grouped])


@given(amount=amounts, mark=st.sampled_from(".,"), style=styles, file_shows_it=st.booleans())
def test_an_amount_in_any_accepted_style_reads_back_as_itself_or_is_refused_as_ambiguous(
    amount: Decimal, mark: str, style: Style, file_shows_it: bool
) -> None:
    # A file written one way: its other amounts show the same decimal mark ("3322.10"), or none does.
    text = style(amount, mark)
    file_mark = mark if file_shows_it else None
    if _ambiguous(text, file_mark):
        with pytest.raises(CellError, match="ambiguous"):
            parse_decimal(text, decimal_mark=file_mark)
    else:
        assert parse_decimal(text, decimal_mark=file_mark) == amount


@given(amount=amounts, mark=st.sampled_from(".,"))
def test_decimals_written_with_the_other_mark_than_the_rest_of_the_file_are_never_read_as_thousands(
    amount: Decimal, mark: str
) -> None:
    # A mixed file: "1.234" among "0,84"s could be either, and is refused rather than read by a guess.
    other = "," if mark == "." else "."
    try:
        assert parse_decimal(plain(amount, mark), decimal_mark=other) == amount
    except CellError as exc:
        assert "ambiguous" in exc.message


@given(amount=amounts, file_mark=st.sampled_from(".,"))
def test_an_amount_written_with_the_files_own_decimal_mark_always_reads_back(amount: Decimal, file_mark: str) -> None:
    assert parse_decimal(plain(amount, file_mark), decimal_mark=file_mark) == amount


@pytest.mark.parametrize(
    ("amounts", "mark"),
    [
        (["3322.10", "10", "1.234"], "."),
        (["0,84", "3.322,10", "1,234"], ","),
        (["1.234.567"], ","),  # points that separate thousands: the decimal mark is the comma
        (["0.84", "0,84"], None),  # a file that says both says nothing
        (["1.234", "1,234", "10"], None),  # ambiguous ones and whole numbers show no mark
        ([3322.1, Decimal("0.84"), None, ""], None),  # number cells show none either
    ],
)
def test_a_files_own_amounts_show_its_decimal_mark(amounts: list[object], mark: str | None) -> None:
    assert decimal_mark_of(amounts) == mark  # type: ignore[arg-type]


@given(amount=amounts)
def test_an_xlsx_number_cell_reads_as_the_number_typed(amount: Decimal) -> None:
    # openpyxl hands over a float; at Excel's 15 significant digits it is exactly what was typed.
    assert parse_decimal(float(amount), decimal_mark=None) == amount


@pytest.mark.parametrize(
    ("text", "file_mark", "expected"),
    [
        ("1.234,56", ",", "1234.56"),
        ("1.234,56", ".", "1234.56"),
        ("1,234.56", ",", "1234.56"),
        ("1234,56", ".", "1234.56"),
        ("1234.56", ",", "1234.56"),
        ("1.234.567", None, "1234567"),
        ("1,234,567.8", ",", "1234567.8"),
        ("0,845", None, "0.845"),  # a leading 0 never starts a thousands group
        ("12,5", ".", "12.5"),
        ("1234,567", None, "1234.567"),  # four digits before: no thousands group
        ("1.234", ".", "1.234"),  # the file's other amounts write decimals with a point
        ("1,234", ",", "1.234"),  # ... or with a comma
        (" -3.322,10 ", ",", "-3322.10"),
        (",5", ".", "0.5"),
        (12212.830000000002, None, "12212.83"),  # a formula's binary noise goes
        (7, None, "7"),
        ("", ".", None),
        (None, None, None),
    ],
)
def test_it_reads_amounts(text: object, file_mark: str | None, expected: str | None) -> None:
    result = parse_decimal(text, decimal_mark=file_mark)  # type: ignore[arg-type]
    assert result == (None if expected is None else Decimal(expected))


@pytest.mark.parametrize(
    ("text", "file_mark"),
    [("1,234", "."), ("1.234", ","), ("1.234", None), ("-1,234", None), ("999,000", ".")],
)
def test_it_refuses_an_amount_that_reads_two_ways_and_says_how_to_write_it(text: str, file_mark: str | None) -> None:
    with pytest.raises(CellError) as caught:
        parse_decimal(text, decimal_mark=file_mark)
    whole = text.replace(",", "").replace(".", "")
    assert "ambiguous" in caught.value.message and whole in caught.value.message


def test_the_ambiguity_is_explained_in_spanish() -> None:
    with translation.override("es"), pytest.raises(CellError) as caught:
        parse_decimal("1.234", decimal_mark=",")
    assert caught.value.message == (
        "1.234 es ambiguo (¿miles o decimales?): este archivo escribe los decimales con «,». "
        "Escriba 1234 si es un número entero, o 1,234 si tiene decimales."
    )


@pytest.mark.parametrize(
    "text", ["diez", "1.2.3", "1,23,456", "12.", "1.234,5.6", "1e3", "S/ 100", "--1", True, dt.date(2025, 1, 1)]
)
def test_it_refuses_what_is_not_a_number(text: object) -> None:
    with pytest.raises(CellError, match="is not a number"):
        parse_decimal(text, decimal_mark=".")  # type: ignore[arg-type]


@given(day=st.dates(min_value=dt.date(1000, 1, 1)))
def test_a_date_in_any_accepted_style_reads_back_as_itself(day: dt.date) -> None:
    styles = [
        f"{day.day:02d}/{day.month:02d}/{day.year:04d}",
        f"{day.day}/{day.month}/{day.year:04d}",
        f"{day.day:02d}-{day.month:02d}-{day.year:04d}",
        day.isoformat(),
    ]
    assert {parse_date(text) for text in styles} == {day}


def test_it_reads_date_cells_and_blanks() -> None:
    assert parse_date(dt.date(2025, 3, 1)) == dt.date(2025, 3, 1)
    assert parse_date(dt.datetime(2025, 3, 1, 14, 30)) == dt.date(2025, 3, 1)
    assert parse_date("  ") is None and parse_date(None) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("31/02/2025", "31/02/2025 is not a valid date."),
        ("12/25/2024", "12/25/2024 is not a valid date."),  # month first is not how Peru writes dates
        ("2025/03/01", "2025/03/01 is not a date (dd/mm/aaaa)."),
        ("01/03/25", "01/03/25 is not a date (dd/mm/aaaa)."),
        ("01/03-2025", "01/03-2025 is not a date (dd/mm/aaaa)."),
        (45717, "45717 is a number, not a date"),  # a date cell formatted "General"
    ],
)
def test_it_refuses_what_is_not_a_date(value: object, message: str) -> None:
    with pytest.raises(CellError) as caught:
        parse_date(value)  # type: ignore[arg-type]
    assert caught.value.message.startswith(message)


def test_text_cells_keep_what_excel_shows() -> None:
    assert parse_text("  Rosa ") == "Rosa"
    assert parse_text(41234567) == "41234567"
    assert parse_text(41234567.0) == "41234567"
    assert parse_text(40112, width=6) == "040112"  # a code that lost its leading zero in Excel
    assert parse_text("40112", width=6) == "40112"  # typed text is never changed
    assert parse_text(dt.date(2025, 3, 1)) == "01/03/2025"
