"""The book as of a cut-off date, as the SBS reports read it: set-based SQL over the nightly rating's
dated rows (``installments.LoanRating``), never the loans' current state, so a past cut-off reads the
same whatever happened since.

A loan's account code (SBS Rubro 14, DOMAIN.md §8) on the cut-off: 1405 vencidos after
``REGULATORY_VENCIDO_AFTER_DAYS`` days past due (30 for micro and small business), else 1404 for a
refinanced loan, else 1401 vigentes. Loans written off on or before the cut-off are out (castigo: memo
accounts); a write-off approved later leaves the earlier cut-offs as they were.

This module is also the default ledger the debtor file is tied to (``account_balances``,
``loan_account_balances``: the signatures of the journal's selectors). Deriving both from the same rows
makes the default tie-out a check of the file against its own source; ``settings.REGULATORY_LEDGER``
names the journal's module once the lender's accounts are posted from the events.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection

from asmcredit.money import money
from asmcredit.sql import is_postgres
from installments.models import PortfolioRating
from loans.models import Loan
from loans.sbs import Category
from rates.fx import FxRate, fx_rates, soles_case_sql

VIGENTE, REFINANCIADO, VENCIDO = "1401", "1404", "1405"
CREDIT_ACCOUNTS = (VIGENTE, REFINANCIADO, VENCIDO)
MICRO, SMALL, MEDIUM = "micro", "small", "medium"


class CutoffNotRated(LookupError):
    """No nightly rating was recorded for the cut-off date: there is nothing dated to report."""

    def __init__(self, cutoff: dt.date) -> None:
        self.cutoff = cutoff
        super().__init__(
            f"No rating run is recorded for {cutoff.isoformat()}: run the nightly rating for that day first "
            f"(manage.py rate_portfolio --as-of {cutoff.isoformat()})."
        )


def require_rating(cutoff: dt.date) -> None:
    if not PortfolioRating.objects.filter(as_of=cutoff).exists():
        raise CutoffNotRated(cutoff)


def _severity_sql(column: str) -> str:
    whens = " ".join(f"WHEN '{category.value}' THEN {category.severity}" for category in Category)
    return f"(CASE {column} {whens} END)"


_CATEGORY_BY_SEVERITY = {category.severity: category.value for category in Category}


def category_of(severity: int) -> str:
    return _CATEGORY_BY_SEVERITY[severity]


def _refinanced_sql() -> str:
    """Whether the loan was refinanced by the cut-off. Refinancing is another change's field: its date
    when the loan carries one (a later refinancing leaves earlier cut-offs as they were), else its flag;
    until either exists no loan is refinanced."""
    names = {field.name for field in Loan._meta.get_fields()}
    if "refinanced_on" in names:
        return "(l.refinanced_on IS NOT NULL AND l.refinanced_on <= %(day)s)"
    return "l.is_refinanced" if "is_refinanced" in names else "FALSE"


def rated_loans_sql() -> str:
    """Per loan rated on the cut-off (``%(day)s``) with principal outstanding and not written off by then:
    miner, currency, dpd, own and aligned severity, balance, provision, guarantee cover, account code."""
    return f"""
        SELECT r.loan_id, l.miner_id, l.currency, r.days_past_due AS dpd,
               {_severity_sql("r.category")} AS severity, {_severity_sql("r.aligned_category")} AS aligned,
               r.outstanding_principal AS balance, r.provision, r.covered_share,
               CASE WHEN r.days_past_due > %(vencido_after)s THEN '{VENCIDO}'
                    WHEN {_refinanced_sql()} THEN '{REFINANCIADO}' ELSE '{VIGENTE}' END AS account
        FROM installments_loanrating r JOIN loans_loan l ON l.id = r.loan_id
        WHERE r.as_of = %(day)s AND r.outstanding_principal > 0
          AND NOT EXISTS (
              SELECT 1 FROM lifecycle_writeoff w
              WHERE w.loan_id = r.loan_id AND w.status = 'approved' AND w.written_off_on <= %(day)s)
    """  # noqa: S608 - fragments of our own; values are parameters


def _params(cutoff: dt.date, **extra: Any) -> dict[str, Any]:
    return {"day": cutoff, "vencido_after": settings.REGULATORY_VENCIDO_AFTER_DAYS, **extra}


def book_currencies(cutoff: dt.date) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT currency FROM ({rated_loans_sql()}) rated ORDER BY 1", _params(cutoff))  # noqa: S608
        return [currency for (currency,) in cursor.fetchall()]


def book_fx(cutoff: dt.date) -> dict[str, FxRate]:
    """The exchange rate of the cut-off for each foreign currency of the book (``MissingExchangeRate``
    when one was never loaded)."""
    return fx_rates(currencies=book_currencies(cutoff), on=cutoff)


def _amount(value: Any) -> Decimal:
    """A money column as read by a raw cursor (SQLite hands back floats) as céntimos."""
    return money(Decimal(str(value)))


def debtor_size(debt_soles: Decimal) -> str:
    """Micro, small or medium business debtor by its debt with the lender in soles (SBS Res. 11356-2008)."""
    if debt_soles <= settings.REGULATORY_MICRO_DEBT_LIMIT:
        return MICRO
    if debt_soles <= settings.REGULATORY_SMALL_DEBT_LIMIT:
        return SMALL
    return MEDIUM


@dataclass(frozen=True)
class BalanceRow:
    """A debtor's balance in one account and currency on the cut-off, with the debtor's own figures."""

    miner_id: int
    document_type: str
    document_number: str
    ruc: str
    last_names: str
    first_names: str
    gender: str
    ubigeo: str
    currency: str
    account: str
    balance: Decimal
    dpd: int
    loans: int
    category_before: str
    category_after: str
    debt_soles: Decimal


def debtor_balances(*, cutoff: dt.date, rates: dict[str, FxRate]) -> Iterator[BalanceRow]:
    """One row per debtor, currency and account code, debtors in document order (type, number, id) and
    each debtor's rows by currency and account: the order of the debtor file. Streamed with a server-side
    cursor, so a national book never sits in memory at once."""
    sql = f"""
        WITH rated AS ({rated_loans_sql()}
        ), debtors AS (
            SELECT miner_id, MAX(severity) AS severity, MAX(aligned) AS aligned,
                   SUM(balance * {soles_case_sql("currency", rates)}) AS debt_soles
            FROM rated GROUP BY miner_id
        ), balances AS (
            SELECT miner_id, currency, account, SUM(balance) AS balance, MAX(dpd) AS dpd, COUNT(*) AS loans
            FROM rated GROUP BY miner_id, currency, account
        )
        SELECT m.id, m.document_type, m.document_number, m.ruc, m.last_names, m.first_names, m.gender, m.ubigeo,
               b.currency, b.account, b.balance, b.dpd, b.loans, d.severity, d.aligned, d.debt_soles
        FROM balances b JOIN debtors d ON d.miner_id = b.miner_id JOIN miners_miner m ON m.id = b.miner_id
        ORDER BY m.document_type, m.document_number, m.id, b.currency, b.account
    """  # noqa: S608
    with connection.chunked_cursor() as cursor:
        cursor.execute(sql, _params(cutoff))
        while rows := cursor.fetchmany(5000):
            for row in rows:
                (miner_id, doc_type, doc_number, ruc, last, first, gender, ubigeo) = row[:8]
                (currency, account, balance, dpd, loans, severity, aligned, debt) = row[8:]
                if debt is None:  # a currency without a rate: book_fx refuses first; never sized at 1
                    raise ValueError(f"No exchange rate for {currency} on {cutoff}.")
                yield BalanceRow(
                    miner_id=miner_id,
                    document_type=doc_type,
                    document_number=doc_number,
                    ruc=ruc,
                    last_names=last,
                    first_names=first,
                    gender=gender,
                    ubigeo=ubigeo,
                    currency=currency,
                    account=account,
                    balance=_amount(balance),
                    dpd=int(dpd),
                    loans=int(loans),
                    category_before=category_of(int(severity)),
                    category_after=category_of(int(aligned)),
                    debt_soles=Decimal(str(debt)),
                )


def loan_debtors(loan_ids: list[int]) -> dict[int, int]:
    """Loan id → miner id, in one query."""
    if not loan_ids:
        return {}
    if not is_postgres():
        return dict(Loan.objects.filter(pk__in=loan_ids).values_list("pk", "miner_id"))
    with connection.cursor() as cursor:
        # One array parameter: a national book's 150,000 ids as IN (%s, …) would be a statement of its own.
        cursor.execute("SELECT id, miner_id FROM loans_loan WHERE id = ANY(%s)", [loan_ids])
        return dict(cursor.fetchall())


# --- The default ledger: the journal's selector signatures, from the same dated rows ----------------------


def account_balances(*, as_of: dt.date, currency: str) -> dict[str, Decimal]:
    """Balance per credit account code (1401, 1404, 1405) in ``currency`` on ``as_of``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account, SUM(balance) FROM ({rated_loans_sql()}) rated WHERE currency = %(currency)s "  # noqa: S608
            "GROUP BY account ORDER BY account",
            _params(as_of, currency=currency),
        )
        return {account: _amount(total) for account, total in cursor.fetchall()}


def loan_account_balances(*, as_of: dt.date, currency: str) -> dict[int, dict[str, Decimal]]:
    """Loan id → {account code: balance} in ``currency`` on ``as_of``."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT loan_id, account, balance FROM ({rated_loans_sql()}) rated WHERE currency = %(currency)s",  # noqa: S608
            _params(as_of, currency=currency),
        )
        balances: dict[int, dict[str, Decimal]] = {}
        for loan_id, account, balance in cursor.fetchall():
            balances.setdefault(loan_id, {})[account] = _amount(balance)
        return balances
