"""A breakdown with many groups (1,000 buyers) lists its largest groups in the PDF and sums the rest in
one "others" row; the summary (the API) and the CSV export keep every group."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from reports import services
from reports.selectors import BreakdownRow, portfolio_summary
from tests.reports.conftest import AS_OF, PERIOD_FROM, pdf_text

pytestmark = pytest.mark.django_db

GROUPS = services.PDF_GROUPS + 5


def _buyer_rows() -> tuple[BreakdownRow, ...]:
    """Buyer i has i active loans of S/ 1,000.00 each; buyers 1 and 2 have S/ 500.00 at PAR30."""
    return tuple(
        BreakdownRow(
            key=str(i),
            label=f"Compradora {i:02d} S.A.C.",
            loans_disbursed=1,
            amount_disbursed=Decimal("2000.00"),
            active_loans=i,
            borrowers=i,
            outstanding=Decimal("1000.00") * i,
            par30_amount=Decimal("500.00") if i <= 2 else Decimal("0.00"),
        )
        for i in range(1, GROUPS + 1)
    )


def test_it_keeps_the_largest_groups_and_sums_the_rest_in_one_row():
    rows = _buyer_rows()
    shown = services.pdf_breakdown(rows, others="Other buyers (%(n)s)")
    assert len(shown) == services.PDF_GROUPS + 1
    # The largest by outstanding, largest first: buyers 20 down to 6.
    assert [row.label for row in shown[:-1]] == [f"Compradora {i:02d} S.A.C." for i in range(GROUPS, 5, -1)]
    other = shown[-1]
    assert isinstance(other, services.OtherGroups)
    assert other.label == "Other buyers (5)" and other.groups == 5
    assert (other.loans_disbursed, other.amount_disbursed) == (5, Decimal("10000.00"))
    assert other.active_loans == 1 + 2 + 3 + 4 + 5
    assert other.outstanding == Decimal("15000.00")
    assert other.par30_amount == Decimal("1000.00") and other.par30 == Decimal("0.0667")
    assert other.borrowers is None  # not summed: a borrower can sell to several of these buyers
    # Nothing is lost: the listed rows and the others row add up to the whole breakdown.
    assert sum((row.outstanding for row in shown), Decimal(0)) == sum((row.outstanding for row in rows), Decimal(0))
    assert sum(row.active_loans for row in shown) == sum(row.active_loans for row in rows)


def test_it_lists_a_short_breakdown_whole_in_its_own_order():
    rows = _buyer_rows()[: services.PDF_GROUPS + 1]
    assert services.pdf_breakdown(rows, others="Other buyers (%(n)s)") == rows


def test_it_prints_the_others_row_in_the_pdf_and_every_buyer_in_the_csv(portfolio, tmp_path):
    summary = dataclasses.replace(portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM), by_buyer=_buyer_rows())
    text = pdf_text(services.portfolio_pdf(summary, lang="en"), tmp_path)
    assert "Compradora 20 S.A.C." in text and "Compradora 06 S.A.C." in text
    assert "Compradora 05 S.A.C." not in text and "Compradora 01 S.A.C." not in text
    other = next(line for line in text.splitlines() if "Other buyers (5)" in line)
    assert other.split("Other buyers (5)")[1].split() == [
        "5",
        "S/",
        "10,000.00",
        "15",
        "—",
        "S/",
        "15,000.00",
        "6.67%",
    ]
    assert "The 15 largest of 20 by outstanding" in text

    csv_rows = services.table_csv(services.portfolio_tables(summary)["buyer"]).splitlines()
    assert len(csv_rows) == 1 + GROUPS  # the header and every buyer
    assert "Compradora 01 S.A.C.,1,2000.00,1,1,1000.00,500.00,50.00" in csv_rows
    assert len(summary.as_dict()["by_buyer"]) == GROUPS  # the API keeps every buyer too
