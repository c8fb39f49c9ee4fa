"""Reads of the loan sub-ledger: balances (for the SBS reports too), the trial balance, the journal."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import QuerySet, Sum

from accounting.models import Account, AccountingPeriod, JournalLine, TieOut

ZERO = Decimal("0.00")


def account_balances(*, as_of: dt.date, currency: str) -> dict[str, Decimal]:
    """Balance per account code (debit positive) of every entry in ``currency`` with value date ≤ as_of.
    Accounts with no movement are left out."""
    rows = (
        JournalLine.objects.filter(entry__currency=currency, entry__value_date__lte=as_of)
        .values("account__code")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    return {row["account__code"]: row["debit"] - row["credit"] for row in rows}


def loan_account_balances(*, as_of: dt.date, currency: str) -> dict[int, dict[str, Decimal]]:
    """Per loan id, per account code (debit positive), as ``account_balances``; zero balances left out."""
    rows = (
        JournalLine.objects.filter(entry__currency=currency, entry__value_date__lte=as_of, loan_id__isnull=False)
        .values("loan_id", "account__code")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    balances: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        amount = row["debit"] - row["credit"]
        if amount:
            balances[row["loan_id"]][row["account__code"]] = amount
    return dict(balances)


@dataclass
class TrialBalanceRow:
    code: str
    name: str
    kind: str
    opening: Decimal
    debit: Decimal
    credit: Decimal
    closing: Decimal


@dataclass
class TrialBalance:
    period: dt.date
    currency: str
    rows: list[TrialBalanceRow]

    @property
    def total_debit(self) -> Decimal:
        return sum((row.debit for row in self.rows), ZERO)

    @property
    def total_credit(self) -> Decimal:
        return sum((row.credit for row in self.rows), ZERO)

    @property
    def balanced(self) -> bool:
        return self.total_debit == self.total_credit and sum((r.closing for r in self.rows), ZERO) == ZERO


def month_end(period: dt.date) -> dt.date:
    return (period.replace(day=1) + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)


def trial_balance(*, period: dt.date, currency: str) -> TrialBalance:
    """Balance de comprobación of a month: per account, the opening balance, the month's debits and
    credits (entries of the month, wherever their event date), and the closing balance."""
    period = period.replace(day=1)
    opening = {
        row["account_id"]: row["debit"] - row["credit"]
        for row in JournalLine.objects.filter(entry__currency=currency, entry__period__lt=period)
        .values("account_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    }
    moves = {
        row["account_id"]: (row["debit"], row["credit"])
        for row in JournalLine.objects.filter(entry__currency=currency, entry__period=period)
        .values("account_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    }
    rows = []
    for account in Account.objects.filter(pk__in=set(opening) | set(moves)).order_by("code"):
        debit, credit = moves.get(account.pk, (ZERO, ZERO))
        start = opening.get(account.pk, ZERO)
        rows.append(
            TrialBalanceRow(account.code, account.name, account.kind, start, debit, credit, start + debit - credit)
        )
    return TrialBalance(period=period, currency=currency, rows=rows)


def journal_lines(
    *,
    period: dt.date | None = None,
    currency: str | None = None,
    event: str | None = None,
    account: str | None = None,
    loan_code: str | None = None,
) -> QuerySet[JournalLine]:
    """Journal lines with their entry, account and loan, in posting order, filtered."""
    lines = JournalLine.objects.select_related("entry", "account", "loan").order_by("entry_id", "id")
    if period:
        lines = lines.filter(entry__period=period.replace(day=1))
    if currency:
        lines = lines.filter(entry__currency=currency)
    if event:
        lines = lines.filter(entry__event=event)
    if account:
        lines = lines.filter(account__code__startswith=account)
    if loan_code:
        lines = lines.filter(loan__code=loan_code)
    return lines


def period_is_closed(period: dt.date) -> bool:
    return AccountingPeriod.objects.filter(month=period.replace(day=1), status=AccountingPeriod.Status.CLOSED).exists()


def latest_tie_outs(*, period: dt.date) -> list[TieOut]:
    """The latest tie-out per currency of a month."""
    tie_outs = TieOut.objects.filter(period=period.replace(day=1)).order_by("currency", "-run_at").distinct("currency")
    return list(tie_outs)
