"""Servicing reads: a loan's replayed state, what a buyer owes, a buyer's statement."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from asmcredit.money import ZERO, pct_to_rate
from buyers.models import Buyer
from installments import ledger
from installments.models import LoanTransaction, ReconciliationException, Remittance, ScheduleLine, Withholding
from loans.models import Loan
from loans.schedule import RescheduleOptions


def loan_ledger_terms(loan: Loan, *, planned: Sequence[ledger.PlannedLine] | None = None) -> ledger.LedgerTerms:
    """The loan's terms as the replay takes them; ``planned`` (its version-1 lines, if already read)
    saves a query."""
    return ledger.LedgerTerms(
        disbursed_on=loan.disbursed_on,
        tea=pct_to_rate(loan.tea_pct),
        moratory_tea=pct_to_rate(loan.moratory_tea_pct),
        installment=_original_installment(loan, planned),
        insurance_monthly_rate=pct_to_rate(loan.insurance_monthly_rate_pct),
        fee_per_installment=loan.fee_per_installment,
    )


def _original_installment(loan: Loan, planned: Sequence[ledger.PlannedLine] | None = None) -> Decimal:
    """The cuota fija of version 1. ``Loan.installment_amount`` follows the current version (a lower
    installment after a prepayment), so the original is read off the first amortizing line."""
    if loan.schedule_version == 1:
        return loan.installment_amount
    if planned is not None:
        first = min((line for line in planned if line.principal > 0), key=lambda line: line.number, default=None)
        return loan.installment_amount if first is None else first.principal + first.interest
    line = (
        ScheduleLine.objects.filter(loan=loan, version=1, principal__gt=0)
        .order_by("number")
        .values("principal", "interest")
        .first()
    )
    if line is None:
        return loan.installment_amount
    return line["principal"] + line["interest"]


# The columns of a cronograma row that state its figures (what was paid is derived).
PLAN_COLUMNS = (
    "number",
    "due_on",
    "days",
    "opening_balance",
    "principal",
    "interest",
    "insurance",
    "fees",
    "total",
    "closing_balance",
    "capitalized",
    "deferred_interest",
)


def planned_line(row: Mapping[str, Any]) -> ledger.PlannedLine:
    """A cronograma row (``values()`` with at least ``PLAN_COLUMNS``) as the replay takes it."""
    return ledger.PlannedLine(**{name: row[name] for name in PLAN_COLUMNS})


def loan_planned_lines(loan: Loan) -> list[ledger.PlannedLine]:
    """The version-1 cronograma as the replay takes it (later versions are derived from the log)."""
    rows = ScheduleLine.objects.filter(loan=loan, version=1).order_by("number").values(*PLAN_COLUMNS)
    return [planned_line(row) for row in rows]


# The columns of a transaction the replay reads, loan first (``ledger_entry`` takes the rest).
ENTRY_COLUMNS = (
    "loan_id",
    "id",
    "kind",
    "value_date",
    "amount",
    "reverses_id",
    "prepayment_mode",
    "treatment",
    "parameters",
)


def ledger_entry(values: Sequence[Any]) -> ledger.Entry:
    """A ``values_list(*ENTRY_COLUMNS)`` row as the replay sees it."""
    _loan_id, pk, kind, value_date, amount, reverses, mode, treatment, parameters = values
    return ledger.Entry(
        id=pk,
        kind=kind,
        value_date=value_date,
        amount=amount,
        reverses=reverses,
        prepayment_mode=mode,
        treatment=treatment or ledger.AUTO,
        reschedule=RescheduleOptions.from_dict(parameters or {}) if kind == ledger.RESCHEDULE else None,
    )


def loan_entries(loan: Loan, *, until: dt.date | None = None) -> list[ledger.Entry]:
    entries = [ledger_entry(values) for values in LoanTransaction.objects.filter(loan=loan).values_list(*ENTRY_COLUMNS)]
    return entries if until is None else ledger.entries_until(entries, until)


def loan_ledger_state(
    *, loan: Loan, as_of: dt.date, until: dt.date | None = None, extra: list[ledger.Entry] | None = None
) -> ledger.LedgerState:
    """Replay the loan's log (entries dated up to ``until`` when given, plus hypothetical ``extra``)."""
    entries = loan_entries(loan, until=until) + list(extra or [])
    planned = loan_planned_lines(loan)
    terms = loan_ledger_terms(loan, planned=planned)
    return ledger.replay(terms=terms, lines=planned, entries=entries, as_of=as_of)


