"""The portfolio report's rows for loans that left the happy path (DOMAIN.md §7): how many and how much
was written off and recovered afterwards — and, as those capabilities land, reprogrammed, refinanced and
claimed from a guarantee fund.

Each row is computed over the report's own loans (its buyer, region and product filters) and stated in
the report's currency (``amount`` turns a field and its currency field into that, as
``reports.selectors._Conversion.amount`` does). A stock is as of the report's date; a flow is within its
period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from asmcredit.money import ZERO, money
from installments.models import LoanTransaction
from lifecycle.models import WriteOff
from loans.models import Loan

Amount = Callable[[str, str], Any]

MONEY: DecimalField = DecimalField(max_digits=20, decimal_places=2)


@dataclass(frozen=True)
class LifeRow:
    """One line of the report's "beyond the happy path" table."""

    key: str
    label: str | Promise
    loans: int
    amount: Decimal
    # What ``amount`` is: a balance on the as-of date, or money that moved in the period.
    flow: bool = False


def _total(rows: QuerySet[Any], expression: Any) -> tuple[int, Decimal]:
    totals = rows.aggregate(n=Count("loan", distinct=True), amount=Coalesce(Sum(expression), ZERO, output_field=MONEY))
    return totals["n"], money(totals["amount"])


def _written_off(loans: QuerySet[Loan], as_of: dt.date, amount: Amount) -> LifeRow:
    rows = WriteOff.objects.filter(
        loan__in=loans.values("pk"), status=WriteOff.Status.APPROVED, written_off_on__lte=as_of
    )
    n, total = _total(rows, amount("principal", "loan__currency"))
    return LifeRow("written_off", _("Written off (castigados): principal still owed"), n, total)


def _recovered(loans: QuerySet[Loan], as_of: dt.date, date_from: dt.date | None, amount: Amount) -> LifeRow:
    written_off_on = WriteOff.objects.filter(loan_id=OuterRef("loan_id"), status=WriteOff.Status.APPROVED).values(
        "written_off_on"
    )[:1]
    rows = (
        LoanTransaction.objects.filter(
            loan__in=loans.values("pk"),
            kind__in=(
                LoanTransaction.Kind.PAYMENT,
                LoanTransaction.Kind.PREPAYMENT,
                LoanTransaction.Kind.WITHHOLDING,
            ),
            reversed_by__isnull=True,
            value_date__lte=as_of,
        )
        .annotate(written_off_on=Subquery(written_off_on))
        .filter(written_off_on__isnull=False, value_date__gte=F("written_off_on"))
    )
    if date_from:
        rows = rows.filter(value_date__gte=date_from)
    n, total = _total(rows, amount("amount", "currency"))
    return LifeRow("recovered", _("Recovered from written-off loans (income)"), n, total, flow=True)


def loan_life_rows(
    *, loans: QuerySet[Loan], as_of: dt.date, date_from: dt.date | None, amount: Amount
) -> tuple[LifeRow, ...]:
    """The rows, in the order the report shows them."""
    return (
        _written_off(loans, as_of, amount),
        _recovered(loans, as_of, date_from, amount),
    )
