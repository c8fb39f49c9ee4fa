"""The estado de cuenta of a miner for a period: per loan, its transactions, balances and installments due."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils.translation import gettext as _

from asmcredit.money import ZERO, money
from installments.models import Allocation, LoanTransaction, ScheduleLine
from loans.models import Loan
from miners.identity import DEPARTMENTS
from miners.models import Miner
from reports import formatting, pdf
from reports.services.masking import shown_document_number


@dataclass(frozen=True)
class StatementEntry:
    value_date: dt.date
    kind: str
    operation: str
    reference: str
    amount: Decimal
    principal: Decimal
    interest: Decimal
    other: Decimal
    balance: Decimal
    # Beyond everything owed: a credit in the miner's favour (DOMAIN.md §3).
    credit: Decimal = ZERO


@dataclass(frozen=True)
class PendingInstallment:
    number: int
    due_on: dt.date
    total: Decimal
    pending: Decimal
    overdue: bool


@dataclass(frozen=True)
class LoanStatement:
    code: str
    product: str
    currency: str
    principal: Decimal
    tea_pct: Decimal
    disbursed_on: dt.date
    opening_balance: Decimal
    entries: tuple[StatementEntry, ...]
    closing_balance: Decimal
    next_installments: tuple[PendingInstallment, ...]
    # Overpayment credit in the miner's favour at the end of the period, not yet refunded or applied.
    overpayment_credit: Decimal = ZERO

    @property
    def paid_principal(self) -> Decimal:
        return sum((entry.principal for entry in self.entries), ZERO)

    @property
    def paid_interest(self) -> Decimal:
        return sum((entry.interest for entry in self.entries), ZERO)

    @property
    def paid_other(self) -> Decimal:
        return sum((entry.other for entry in self.entries), ZERO)


@dataclass(frozen=True)
class MinerStatement:
    borrower: str
    document_type: str
    document_number: str
    region: str
    date_from: dt.date
    date_to: dt.date
    loans: tuple[LoanStatement, ...]


def loan_outstanding_on(*, loan: Loan, on: dt.date) -> Decimal:
    """Outstanding principal at the end of ``on``, from the loan's log (the rule of reports.selectors)."""
    if loan.disbursed_on > on:
        return ZERO
    capitalized = (
        ScheduleLine.objects.filter(loan=loan, is_current=True, due_on__lte=on).aggregate(total=Sum("capitalized"))[
            "total"
        ]
        or ZERO
    )
    repaid = (
        Allocation.objects.filter(
            transaction__loan=loan, component=Allocation.Component.PRINCIPAL, transaction__value_date__lte=on
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    return money(loan.principal + capitalized - repaid)


def loan_credit_on(*, loan: Loan, on: dt.date) -> Decimal:
    """The loan's overpayment credit at the end of ``on``: what went beyond the debt, less what was
    refunded or applied to another loan by then."""
    arisen = Allocation.objects.filter(
        transaction__loan=loan, component=Allocation.Component.OVERPAYMENT, transaction__value_date__lte=on
    ).aggregate(total=Sum("amount"))["total"]
    used = LoanTransaction.objects.filter(
        loan=loan,
        kind__in=[LoanTransaction.Kind.CREDIT_REFUND, LoanTransaction.Kind.CREDIT_TRANSFER],
        value_date__lte=on,
        reversed_by__isnull=True,
    ).aggregate(total=Sum("amount"))["total"]
    return money((arisen or ZERO) - (used or ZERO))


NEXT_INSTALLMENTS = 3


def miner_statement(
    *, miner: Miner, date_from: dt.date, date_to: dt.date, mask_documents: bool = False
) -> MinerStatement:
    """Estado de cuenta: per loan, the balance before ``date_from``, each transaction of the period with
    how it was applied, the balance at the end of ``date_to`` and the installments still to pay."""
    if date_from > date_to:
        raise ValueError("date_from must not come after date_to.")
    loans = (
        Loan.objects.filter(miner=miner, disbursed_on__lte=date_to)
        .select_related("product")
        .order_by("disbursed_on", "pk")
    )
    statements = []
    for loan in loans:  # a miner has a handful of loans
        opening = loan_outstanding_on(loan=loan, on=date_from - dt.timedelta(days=1))
        transactions = (
            LoanTransaction.objects.filter(loan=loan, value_date__gte=date_from, value_date__lte=date_to)
            .select_related("settlement", "reverses")
            .order_by("value_date", "pk")
        )
        split: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
        for row in (
            Allocation.objects.filter(transaction__in=transactions)
            .values("transaction", "component")
            .annotate(total=Sum("amount"))
        ):
            split[row["transaction"]][row["component"]] = row["total"]
        balance = opening
        entries = []
        for tx in transactions:
            parts = split[tx.pk]
            principal = parts["principal"]
            if tx.kind == LoanTransaction.Kind.DISBURSEMENT:
                balance += tx.amount
            balance -= principal
            entries.append(
                StatementEntry(
                    value_date=tx.value_date,
                    kind=tx.kind,
                    operation=str(tx.get_kind_display()),
                    reference=_transaction_reference(tx),
                    amount=tx.amount,
                    principal=principal,
                    interest=parts["interest"] + parts.get("deferred_interest", ZERO),
                    other=parts["insurance"] + parts["fees"] + parts["moratory"] + parts["late_interest"],
                    balance=balance,
                    credit=parts["overpayment"],
                )
            )
        # Capitalized interest (total grace) raises the balance without a transaction.
        closing = loan_outstanding_on(loan=loan, on=date_to)
        pending = (
            ScheduleLine.objects.filter(loan=loan, is_current=True)
            .filter(Q(paid_on__isnull=True) | Q(paid_on__gt=date_to))
            .order_by("number")
        )
        overdue = [line for line in pending if line.due_on <= date_to]
        upcoming = [line for line in pending if line.due_on > date_to][:NEXT_INSTALLMENTS]
        statements.append(
            LoanStatement(
                code=loan.code,
                product=loan.product.name,
                currency=loan.currency,
                principal=loan.principal,
                tea_pct=loan.tea_pct,
                disbursed_on=loan.disbursed_on,
                opening_balance=opening,
                entries=tuple(entries),
                closing_balance=closing,
                next_installments=tuple(
                    PendingInstallment(
                        number=line.number,
                        due_on=line.due_on,
                        total=line.total,
                        pending=line.total
                        - line.paid_principal
                        - line.paid_interest
                        - line.paid_deferred_interest
                        - line.paid_insurance
                        - line.paid_fees,
                        overdue=line.due_on <= date_to,
                    )
                    for line in [*overdue, *upcoming]
                ),
                overpayment_credit=loan_credit_on(loan=loan, on=date_to),
            )
        )
    return MinerStatement(
        borrower=miner.full_name,
        document_type=miner.document_type,
        document_number=shown_document_number(miner, mask=mask_documents),
        region=DEPARTMENTS.get(miner.department_code, ""),
        date_from=date_from,
        date_to=date_to,
        loans=tuple(statements),
    )


def _transaction_reference(tx: LoanTransaction) -> str:
    if tx.settlement is not None:
        return _("Settlement %(lot)s") % {"lot": tx.settlement.lot_code}
    if tx.reverses is not None:
        return _("Reverses %(kind)s of %(date)s") % {
            "kind": tx.reverses.get_kind_display(),
            "date": formatting.day(tx.reverses.value_date),
        }
    return tx.reference


def miner_statement_pdf(statement: MinerStatement, *, lang: str = "es") -> bytes:
    return pdf.render_pdf("reports/pdf/miner_statement.html", {"doc": statement}, lang=lang)