def loan_state_on(*, loan: Loan, on: dt.date) -> ledger.LedgerState:
    """The loan as it stood on ``on`` with everything dated up to that day — the basis for what to
    withhold from a settlement of that date and for classifying a payment of that date."""
    return loan_ledger_state(loan=loan, as_of=on, until=on)


def _open_withholdings(buyer: Buyer) -> Any:
    return Withholding.objects.filter(buyer=buyer).exclude(status=Withholding.Status.REVERSED)


def buyer_balance_owed(*, buyer: Buyer, as_of: dt.date | None = None) -> dict[str, Decimal]:
    """What the buyer owes the lender, per currency: withholdings it kept minus remittances it sent.

    A running balance, so an over-remittance shows as a negative figure (a credit) and a withholding
    reversed after it was remitted turns the remitted money into credit.
    """
    as_of = as_of or timezone.localdate()
    owed: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for row in (
        _open_withholdings(buyer).filter(withheld_on__lte=as_of).values("currency").annotate(total=Sum("amount"))
    ):
        owed[row["currency"]] += row["total"]
    for row in (
        Remittance.objects.filter(buyer=buyer, paid_on__lte=as_of).values("currency").annotate(total=Sum("amount"))
    ):
        owed[row["currency"]] -= row["total"]
    return dict(owed)


def buyer_statement(*, buyer: Buyer, date_from: dt.date, date_to: dt.date) -> dict[str, Any]:
    """Estado de cuenta of a buyer: what it withheld and remitted in the period, what it owes at the
    end, its open exceptions, and the rows in date order."""
    withholdings = (
        _open_withholdings(buyer)
        .filter(withheld_on__range=(date_from, date_to))
        .select_related("settlement", "loan")
        .order_by("withheld_on", "id")
    )
    remittances = Remittance.objects.filter(buyer=buyer, paid_on__range=(date_from, date_to)).order_by("paid_on", "id")
    withheld: dict[str, Decimal] = defaultdict(lambda: ZERO)
    remitted: dict[str, Decimal] = defaultdict(lambda: ZERO)
    rows: list[dict[str, Any]] = []
    for w in withholdings:
        withheld[w.currency] += w.amount
        rows.append(
            {
                "date": w.withheld_on,
                "kind": "withholding",
                "reference": w.settlement.lot_code,
                "loan": w.loan.code,
                "currency": w.currency,
                "amount": w.amount,
                "remitted": w.remitted_amount,
                "status": w.status,
            }
        )
    for r in remittances:
        remitted[r.currency] += r.amount
        rows.append(
            {
                "date": r.paid_on,
                "kind": "remittance",
                "reference": r.reference,
                "loan": "",
                "currency": r.currency,
                "amount": r.amount,
                "remitted": r.amount - r.unmatched_amount,
                "status": "reconciled" if r.unmatched_amount == 0 else "unmatched",
            }
        )
    rows.sort(key=lambda row: (row["date"], row["kind"] != "withholding"))
    exceptions = ReconciliationException.objects.filter(buyer=buyer).filter(
        Q(status=ReconciliationException.Status.OPEN) | Q(detected_on__range=(date_from, date_to))
    )
    return {
        "buyer": buyer,
        "date_from": date_from,
        "date_to": date_to,
        "withheld": dict(withheld),
        "remitted": dict(remitted),
        "owed": buyer_balance_owed(buyer=buyer, as_of=date_to),
        "exceptions": list(exceptions),
        "rows": rows,
    }
