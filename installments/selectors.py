"""Servicing reads: a loan's replayed state, what a buyer owes, a buyer's statement."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.utils import timezone

from asmcredit.money import ZERO, pct_to_rate
from buyers.models import Buyer
from installments import ledger
from installments.models import LoanTransaction, ReconciliationException, Remittance, ScheduleLine, Withholding
from loans.models import Loan


def loan_ledger_terms(loan: Loan) -> ledger.LedgerTerms:
    return ledger.LedgerTerms(
        disbursed_on=loan.disbursed_on,
        tea=pct_to_rate(loan.tea_pct),
        moratory_tea=pct_to_rate(loan.moratory_tea_pct),
        installment=_original_installment(loan),
        insurance_monthly_rate=pct_to_rate(loan.insurance_monthly_rate_pct),
        fee_per_installment=loan.fee_per_installment,
    )


def _original_installment(loan: Loan) -> Decimal:
    """The cuota fija of version 1. ``Loan.installment_amount`` follows the current version (a lower
    installment after a prepayment), so the original is read off the first amortizing line."""
    line = (
        ScheduleLine.objects.filter(loan=loan, version=1, principal__gt=0)
        .order_by("number")
        .values("principal", "interest")
        .first()
    )
    if line is None or loan.schedule_version == 1:
        return loan.installment_amount
    return line["principal"] + line["interest"]


def loan_planned_lines(loan: Loan) -> list[ledger.PlannedLine]:
    """The version-1 cronograma as the replay takes it (later versions are derived from the log)."""
    rows = ScheduleLine.objects.filter(loan=loan, version=1).order_by("number")
    return [
        ledger.PlannedLine(
            number=row.number,
            due_on=row.due_on,
            days=row.days,
            opening_balance=row.opening_balance,
            principal=row.principal,
            interest=row.interest,
            insurance=row.insurance,
            fees=row.fees,
            total=row.total,
            closing_balance=row.closing_balance,
            capitalized=row.capitalized,
        )
        for row in rows
    ]


def loan_entries(loan: Loan, *, until: dt.date | None = None) -> list[ledger.Entry]:
    rows = LoanTransaction.objects.filter(loan=loan)
    entries = [
        ledger.Entry(
            id=row.id,
            kind=row.kind,
            value_date=row.value_date,
            amount=row.amount,
            reverses=row.reverses_id,
            prepayment_mode=row.prepayment_mode,
        )
        for row in rows.only("id", "kind", "value_date", "amount", "reverses_id", "prepayment_mode")
    ]
    if until is None:
        return entries
    # A reversal dated after ``until`` still cancels its original: what was voided never counts.
    voided = {entry.reverses for entry in entries if entry.kind == ledger.REVERSAL}
    return [entry for entry in entries if entry.value_date <= until and entry.id not in voided]


def loan_ledger_state(
    *, loan: Loan, as_of: dt.date, until: dt.date | None = None, extra: list[ledger.Entry] | None = None
) -> ledger.LedgerState:
    """Replay the loan's log (entries dated up to ``until`` when given, plus hypothetical ``extra``)."""
    entries = loan_entries(loan, until=until) + list(extra or [])
    return ledger.replay(terms=loan_ledger_terms(loan), lines=loan_planned_lines(loan), entries=entries, as_of=as_of)


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
