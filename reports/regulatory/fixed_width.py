"""Fixed-width records as the SBS's files want them (RCD / Anexo 6): pure, no ORM.

A layout is data (``reports.regulatory.models.ReportLayout`` and its ``LayoutField`` rows); this module
turns its fields into ``RecordSpec`` and writes and reads records with them. A field sits at a 1-based
``position`` with a ``width``; its value is formatted (amounts in céntimos, integers, dates as YYYYMMDD,
text in capitals), padded with its ``padding`` character on the side its ``alignment`` leaves free, and
the gaps between fields are spaces. A number or date that does not fit its width is refused rather than
cut; a name longer than its field is cut, as the SBS's own layouts say.

Each record type carries at least one constant field (the record-type code at column 1 in the seeded
layout), which is how a file is read back: a line is of the record type whose constants it shows.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

HEADER, DEBTOR, BALANCE, TOTALS = "header", "debtor", "balance", "totals"
RECORD_TYPES = (HEADER, DEBTOR, BALANCE, TOTALS)

CENTS, INTEGER, TEXT, DATE = "cents", "integer", "text", "date"
FORMATS = (CENTS, INTEGER, TEXT, DATE)
LEFT, RIGHT = "left", "right"
CONSTANT = "constant"


class LayoutError(ValueError):
    """A layout that cannot write or read a file (overlapping fields, no record-type constant…)."""


class FieldOverflow(ValueError):
    """A value that does not fit its field: a file is never written with a number cut short."""


@dataclass(frozen=True)
class FieldSpec:
    name: str
    source_key: str
    position: int  # 1-based first column
    width: int
    fmt: str = TEXT
    padding: str = " "
    alignment: str = LEFT
    constant: str = ""

    @property
    def start(self) -> int:
        return self.position - 1

    @property
    def end(self) -> int:
        return self.position - 1 + self.width


@dataclass(frozen=True)
class RecordSpec:
    record_type: str
    fields: tuple[FieldSpec, ...]

    @property
    def length(self) -> int:
        return max((spec.end for spec in self.fields), default=0)

    def has(self, source_key: str) -> bool:
        return any(spec.source_key == source_key for spec in self.fields)


def record_spec(record_type: str, fields: Iterable[FieldSpec]) -> RecordSpec:
    return RecordSpec(record_type, tuple(sorted(fields, key=lambda spec: spec.position)))


def layout_problems(records: Mapping[str, RecordSpec]) -> list[str]:
    """What keeps ``records`` from writing a file that reads back: empty records, overlapping fields,
    bad padding, a record type without a constant, two record types with the same constants."""
    problems: list[str] = []
    signatures: dict[tuple[tuple[int, str], ...], str] = {}
    for record_type in RECORD_TYPES:
        spec = records.get(record_type)
        if spec is None or not spec.fields:
            problems.append(f"The {record_type} record has no fields.")
            continue
        previous: FieldSpec | None = None
        for field in spec.fields:
            if field.position < 1 or field.width < 1:
                problems.append(f"{record_type}.{field.name}: position and width must be at least 1.")
            if len(field.padding) != 1:
                problems.append(f"{record_type}.{field.name}: the padding must be one character.")
            if field.fmt not in FORMATS:
                problems.append(f"{record_type}.{field.name}: unknown format {field.fmt!r}.")
            if field.fmt in (CENTS, INTEGER) and field.alignment == LEFT and field.padding != " ":
                problems.append(f"{record_type}.{field.name}: a number aligned left pads with spaces.")
            if field.source_key == CONSTANT and len(field.constant) > field.width:
                problems.append(f"{record_type}.{field.name}: the constant is wider than the field.")
            if previous is not None and field.start < previous.end:
                problems.append(f"{record_type}: {field.name} overlaps {previous.name}.")
            previous = field
        signature = tuple((f.position, format_value(f, f.constant)) for f in spec.fields if f.source_key == CONSTANT)
        if not signature:
            problems.append(f"The {record_type} record has no constant field to tell it apart.")
        elif signature in signatures:
            problems.append(f"The {record_type} and {signatures[signature]} records have the same constants.")
        else:
            signatures[signature] = record_type
    return problems


def plain_text(value: str, *, encoding: str) -> str:
    """``value`` in capitals, with any character ``encoding`` cannot hold replaced by its unaccented
    letter (or dropped), so one character is one byte and the columns stay where the layout says."""
    text = " ".join(str(value).upper().split())
    if text.isascii():
        return text
    try:
        text.encode(encoding)
    except UnicodeEncodeError:
        text = "".join(
            char if _encodes(char, encoding) else unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
            for char in text
        )
    return text


def _encodes(char: str, encoding: str) -> bool:
    try:
        char.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


def format_value(spec: FieldSpec, value: Any, *, encoding: str = "latin-1") -> str:
    """``value`` as the ``width`` characters of ``spec``."""
    if spec.fmt == CENTS:
        amount = Decimal(value if value is not None else 0)
        cents = amount * 100
        if cents != cents.to_integral_value():
            raise FieldOverflow(f"{spec.name}: {amount} has fractions of a céntimo.")
        if cents < 0:
            raise FieldOverflow(f"{spec.name}: {amount} is negative.")
        text = str(int(cents))
    elif spec.fmt == INTEGER:
        number = int(value or 0)
        if number < 0:
            raise FieldOverflow(f"{spec.name}: {number} is negative.")
        text = str(number)
    elif spec.fmt == DATE:
        text = value.strftime("%Y%m%d") if isinstance(value, dt.date) else str(value or "")
    else:
        text = plain_text("" if value is None else str(value), encoding=encoding)
    if len(text) > spec.width:
        if spec.fmt != TEXT:
            raise FieldOverflow(f"{spec.name}: {text} does not fit in {spec.width} characters.")
        text = text[: spec.width]
    if spec.alignment == RIGHT:
        return text.rjust(spec.width, spec.padding)
    return text.ljust(spec.width, spec.padding)


def _formatter(spec: FieldSpec, encoding: str) -> Callable[[Any], str]:
    """``format_value`` for one field, its choices made once (a national file formats millions of values).
    Text that is plain ASCII already takes the short path; anything else goes through ``format_value``."""
    width, padding, right = spec.width, spec.padding, spec.alignment == RIGHT
    if spec.fmt == TEXT:

        def text(value: Any) -> str:
            raw = "" if value is None else str(value)
            if not raw.isascii():
                return format_value(spec, raw, encoding=encoding)
            plain = " ".join(raw.upper().split())[:width]
            return plain.rjust(width, padding) if right else plain.ljust(width, padding)

        return text
    if spec.fmt == INTEGER:

        def integer(value: Any) -> str:
            number = int(value or 0)
            digits = str(number)
            if number < 0 or len(digits) > width:
                return format_value(spec, value, encoding=encoding)  # raises FieldOverflow
            return digits.rjust(width, padding) if right else digits.ljust(width, padding)

        return integer
    return lambda value: format_value(spec, value, encoding=encoding)


class CompiledRecord:
    """A record type made ready to write and read many lines: its constants formatted once, the gaps
    between fields as ready-made spaces, and the constants that tell its lines apart."""

    def __init__(self, spec: RecordSpec, *, encoding: str = "latin-1") -> None:
        self.spec, self.encoding, self.length = spec, encoding, spec.length
        self.parts: list[tuple[str, FieldSpec, str | None]] = []
        self.formatters = {field.source_key: _formatter(field, encoding) for field in spec.fields}
        position = 0
        for field in spec.fields:
            constant = format_value(field, field.constant, encoding=encoding) if field.source_key == CONSTANT else None
            self.parts.append((" " * (field.start - position), field, constant))
            position = field.end
        self.signature = tuple((f.start, f.end, constant) for _gap, f, constant in self.parts if constant is not None)
        self.by_key = {f.source_key: f for _gap, f, constant in self.parts if constant is None}

    def render(self, values: Mapping[str, Any]) -> str:
        pieces: list[str] = []
        for gap, field, constant in self.parts:
            if gap:
                pieces.append(gap)
            if constant is None:
                pieces.append(self.formatters[field.source_key](values.get(field.source_key)))
            else:
                pieces.append(constant)
        return "".join(pieces)

    def matches(self, line: str) -> bool:
        return len(line) == self.length and all(line[start:end] == text for start, end, text in self.signature)

    def parse(self, line: str, keys: Iterable[str] | None = None) -> dict[str, Any]:
        """The values of ``keys`` (default: every field) read back from ``line``."""
        wanted = self.by_key if keys is None else {key: self.by_key[key] for key in keys if key in self.by_key}
        return {key: parse_value(field, line[field.start : field.end]) for key, field in wanted.items()}


def _unpadded(spec: FieldSpec, text: str) -> str:
    """``text`` without the padding on the side the field's alignment pads (and stray spaces)."""
    text = text.lstrip(spec.padding) if spec.alignment == RIGHT else text.rstrip(spec.padding)
    return text.strip()


def parse_value(spec: FieldSpec, text: str) -> Any:
    """The value of a field read back: céntimos as a Decimal amount, integers as int, text stripped."""
    if spec.fmt == CENTS:
        return Decimal(int(_unpadded(spec, text) or "0")) / 100
    if spec.fmt == INTEGER:
        return int(_unpadded(spec, text) or "0")
    return _unpadded(spec, text)


def sum_by(rows: Sequence[Mapping[str, Any]], key: str, amount: str) -> dict[str, tuple[int, Decimal]]:
    """Records and total of ``amount`` per value of ``key``."""
    totals: dict[str, tuple[int, Decimal]] = {}
    for row in rows:
        count, total = totals.get(row[key], (0, Decimal(0)))
        totals[row[key]] = (count + 1, total + Decimal(row[amount]))
    return totals
