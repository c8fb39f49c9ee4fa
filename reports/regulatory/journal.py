"""The sub-ledger as the debtor file's ledger (``settings.REGULATORY_LEDGER``): the journal's balances
by SBS account code — 1401, 1404, 1405, whatever sub-account and currency digit the lender maps its
roles to (``accounting.Account.sbs_code``) — so the file's totals tie to the journal, not to its own
source."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from accounting.models import JournalLine


def _lines(*, as_of: dt.date, currency: str):  # type: ignore[no-untyped-def]
    return JournalLine.objects.filter(entry__currency=currency, entry__value_date__lte=as_of)


def account_balances(*, as_of: dt.date, currency: str) -> dict[str, Decimal]:
    """Balance (debit positive) per SBS account code in ``currency`` on ``as_of``."""
    rows = (
        _lines(as_of=as_of, currency=currency)
        .values("account__sbs_code")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        balances[row["account__sbs_code"]] += row["debit"] - row["credit"]
    return {code: amount for code, amount in balances.items() if amount}


def loan_account_balances(*, as_of: dt.date, currency: str) -> dict[int, dict[str, Decimal]]:
    """Loan id → {SBS account code: balance}, zero balances left out."""
    rows = (
        _lines(as_of=as_of, currency=currency)
        .filter(loan_id__isnull=False)
        .values("loan_id", "account__sbs_code")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    balances: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in rows:
        amount = row["debit"] - row["credit"]
        if amount:
            held = balances[row["loan_id"]]
            held[row["account__sbs_code"]] = held.get(row["account__sbs_code"], Decimal(0)) + amount
    return dict(balances)
