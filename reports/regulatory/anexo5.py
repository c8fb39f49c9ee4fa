"""The Anexo 5 style summary (DOMAIN.md §9): balances and provisions by SBS category and guarantee type on
a cut-off date, as CSV (columns from the anexo5 layout) and PDF.

Categories are the aligned ones the provisions were made on. Guarantee type: "preferred" for a loan part
of whose balance a guarantee covers on the cut-off (``LoanRating.covered_share`` > 0; registered
collateral will count here too once loans carry it), else "none". Amounts are in soles: dollar balances
at the cut-off's exchange rate, summed unrounded and rounded once. Nothing in either file depends on the
clock, so a past cut-off regenerates identically.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import translation

from asmcredit.exports import csv_text
from asmcredit.money import ZERO, money
from loans.sbs import Category
from rates.fx import FxRate, soles_case_sql
from reports import pdf
from reports.regulatory import book
from reports.regulatory.fixed_width import BALANCE, LayoutError
from reports.regulatory.models import ReportLayout
from reports.regulatory.rcd import Generated, coded, layout_for

NONE, PREFERRED = "none", "preferred"
GUARANTEES = (NONE, PREFERRED)


def guarantee_sql(alias: str = "rated") -> str:
    """The guarantee type of a rated loan; the one place that says what counts as a preferred guarantee."""
    return f"CASE WHEN {alias}.covered_share > 0 THEN '{PREFERRED}' ELSE '{NONE}' END"


@dataclass(frozen=True)
class Anexo5Row:
    category: str
    guarantee: str
    loans: int
    balance: Decimal
    provision: Decimal


@dataclass(frozen=True)
class Anexo5:
    cutoff: dt.date
    rows: tuple[Anexo5Row, ...]  # every category × guarantee type, in SBS order, zeros included
    rates: tuple[FxRate, ...]

    def total(self, *, category: str | None = None, guarantee: str | None = None) -> Anexo5Row:
        chosen = [
            row
            for row in self.rows
            if (category is None or row.category == category) and (guarantee is None or row.guarantee == guarantee)
        ]
        return Anexo5Row(
            category=category or "",
            guarantee=guarantee or "",
            loans=sum(row.loans for row in chosen),
            balance=sum((row.balance for row in chosen), ZERO),
            provision=sum((row.provision for row in chosen), ZERO),
        )


def anexo5_summary(*, cutoff: dt.date) -> Anexo5:
    book.require_rating(cutoff)
    rates = book.book_fx(cutoff)
    fx = soles_case_sql("rated.currency", rates)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT rated.aligned, {guarantee_sql()}, COUNT(*), SUM(rated.balance * {fx}), SUM(rated.provision * {fx})
            FROM ({book.rated_loans_sql()}) rated GROUP BY 1, 2
            """,  # noqa: S608
            book._params(cutoff),
        )
        found = {(book.category_of(int(severity)), guarantee): row for severity, guarantee, *row in cursor.fetchall()}
    rows = []
    for category in Category:
        for guarantee in GUARANTEES:
            loans, balance, provision = found.get((category.value, guarantee), (0, ZERO, ZERO))
            rows.append(
                Anexo5Row(
                    category.value, guarantee, int(loans), money(Decimal(str(balance))), money(Decimal(str(provision)))
                )
            )
    return Anexo5(cutoff=cutoff, rows=tuple(rows), rates=tuple(rate for _c, rate in sorted(rates.items())))


def _columns(layout: ReportLayout) -> list[Any]:
    columns = layout.records().get(BALANCE)
    if columns is None or not columns.fields:
        raise LayoutError("The anexo5 layout has no columns.")
    return sorted(layout.fields.filter(record_type=BALANCE), key=lambda f: f.order)


def anexo5_csv(summary: Anexo5, layout: ReportLayout) -> bytes:
    """The summary as CSV: the layout's columns in their order, amounts as plain numbers, CRLF lines."""
    codes = layout.codes or {}
    columns = _columns(layout)
    rows = []
    for row in summary.rows:
        values = {
            "category_code": row.category,
            "category": codes.get("category_name", {}).get(row.category, row.category),
            "guarantee": codes.get("guarantee", {}).get(row.guarantee, row.guarantee),
            "loans": row.loans,
            "balance": f"{row.balance:.2f}",
            "provision": f"{row.provision:.2f}",
        }
        rows.append([coded(codes, column.source_key, values[column.source_key]) for column in columns])
    # CR LF lines (the csv module's own), every cell through the formula guard of ``asmcredit.exports``.
    return csv_text([column.name for column in columns], rows).encode(layout.encoding)


def anexo5_pdf(summary: Anexo5, layout: ReportLayout, *, lang: str = "es") -> bytes:
    codes = layout.codes or {}
    lines = []
    for category in Category:
        by_type = {row.guarantee: row for row in summary.rows if row.category == category.value}
        lines.append(
            {
                "name": codes.get("category_name", {}).get(category.value, category.value),
                "none": by_type[NONE],
                "preferred": by_type[PREFERRED],
                "total": summary.total(category=category.value),
            }
        )
    context = {
        "summary": summary,
        "lines": lines,
        "none_total": summary.total(guarantee=NONE),
        "preferred_total": summary.total(guarantee=PREFERRED),
        "total": summary.total(),
        "layout": layout,
        # No clock in the document: the cut-off stands where other reports print when they were issued.
        "generated_at": None,
    }
    with translation.override(pdf.language(lang)):
        return pdf.render_pdf("reports/regulatory/anexo5.html", context, lang=lang)


def anexo5_generate(*, cutoff: dt.date, lang: str = "es") -> list[Generated]:
    """The CSV and the PDF of the Anexo 5 summary for ``cutoff``, with the layout in force that day."""
    layout = layout_for(ReportLayout.Kind.ANEXO5, cutoff)
    summary = anexo5_summary(cutoff=cutoff)
    total = summary.total()
    counts = {"loans": total.loans}
    totals = {"balance": str(total.balance), "provision": str(total.provision)}
    return [
        Generated(ReportLayout.Kind.ANEXO5, "csv", cutoff, layout, anexo5_csv(summary, layout), counts, totals),
        Generated(
            ReportLayout.Kind.ANEXO5, "pdf", cutoff, layout, anexo5_pdf(summary, layout, lang=lang), counts, totals
        ),
    ]
