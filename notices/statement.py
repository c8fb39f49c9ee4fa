"""What the miner's statement page shows (DOMAIN.md §10; issue #15 item 5): per loan, the cronograma with
what is paid, every settlement's withholding explained, the counter payments, the payoff amount today,
the overpayment credit and who the officer is. A read: a fixed handful of queries for the miner's loans,
then two per active loan for its payoff quote (the replay of its log)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Prefetch

from asmcredit.money import ZERO
from buyers.valuation import convert
from installments.models import Allocation, LoanTransaction, ScheduleLine, Withholding
from installments.services import payoff_quote
from installments.services.common import COLLECTING_STATUSES
from loans.models import Loan
from miners.models import Miner


@dataclass(frozen=True)
class InstallmentRow:
    number: int
    due_on: dt.date
    total: Decimal
    paid: Decimal  # everything paid on it, late charges included
    pending: Decimal  # of its scheduled total (principal, interest, insurance, fees)
    state: str  # "paid" | "partial" | "overdue" | "pending"
    paid_on: dt.date | None


@dataclass(frozen=True)
class PaidPart:
    """What a withholding paid on one installment."""

    number: int
    interest: Decimal  # compensatory interest, on overdue principal too
    principal: Decimal
    other: Decimal  # insurance, fees, moratory interest


@dataclass(frozen=True)
class WithholdingRow:
    buyer: str
    lot_code: str
    settled_on: dt.date
    settlement_currency: str
    payable: Decimal  # the settlement's payable, in its currency
    withheld: Decimal  # for this loan, settlement currency
    withheld_loan_currency: Decimal
    net_paid: Decimal  # payable less everything withheld from the settlement (all loans)
    price_share: Decimal  # (INTER − RC) / INTER, a fraction
    reversed: bool
    parts: tuple[PaidPart, ...]
    credit: Decimal  # beyond everything owed: overpayment credit

    @property
    def price_share_pct(self) -> Decimal:
        return (self.price_share * 100).quantize(Decimal("0.1"))


@dataclass(frozen=True)
class PaymentRow:
    paid_on: dt.date
    kind: str
    amount: Decimal
    reference: str
    # A payment recorded by mistake stays on the statement, struck through, next to its reversal.
    reversed_on: dt.date | None = None


@dataclass(frozen=True)
class LoanSection:
    loan: Loan
    officer: str
    installments: tuple[InstallmentRow, ...]
    withholdings: tuple[WithholdingRow, ...]
    payments: tuple[PaymentRow, ...]
    payoff: Decimal | None  # only for an active loan
    next_installment: InstallmentRow | None

    @property
    def paid_off(self) -> bool:
        return self.loan.status == Loan.Status.PAID_OFF

    @property
    def installments_paid(self) -> int:
        return sum(1 for row in self.installments if row.state == "paid")


@dataclass(frozen=True)
class StatementPage:
    miner: Miner
    on: dt.date
    loans: tuple[LoanSection, ...]
    lender_name: str
    contact_phone: str


PAID_FIELDS = (
    "paid_principal",
    "paid_interest",
    "paid_deferred_interest",
    "paid_insurance",
    "paid_fees",
    "paid_moratory",
    "paid_late_interest",
)


def _installment(line: ScheduleLine, on: dt.date) -> InstallmentRow:
    paid = sum((getattr(line, name) for name in PAID_FIELDS), ZERO)
    scheduled_paid = line.paid_principal + line.paid_interest + line.paid_deferred_interest
    pending = max(line.total - scheduled_paid - line.paid_insurance - line.paid_fees, ZERO)
    if line.status == ScheduleLine.Status.PAID or pending <= 0:
        state = "paid"
    elif line.due_on < on:
        state = "overdue"
    elif paid > 0:
        state = "partial"
    else:
        state = "pending"
    return InstallmentRow(
        number=line.number,
        due_on=line.due_on,
        total=line.total,
        paid=paid,
        pending=pending,
        state=state,
        paid_on=line.paid_on,
    )


def _parts(allocations: list[Allocation]) -> tuple[tuple[PaidPart, ...], Decimal]:
    by_number: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    credit = ZERO
    for allocation in allocations:
        if allocation.component == Allocation.Component.OVERPAYMENT or allocation.schedule_line is None:
            credit += allocation.amount
            continue
        if allocation.component in (Allocation.Component.INTEREST, Allocation.Component.LATE_INTEREST):
            key = "interest"
        elif allocation.component == Allocation.Component.PRINCIPAL:
            key = "principal"
        else:
            key = "other"
        by_number[allocation.schedule_line.number][key] += allocation.amount
    parts = tuple(
        PaidPart(number=number, interest=v["interest"], principal=v["principal"], other=v["other"])
        for number, v in sorted(by_number.items())
    )
    return parts, credit


def _officer(loan: Loan) -> str:
    # The officer who prepared the application is the one who knows the miner; the one who disbursed
    # stands in when the application has none recorded.
    user = loan.application.prepared_by or loan.disbursed_by
    return (user.get_full_name() or user.get_username()) if user else ""


def _reversed_on(txn: LoanTransaction) -> dt.date | None:
    try:
        return txn.reversed_by.value_date  # type: ignore[no-any-return]
    except LoanTransaction.DoesNotExist:
        return None


def statement_page(*, miner: Miner, on: dt.date) -> StatementPage:
    withholdings = Withholding.objects.select_related("settlement__buyer", "transaction").prefetch_related(
        Prefetch(
            "transaction__allocations",
            queryset=Allocation.objects.select_related("schedule_line").order_by("pk"),
            to_attr="shown_allocations",
        )
    )
    loans = list(
        Loan.objects.filter(miner=miner)
        .select_related("product", "application__prepared_by", "disbursed_by")
        .prefetch_related(
            Prefetch(
                "schedule_lines",
                queryset=ScheduleLine.objects.filter(is_current=True).order_by("number"),
                to_attr="current_lines",
            ),
            Prefetch("withholdings", queryset=withholdings.order_by("-withheld_on", "-pk"), to_attr="all_withholdings"),
            Prefetch(
                "transactions",
                queryset=LoanTransaction.objects.filter(
                    kind__in=[LoanTransaction.Kind.PAYMENT, LoanTransaction.Kind.PREPAYMENT]
                )
                .select_related("reversed_by")
                .order_by("-value_date", "-pk"),
                to_attr="counter_payments",
            ),
        )
        .order_by("-disbursed_on", "-pk")
    )
    # Everything withheld from each settlement in its currency, whichever of the miner's loans it paid.
    withheld_by_settlement: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for loan in loans:
        for withholding in loan.all_withholdings:  # type: ignore[attr-defined]
            if withholding.status != Withholding.Status.REVERSED:
                withheld_by_settlement[withholding.settlement_id] += withholding.amount_settlement_currency
    sections = []
    for loan in loans:
        rows = []
        for withholding in loan.all_withholdings:  # type: ignore[attr-defined]
            settlement = withholding.settlement
            payable = settlement.payable_usd
            if settlement.currency != "USD":
                payable = convert(payable, settlement.exchange_rate)
            parts, credit = _parts(withholding.transaction.shown_allocations)  # type: ignore[attr-defined]
            rows.append(
                WithholdingRow(
                    buyer=settlement.buyer.name,
                    lot_code=settlement.lot_code,
                    settled_on=settlement.settled_on,
                    settlement_currency=settlement.currency,
                    payable=payable,
                    withheld=withholding.amount_settlement_currency,
                    withheld_loan_currency=withholding.amount,
                    net_paid=payable - withheld_by_settlement[settlement.pk],
                    price_share=settlement.price_share,
                    reversed=withholding.status == Withholding.Status.REVERSED,
                    parts=parts,
                    credit=credit,
                )
            )
        installments = tuple(_installment(line, on) for line in loan.current_lines)  # type: ignore[attr-defined]
        payoff = None
        # A written-off loan is still owed (castigo): the miner sees what settles it too.
        if loan.status in COLLECTING_STATUSES and loan.disbursed_on <= on:
            payoff = payoff_quote(loan=loan, on=on).total
        sections.append(
            LoanSection(
                loan=loan,
                officer=_officer(loan),
                installments=installments,
                withholdings=tuple(rows),
                payments=tuple(
                    PaymentRow(
                        paid_on=txn.value_date,
                        kind=str(txn.get_kind_display()),
                        amount=txn.amount,
                        reference=txn.reference,
                        reversed_on=_reversed_on(txn),
                    )
                    for txn in loan.counter_payments  # type: ignore[attr-defined]
                ),
                payoff=payoff,
                next_installment=next((row for row in installments if row.state != "paid"), None),
            )
        )
    return StatementPage(
        miner=miner,
        on=on,
        loans=tuple(sections),
        lender_name=settings.LENDER_NAME or "",
        contact_phone=settings.LENDER_CONTACT_PHONE,
    )
