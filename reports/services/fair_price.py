"""The fair-price check per buyer and month (DOMAIN.md §4): what the buyers credit the miners, for the
portfolio report.

Per buyer and calendar month of the settlement date, over the posted (not void) settlements of the period:
how many, the average price share ((INTER − RC) / INTER) and value share (payable over the recoverable
gold at INTER) — plain means over settlements, each settlement counting once whatever its size, so a
buyer's pricing is read the way a miner meets it — and how many settlements carry each flag. One grouped
query: the flags are counted by matching the quoted flag name in the stored JSON list, which PostgreSQL and
the demo's SQLite do alike.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext as _

from asmcredit.money import round_half_up
from buyers.models import Settlement
from buyers.valuation import FLAG_OFF_AGREED_TERMS, FLAG_PRICE_BELOW_REFERENCE, SHARE_PLACES

FLAGS = (FLAG_PRICE_BELOW_REFERENCE, FLAG_OFF_AGREED_TERMS)
# Without a start date the portfolio report covers all history; the fair-price table then shows the last
# twelve months to the as-of date (a year of monthly pricing is what a reviewer compares).
DEFAULT_MONTHS = 12


@dataclass(frozen=True)
class FairPriceRow:
    buyer_id: int
    buyer: str
    month: dt.date
    settlements: int
    average_price_share: Decimal
    average_value_share: Decimal
    price_below_reference: int
    off_agreed_terms: int

    @property
    def flagged(self) -> int:
        return self.price_below_reference + self.off_agreed_terms


@dataclass(frozen=True)
class FairPriceSummary:
    date_from: dt.date
    date_to: dt.date
    rows: tuple[FairPriceRow, ...]

    @property
    def settlements(self) -> int:
        return sum(row.settlements for row in self.rows)


def default_start(as_of: dt.date) -> dt.date:
    """The first day of the month ``DEFAULT_MONTHS - 1`` months before ``as_of``'s."""
    months = as_of.year * 12 + as_of.month - 1 - (DEFAULT_MONTHS - 1)
    return dt.date(months // 12, months % 12 + 1, 1)


def _month(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _share(value: Any) -> Decimal:
    return round_half_up(Decimal(str(value or 0)), SHARE_PLACES)


def fair_price_by_buyer_month(*, date_from: dt.date | None, date_to: dt.date, buyer: Any = None) -> FairPriceSummary:
    """The fair-price figures per buyer and month of ``[date_from, date_to]`` (``date_from`` None: the last
    ``DEFAULT_MONTHS`` months); ``buyer`` (a Buyer, its id or RUC) narrows to one buyer."""
    start = date_from or default_start(date_to)
    settlements = Settlement.objects.filter(
        settled_on__gte=start, settled_on__lte=date_to, status=Settlement.Status.POSTED
    )
    if buyer is not None:
        if hasattr(buyer, "pk"):
            settlements = settlements.filter(buyer=buyer)
        elif str(buyer).isdigit() and len(str(buyer)) == 11:
            settlements = settlements.filter(buyer__ruc=str(buyer))
        else:
            settlements = settlements.filter(buyer_id=buyer)
    counts = {flag: Count("pk", filter=Q(fair_price_flags__icontains=f'"{flag}"')) for flag in FLAGS}
    grouped = (
        settlements.annotate(month=TruncMonth("settled_on"))
        .values("buyer_id", "buyer__name", "month")
        .annotate(n=Count("pk"), price=Avg("price_share"), value=Avg("value_share"), **counts)
        .order_by("buyer__name", "buyer_id", "month")
    )
    rows = tuple(
        FairPriceRow(
            buyer_id=row["buyer_id"],
            buyer=row["buyer__name"],
            month=_month(row["month"]),
            settlements=row["n"],
            average_price_share=_share(row["price"]),
            average_value_share=_share(row["value"]),
            price_below_reference=row[FLAG_PRICE_BELOW_REFERENCE],
            off_agreed_terms=row[FLAG_OFF_AGREED_TERMS],
        )
        for row in grouped
    )
    return FairPriceSummary(date_from=start, date_to=date_to, rows=rows)


def fair_price_table_rows(summary: FairPriceSummary) -> tuple[tuple[Any, ...], ...]:
    """The rows of the portfolio report's CSV table (shares as 2-decimal percentages)."""
    return tuple(
        (
            row.buyer,
            row.month.strftime("%Y-%m"),
            row.settlements,
            (row.average_price_share * 100).quantize(Decimal("0.01")),
            (row.average_value_share * 100).quantize(Decimal("0.01")),
            row.price_below_reference,
            row.off_agreed_terms,
        )
        for row in summary.rows
    )


def fair_price_table_headers() -> tuple[str, ...]:
    return (
        _("Buyer"),
        _("Month"),
        _("Settlements"),
        _("Average price share (%)"),
        _("Average value share (%)"),
        _("Price below reference"),
        _("Off agreed terms"),
    )


# The PDF lists at most this many buyer-months — those with the most flagged settlements, then the largest
# — in buyer and month order; the CSV export lists every one.
PDF_ROWS = 40


def fair_price_pdf_rows(summary: FairPriceSummary) -> tuple[tuple[FairPriceRow, ...], int]:
    """(the rows the PDF lists, how many it leaves to the CSV export)."""
    if len(summary.rows) <= PDF_ROWS:
        return summary.rows, 0
    ranked = sorted(summary.rows, key=lambda row: (-row.flagged, -row.settlements, row.buyer, row.month))
    shown = sorted(ranked[:PDF_ROWS], key=lambda row: (row.buyer, row.buyer_id, row.month))
    return tuple(shown), len(summary.rows) - PDF_ROWS
