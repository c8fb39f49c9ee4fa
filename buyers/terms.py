"""A buyer's agreed terms (DOMAIN.md §4): which version is in force, its maquila scale by grade, and the
bands an officer or an API client writes. Pure: no ORM, so it reads next to DOMAIN.md.

A version of the terms takes effect on its ``effective_from`` date and stays in force until the next
version's; a settlement is valued and checked against the version in force on its settlement date. A
term left blank in a version (the RC or the recovery) is not agreed, so it is neither used nor checked.

Maquila bands are by gold grade in oz/TC: ``[min, max)``, the last one possibly open-ended (``max`` None).
They are listed in ascending order and never overlap; a gap between two bands is allowed and means the
buyer agreed no maquila for those grades (a settlement there must state its maquila).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

# The Fairtrade / Fairmined floor for refined gold: 95% of the international price (DOMAIN.md §4). The
# lender keeps its own reference as data (``buyers.models.FairPriceReference``); this is the value when
# it has recorded none.
DEFAULT_PRICE_REFERENCE = Decimal("0.95")

MAX_BAND_GRADE = Decimal(50)  # oz/TC, the same bound a settlement's grade is held to
MAX_BAND_FEE = Decimal(5000)  # US$ per short ton, the bound of any cost on a settlement
GRADE_QUANTUM = Decimal("0.0001")
FEE_QUANTUM = Decimal("0.01")


class BandError(ValueError):
    """Bands that cannot form a maquila scale; ``message`` says which band and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class MaquilaBand:
    """Grades from ``min_grade_oz_tc`` (inclusive) to ``max_grade_oz_tc`` (exclusive; None: no upper end)
    pay ``maquila_usd_tc`` US$ per short ton."""

    min_grade_oz_tc: Decimal
    max_grade_oz_tc: Decimal | None
    maquila_usd_tc: Decimal

    def covers(self, grade: Decimal) -> bool:
        return self.min_grade_oz_tc <= grade and (self.max_grade_oz_tc is None or grade < self.max_grade_oz_tc)

    def as_line(self) -> str:
        """``0.3000-0.8000: 110.00`` (``0.8000-: 130.00`` for an open-ended band), as ``parse_bands`` reads."""
        upper = "" if self.max_grade_oz_tc is None else f"{self.max_grade_oz_tc:.4f}"
        return f"{self.min_grade_oz_tc:.4f}-{upper}: {self.maquila_usd_tc:.2f}"


@dataclass(frozen=True)
class AgreedTerms:
    """One version of a buyer's agreed terms: RC (US$/oz), recovery (a fraction) and the maquila scale."""

    effective_from: dt.date
    commercial_deduction_usd_oz: Decimal | None = None
    recovery: Decimal | None = None
    bands: tuple[MaquilaBand, ...] = ()
    version_id: int | None = None

    def maquila_for(self, grade_oz_tc: Decimal) -> Decimal | None:
        """The agreed maquila for a lot of this grade, or None when no band covers it."""
        for band in self.bands:
            if band.covers(Decimal(grade_oz_tc)):
                return band.maquila_usd_tc
        return None


def terms_in_force(versions: Iterable[AgreedTerms], on: dt.date) -> AgreedTerms | None:
    """The version with the latest ``effective_from`` on or before ``on``; None before the first one."""
    current = None
    for version in versions:
        if version.effective_from <= on and (current is None or version.effective_from > current.effective_from):
            current = version
    return current


def reference_in_force(references: Iterable[tuple[dt.date, Decimal]], on: dt.date) -> Decimal:
    """The lender's price-share reference in force on ``on`` (``(effective_from, share)`` pairs); the
    Fairtrade floor when none had taken effect."""
    found: tuple[dt.date, Decimal] | None = None
    for effective_from, share in references:
        if effective_from <= on and (found is None or effective_from > found[0]):
            found = (effective_from, share)
    return DEFAULT_PRICE_REFERENCE if found is None else found[1]


