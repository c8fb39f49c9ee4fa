"""Reads for collections: the queue of loans in arrears, and promises to pay with whether they were kept,
computed from the ledger (never typed in)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import DecimalField, F, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce

from installments.models import LoanTransaction
from lifecycle.models import CollectionContact, PromiseToPay
from loans.models import Loan

# What counts as the borrower paying: at a branch, a prepayment, or a withholding by the buyer.
PAYING_KINDS = (LoanTransaction.Kind.PAYMENT, LoanTransaction.Kind.PREPAYMENT, LoanTransaction.Kind.WITHHOLDING)
BROKEN_LOOKBACK_DAYS = 30

KEPT, BROKEN, PENDING = "kept", "broken", "pending"


def _paid_toward() -> Subquery:
    """What the loan received from the day the promise was made through the promised day, reversals out."""
    paid = (
        LoanTransaction.objects.filter(
            loan_id=OuterRef("loan_id"),
            kind__in=PAYING_KINDS,
            value_date__gte=OuterRef("made_on"),
            value_date__lte=OuterRef("promised_on"),
            reversed_by__isnull=True,
        )
        .order_by()
        .values("loan_id")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return Subquery(paid, output_field=DecimalField(max_digits=14, decimal_places=2))


def promises_with_payments(queryset: QuerySet[PromiseToPay]) -> QuerySet[Any]:
    """``queryset`` with ``paid``: what the loan received toward each promise."""
    return queryset.annotate(paid=Coalesce(_paid_toward(), Value(Decimal("0.00"))))


def promise_status(promise: Any, today: dt.date) -> str:
    """Kept once the money arrived; broken once the day passed without it; pending until then."""
    if promise.paid >= promise.amount:
        return KEPT
    return BROKEN if today > promise.promised_on else PENDING


def broken_promises(*, today: dt.date, limit: int = 7) -> list[Any]:
    """Promises whose day passed (in the last month) without the money: the dashboard's worry list."""
    rows = (
        promises_with_payments(
            PromiseToPay.objects.filter(
                promised_on__lt=today, promised_on__gte=today - dt.timedelta(days=BROKEN_LOOKBACK_DAYS)
            )
        )
        .filter(paid__lt=F("amount"))
        .select_related("loan__miner")
        .order_by("-promised_on", "-id")[:limit]
    )
    return list(rows)


def collections_queue(*, filters: dict[str, Any] | None = None) -> QuerySet[Loan]:
    """Active loans in arrears, worst first (days past due, then overdue amount), with their latest
    contact and latest promise."""
    latest_contact = CollectionContact.objects.filter(loan_id=OuterRef("pk")).order_by("-contacted_on", "-id")
    latest_promise = PromiseToPay.objects.filter(loan_id=OuterRef("pk")).order_by("-promised_on", "-id")
    queryset = Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gt=0, **(filters or {}))
    return (
        queryset.select_related("miner", "withholding_buyer")
        .annotate(
            last_contact_on=Subquery(latest_contact.values("contacted_on")[:1]),
            last_contact_outcome=Subquery(latest_contact.values("outcome")[:1]),
            last_promise_on=Subquery(latest_promise.values("promised_on")[:1]),
            last_promise_amount=Subquery(latest_promise.values("amount")[:1]),
        )
        .order_by("-days_past_due", "-overdue_amount", "id")
    )


def recoveries(*, date_from: dt.date | None = None, date_to: dt.date | None = None) -> dict[str, Decimal]:
    """What written-off loans received after their write-off, per currency (reversals out): income the
    portfolio report shows apart from the active book."""
    from lifecycle.models import WriteOff

    written_off_on = WriteOff.objects.filter(loan_id=OuterRef("loan_id"), status=WriteOff.Status.APPROVED).values(
        "written_off_on"
    )[:1]
    rows = LoanTransaction.objects.filter(
        kind__in=PAYING_KINDS, reversed_by__isnull=True, loan__status=Loan.Status.WRITTEN_OFF
    ).annotate(written_off_on=Subquery(written_off_on))
    rows = rows.filter(value_date__gte=F("written_off_on"))
    if date_from:
        rows = rows.filter(value_date__gte=date_from)
    if date_to:
        rows = rows.filter(value_date__lte=date_to)
    totals = rows.order_by().values("currency").annotate(total=Sum("amount"))
    return {row["currency"]: row["total"] for row in totals}


def recovered_on(loan: Loan, since: dt.date) -> Decimal:
    """What one written-off loan received from ``since`` (its write-off day)."""
    total = LoanTransaction.objects.filter(
        loan=loan, kind__in=PAYING_KINDS, reversed_by__isnull=True, value_date__gte=since
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal("0.00")
