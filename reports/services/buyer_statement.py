"""The estado de cuenta of a buyer: settlements, withholdings, remittances, reconciliation, balance owed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q
from django.utils.translation import gettext as _

from asmcredit.money import ZERO, money
from buyers.models import Buyer, Settlement
from installments.exception_text import exception_description
from installments.models import Allocation, ReconciliationException, Remittance, Withholding
from installments.selectors import buyer_balance_owed
from installments.selectors import buyer_statement as servicing_buyer_statement
from reports import pdf


@dataclass(frozen=True)
class SettlementRow:
    settled_on: dt.date
    lot_code: str
    miner: str
    payable_usd: Decimal
    status: str
    void: bool
    loans: str
    currency: str
    withheld: Decimal
    remitted: Decimal
    reconciliation: str
    overdue: bool
    # The fair-price check (DOMAIN.md §4): the price share, the value share and the flags, with what was
    # off the agreed terms; and whether the maquila came from the buyer's scale.
    price_share: Decimal = ZERO
    value_share: Decimal = ZERO
    fair_price_flags: tuple[str, ...] = ()
    terms_deviations: tuple[str, ...] = ()
    maquila_from_scale: bool = False
    # Of what was withheld, what went beyond everything the miner owed (a backdated settlement, a void
    # replayed): a credit in the miner's favour the lender refunds or applies (DOMAIN.md §3).
    credit_to_miner: Decimal = ZERO


@dataclass(frozen=True)
class RemittanceRow:
    paid_on: dt.date
    reference: str
    currency: str
    amount: Decimal
    matched: Decimal
    unmatched: Decimal


@dataclass(frozen=True)
class ExceptionRow:
    detected_on: dt.date
    kind: str
    amount: Decimal
    status: str
    detail: str


@dataclass(frozen=True)
class CurrencyBalance:
    currency: str
    opening_owed: Decimal
    withheld: Decimal
    remitted: Decimal
    closing_owed: Decimal


@dataclass(frozen=True)
class BuyerStatement:
    buyer: str
    ruc: str
    remittance_days: int
    date_from: dt.date
    date_to: dt.date
    settlements: tuple[SettlementRow, ...]
    remittances: tuple[RemittanceRow, ...]
    exceptions: tuple[ExceptionRow, ...]
    balances: tuple[CurrencyBalance, ...]


def buyer_statement(*, buyer: Buyer, date_from: dt.date, date_to: dt.date) -> BuyerStatement:
    if date_from > date_to:
        raise ValueError("date_from must not come after date_to.")
    settlements = (
        Settlement.objects.filter(buyer=buyer, settled_on__gte=date_from, settled_on__lte=date_to)
        .select_related("miner")
        .prefetch_related(
            "withholdings__loan", "withholdings__matches__remittance", "withholdings__transaction__allocations"
        )
        .order_by("settled_on", "pk")
    )
    settlement_rows = []
    for settlement in settlements:  # one statement period of one buyer
        withholdings = list(settlement.withholdings.all())
        live = [w for w in withholdings if w.status != Withholding.Status.REVERSED]
        withheld = sum((w.amount for w in live), ZERO)
        remitted = sum((m.amount for w in live for m in w.matches.all() if m.remittance.paid_on <= date_to), ZERO)
        statuses = sorted({str(w.get_status_display()) for w in withholdings})
        overdue = any(withheld > remitted and (date_to - w.withheld_on).days > buyer.remittance_days for w in live)
        settlement_rows.append(
            SettlementRow(
                settled_on=settlement.settled_on,
                lot_code=settlement.lot_code,
                miner=settlement.miner.full_name,
                payable_usd=settlement.payable_usd,
                status=str(settlement.get_status_display()),
                void=settlement.status == Settlement.Status.VOID,
                loans=", ".join(sorted({w.loan.code for w in withholdings})),
                currency=withholdings[0].currency if withholdings else "",
                withheld=withheld,
                remitted=remitted,
                reconciliation=", ".join(statuses) if statuses else _("no withholding"),
                overdue=overdue,
                price_share=settlement.price_share,
                value_share=settlement.value_share,
                fair_price_flags=tuple(settlement.fair_price_flags),
                terms_deviations=tuple(settlement.terms_deviations),
                maquila_from_scale=settlement.maquila_source == Settlement.MaquilaSource.SCALE,
                credit_to_miner=sum(
                    (
                        a.amount
                        for w in live
                        for a in w.transaction.allocations.all()
                        if a.component == Allocation.Component.OVERPAYMENT
                    ),
                    ZERO,
                ),
            )
        )
    remittances = tuple(
        RemittanceRow(
            paid_on=remittance.paid_on,
            reference=remittance.reference,
            currency=remittance.currency,
            amount=remittance.amount,
            matched=remittance.amount - remittance.unmatched_amount,
            unmatched=remittance.unmatched_amount,
        )
        for remittance in Remittance.objects.filter(buyer=buyer, paid_on__gte=date_from, paid_on__lte=date_to).order_by(
            "paid_on", "pk"
        )
    )
    exceptions = tuple(
        ExceptionRow(
            detected_on=exception.detected_on,
            kind=str(exception.get_kind_display()),
            amount=exception.amount,
            status=str(exception.get_status_display()),
            detail=exception_description(exception),
        )
        for exception in ReconciliationException.objects.filter(buyer=buyer, detected_on__lte=date_to)
        .filter(Q(detected_on__gte=date_from) | Q(status=ReconciliationException.Status.OPEN))
        .select_related("withholding")
        .order_by("detected_on", "pk")
    )
    # The balance owed is the servicing engine's figure (installments.selectors), so the statement,
    # the buyer API and the officer screens agree: withholdings kept less remittances sent.
    opening = buyer_balance_owed(buyer=buyer, as_of=date_from - dt.timedelta(days=1))
    period = servicing_buyer_statement(buyer=buyer, date_from=date_from, date_to=date_to)
    closing, period_withheld, period_remitted = period["owed"], period["withheld"], period["remitted"]
    currencies = sorted(set(opening) | set(closing) | set(period_withheld) | set(period_remitted)) or ["PEN"]
    balances = tuple(
        CurrencyBalance(
            currency=currency,
            opening_owed=money(opening.get(currency, ZERO)),
            withheld=money(period_withheld.get(currency, ZERO)),
            remitted=money(period_remitted.get(currency, ZERO)),
            closing_owed=money(closing.get(currency, ZERO)),
        )
        for currency in currencies
    )
    return BuyerStatement(
        buyer=buyer.name,
        ruc=buyer.ruc,
        remittance_days=buyer.remittance_days,
        date_from=date_from,
        date_to=date_to,
        settlements=tuple(settlement_rows),
        remittances=remittances,
        exceptions=exceptions,
        balances=balances,
    )


def buyer_statement_pdf(statement: BuyerStatement, *, lang: str = "es") -> bytes:
    return pdf.render_pdf("reports/pdf/buyer_statement.html", {"doc": statement}, lang=lang)
