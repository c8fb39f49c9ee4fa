"""SBS debtor categories, their days-past-due bands and provision rates (DOMAIN.md §6).

SBS Res. 11356-2008 for micro and small business loans: the one place these numbers live. A pure module
(no ORM) at the loans layer, so underwriting can read it and servicing's rating (``installments.risk``),
its set-based batch job and the reports build their SQL from it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from asmcredit.money import round_half_up


class Category(StrEnum):
    """Clasificación del deudor (SBS)."""

    NORMAL = "normal"
    CPP = "cpp"  # con problemas potenciales
    DEFICIENTE = "deficiente"
    DUDOSO = "dudoso"
    PERDIDA = "perdida"

    @property
    def severity(self) -> int:
        """0 for Normal up to 4 for Pérdida, so categories compare by risk."""
        return _SEVERITY[self]


_SEVERITY = {category: index for index, category in enumerate(Category)}


@dataclass(frozen=True)
class Band:
    """The days past due of one category: ``min_dpd`` to ``max_dpd`` inclusive (None: no upper bound)."""

    category: Category
    min_dpd: int
    max_dpd: int | None


# Normal 0–8, CPP 9–30, Deficiente 31–60, Dudoso 61–120, Pérdida beyond 120 days past due.
DPD_BANDS: tuple[Band, ...] = (
    Band(Category.NORMAL, 0, 8),
    Band(Category.CPP, 9, 30),
    Band(Category.DEFICIENTE, 31, 60),
    Band(Category.DUDOSO, 61, 120),
    Band(Category.PERDIDA, 121, None),
)

# (no guarantee, preferred guarantee) as fractions; Normal's 1% is the generic provision.
PROVISION_RATES: dict[Category, tuple[Decimal, Decimal]] = {
    Category.NORMAL: (Decimal("0.01"), Decimal("0.01")),
    Category.CPP: (Decimal("0.05"), Decimal("0.025")),
    Category.DEFICIENTE: (Decimal("0.25"), Decimal("0.125")),
    Category.DUDOSO: (Decimal("0.60"), Decimal("0.30")),
    Category.PERDIDA: (Decimal("1.00"), Decimal("0.60")),
}


_UPPER_BOUNDS = tuple((band.max_dpd, band.category) for band in DPD_BANDS if band.max_dpd is not None)


def dpd_upper_bounds() -> list[tuple[int, Category]]:
    """``(last dpd, category)`` of every band with an upper bound, mildest first, for a SQL ``CASE WHEN
    dpd <= last THEN …``; a dpd beyond them all is ``worst_band().category``."""
    return list(_UPPER_BOUNDS)


def worst_band() -> Band:
    return DPD_BANDS[-1]


def min_dpd(category: Category) -> int:
    """The days past due from which a loan is rated ``category`` (CPP: 9)."""
    return next(band.min_dpd for band in DPD_BANDS if band.category is category)


def category_for_dpd(dpd: int) -> Category:
    """Normal 0–8, CPP 9–30, Deficiente 31–60, Dudoso 61–120, Pérdida beyond 120 days past due."""
    if dpd < 0:
        raise ValueError("Days past due must not be negative.")
    for limit, category in _UPPER_BOUNDS:
        if dpd <= limit:
            return category
    return worst_band().category


def provision_rate(category: Category, *, preferred_guarantee: bool) -> Decimal:
    without, with_guarantee = PROVISION_RATES[category]
    return with_guarantee if preferred_guarantee else without


def worst(categories: Iterable[Category]) -> Category:
    return max(categories, key=lambda category: category.severity)


def collateral_covered_share(collateral_value: Decimal, outstanding: Decimal) -> Decimal:
    """The share of a loan covered by a preferred guarantee (DOMAIN.md §6–§7): the appraised value of its
    registered, unreleased collateral (in the loan's currency) over its outstanding principal, at most
    1, to 4 decimals. A loan owing nothing has nothing to cover: 0."""
    if outstanding <= 0 or collateral_value <= 0:
        return Decimal("0.0000")
    return round_half_up(min(Decimal(1), Decimal(collateral_value) / Decimal(outstanding)), 4)