def validate_bands(bands: Sequence[MaquilaBand]) -> tuple[MaquilaBand, ...]:
    """``bands`` as a scale, or ``BandError``: grades within 0–50 oz/TC, each band's end above its start,
    listed in ascending order without overlapping, only the last open-ended, fees from 0 to US$ 5,000."""
    previous: MaquilaBand | None = None
    for number, band in enumerate(bands, start=1):
        low, high, fee = band.min_grade_oz_tc, band.max_grade_oz_tc, band.maquila_usd_tc
        if low < 0 or low > MAX_BAND_GRADE or (high is not None and high > MAX_BAND_GRADE):
            raise BandError(
                _("Band %(n)s: grades must be between 0 and %(max)s oz/TC.") % {"n": number, "max": MAX_BAND_GRADE}
            )
        if high is not None and high <= low:
            raise BandError(_("Band %(n)s: the end grade must be above the start grade.") % {"n": number})
        if not 0 <= fee <= MAX_BAND_FEE:
            raise BandError(
                _("Band %(n)s: the maquila must be between 0 and %(max)s US$ per short ton.")
                % {"n": number, "max": MAX_BAND_FEE}
            )
        if previous is not None:
            if previous.max_grade_oz_tc is None:
                raise BandError(
                    _("Band %(n)s has no end grade: only the last band may be open-ended.") % {"n": number - 1}
                )
            if low < previous.min_grade_oz_tc:
                raise BandError(_("Band %(n)s: list the bands in ascending order of grade.") % {"n": number})
            if low < previous.max_grade_oz_tc:
                raise BandError(
                    _(
                        "Band %(n)s starts at %(low)s oz/TC, before band %(prev)s ends (%(end)s oz/TC): "
                        "bands must not overlap."
                    )
                    % {"n": number, "low": low, "prev": number - 1, "end": previous.max_grade_oz_tc}
                )
        previous = band
    return tuple(bands)


_LINE = re.compile(r"^\s*(?P<low>[0-9.,]+)\s*-\s*(?P<high>[0-9.,]*)\s*:\s*(?P<fee>[0-9.,]+)\s*$")


def _decimal(text: str, quantum: Decimal) -> Decimal:
    value = Decimal(text.replace(",", "."))
    if not value.is_finite() or value != value.quantize(quantum):
        raise InvalidOperation(text)
    return value.quantize(quantum)


def parse_bands(text: str) -> tuple[MaquilaBand, ...]:
    """One band per line, ``min-max: fee`` (``0-0.3: 90``, ``0.3-0.8: 110``, ``0.8-: 130`` for no upper
    end), validated by ``validate_bands``. Blank lines are skipped; a decimal comma is read as a point."""
    bands = []
    for number, line in enumerate((raw for raw in text.splitlines() if raw.strip()), start=1):
        match = _LINE.match(line)
        if match is None:
            raise BandError(_("Band %(n)s: write it as 'from-to: maquila', e.g. '0.3-0.8: 110'.") % {"n": number})
        try:
            low = _decimal(match["low"], GRADE_QUANTUM)
            high = _decimal(match["high"], GRADE_QUANTUM) if match["high"] else None
            fee = _decimal(match["fee"], FEE_QUANTUM)
        except (InvalidOperation, ValueError):
            raise BandError(
                _("Band %(n)s: grades take up to 4 decimals and the maquila up to 2 ('0.3-0.8: 110.50').")
                % {"n": number}
            ) from None
        bands.append(MaquilaBand(low, high, fee))
    return validate_bands(bands)


def bands_text(bands: Iterable[MaquilaBand]) -> str:
    return "\n".join(band.as_line() for band in bands)


@dataclass(frozen=True)
class TermsInForce:
    """What a settlement dated ``on`` is valued and checked against: the buyer's agreed terms in force
    that day (None when the buyer had agreed none) and the lender's price-share reference."""

    on: dt.date
    agreed: AgreedTerms | None
    price_reference: Decimal = DEFAULT_PRICE_REFERENCE

    @classmethod
    def choose(
        cls, versions: Iterable[AgreedTerms], references: Iterable[tuple[dt.date, Decimal]], on: dt.date
    ) -> TermsInForce:
        return cls(on=on, agreed=terms_in_force(versions, on), price_reference=reference_in_force(references, on))

    def scale_maquila(self, grade_oz_tc: Decimal) -> Decimal | None:
        """The agreed maquila for a lot of this grade, or None when no band in force covers it."""
        return None if self.agreed is None else self.agreed.maquila_for(grade_oz_tc)

    def no_scale_message(self, grade_oz_tc: Decimal) -> str:
        """Why an omitted maquila cannot be taken from the scale (the 400 on ``maquila_usd_tc``)."""
        if self.agreed is None or not self.agreed.bands:
            return _("Give the maquila: the buyer has no agreed maquila scale in force on %(date)s.") % {
                "date": self.on.isoformat()
            }
        return _(
            "Give the maquila: the buyer's agreed maquila scale in force on %(date)s has no band for a grade "
            "of %(grade)s oz/TC."
        ) % {"date": self.on.isoformat(), "grade": grade_oz_tc}
