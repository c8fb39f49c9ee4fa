"""The report documents: what goes on each one, and turning it into a PDF or CSV.

- Cronograma de pagos (hoja resumen) for a loan or an offer — DOMAIN.md §3.
- Estado de cuenta of a miner for a period.
- Estado de cuenta of a buyer: settlements, withholdings, remittances, reconciliation, balance owed.
- The portfolio and impact report (figures from ``reports.selectors.portfolio_summary``), generated in
  the background for the web page (``portfolio_report_generate``) or at once by the management command.

Every document is rendered under ``translation.override(lang)``; ``mask_documents`` hides the
borrower's document number for NGO staff, who get no document numbers.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from asmcredit.fields import CURRENCY_SYMBOL
from asmcredit.models import JobRun
from asmcredit.money import ZERO, money
from buyers.models import Buyer, Settlement
from installments.models import (
    Allocation,
    LoanTransaction,
    ReconciliationException,
    Remittance,
    ScheduleLine,
    Withholding,
)
from installments.selectors import buyer_balance_owed
from installments.selectors import buyer_statement as servicing_buyer_statement
from loans.models import Loan, LoanApplication
from loans.services import application_schedule
from miners.identity import DEPARTMENTS
from miners.models import Miner
from reports import charts, formatting, pdf
from reports.selectors import BreakdownRow, PortfolioSummary, _ratio, portfolio_summary

PORTFOLIO_JOB = "portfolio_report"
REPORTS_DIR = "reports"


# --- Cronograma de pagos ---------------------------------------------------------------------------


@dataclass(frozen=True)
class CronogramaLine:
    number: int
    due_on: dt.date
    days: int
    principal: Decimal
    interest: Decimal
    insurance: Decimal
    fees: Decimal
    total: Decimal
    balance: Decimal


@dataclass(frozen=True)
class Cronograma:
    """The hoja resumen and its schedule: every figure DOMAIN.md §3 asks a cronograma to show."""

    is_offer: bool
    reference: str
    borrower: str
    document_type: str
    document_number: str
    product: str
    currency: str
    amount: Decimal
    net_received: Decimal
    term: int
    tea_pct: Decimal
    moratory_tea_pct: Decimal
    tcea_pct: Decimal
    installment: Decimal
    insurance_monthly_rate_pct: Decimal
    upfront_fees: Decimal
    fee_per_installment: Decimal
    grace_periods: int
    grace_kind: str
    disbursed_on: dt.date
    first_due_on: dt.date
    withholding_buyer: str
    schedule_version: int
    lines: tuple[CronogramaLine, ...]

    def _total(self, column: str) -> Decimal:
        return sum((getattr(line, column) for line in self.lines), ZERO)

    @property
    def total_principal(self) -> Decimal:
        return self._total("principal")

    @property
    def total_interest(self) -> Decimal:
        return self._total("interest")

    @property
    def total_insurance(self) -> Decimal:
        return self._total("insurance")

    @property
    def total_fees(self) -> Decimal:
        return self._total("fees")

    @property
    def total(self) -> Decimal:
        return self._total("total")


def _document(miner: Miner, mask: bool) -> str:
    return formatting.mask_document(miner.document_number) if mask else miner.document_number


def loan_cronograma(*, loan: Loan, mask_documents: bool = False) -> Cronograma:
    """The loan's current cronograma, as stored (after a prepayment, the regenerated version)."""
    loan = Loan.objects.select_related("miner", "product", "withholding_buyer", "application").get(pk=loan.pk)
    lines = ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number")
    return Cronograma(
        is_offer=False,
        reference=loan.code,
        borrower=loan.miner.full_name,
        document_type=loan.miner.document_type,
        document_number=_document(loan.miner, mask_documents),
        product=loan.product.name,
        currency=loan.currency,
        amount=loan.principal,
        net_received=loan.principal - loan.upfront_fees,
        term=loan.term,
        tea_pct=loan.tea_pct,
        moratory_tea_pct=loan.moratory_tea_pct,
        tcea_pct=loan.tcea_pct,
        installment=loan.installment_amount,
        insurance_monthly_rate_pct=loan.insurance_monthly_rate_pct,
        upfront_fees=loan.upfront_fees,
        fee_per_installment=loan.fee_per_installment,
        grace_periods=loan.grace_periods,
        grace_kind=loan.get_grace_kind_display() if loan.grace_periods else "",
        disbursed_on=loan.disbursed_on,
        first_due_on=loan.first_due_on,
        withholding_buyer=loan.withholding_buyer.name if loan.withholding_buyer else "",
        schedule_version=loan.schedule_version,
        lines=tuple(
            CronogramaLine(
                number=line.number,
                due_on=line.due_on,
                days=line.days,
                principal=line.principal,
                interest=line.interest,
                insurance=line.insurance,
                fees=line.fees,
                total=line.total,
                balance=line.closing_balance,
            )
            for line in lines
        ),
    )


def offer_cronograma(*, application: LoanApplication, mask_documents: bool = False) -> Cronograma:
    """The cronograma an application would be disbursed with (the offer shown before signing)."""
    application = LoanApplication.objects.select_related("miner", "product", "withholding_buyer").get(pk=application.pk)
    schedule = application_schedule(application)
    product = application.product
    return Cronograma(
        is_offer=True,
        reference=f"#{application.pk}",
        borrower=application.miner.full_name,
        document_type=application.miner.document_type,
        document_number=_document(application.miner, mask_documents),
        product=product.name,
        currency=product.currency,
        amount=application.amount,
        net_received=schedule.terms.net_received,
        term=application.term,
        tea_pct=application.tea_pct,
        moratory_tea_pct=product.moratory_tea_pct,
        tcea_pct=schedule.tcea,
        installment=schedule.installment,
        insurance_monthly_rate_pct=product.insurance_monthly_rate_pct,
        upfront_fees=product.upfront_fee,
        fee_per_installment=product.fee_per_installment,
        grace_periods=application.grace_periods,
        grace_kind=product.get_grace_kind_display() if application.grace_periods else "",
        disbursed_on=application.disbursement_date,
        first_due_on=application.first_due_on,
        withholding_buyer=application.withholding_buyer.name if application.withholding_buyer else "",
        schedule_version=1,
        lines=tuple(
            CronogramaLine(
                number=line.number,
                due_on=line.due_on,
                days=line.days,
                principal=line.principal,
                interest=line.interest,
                insurance=line.insurance,
                fees=line.fees,
                total=line.total,
                balance=line.closing_balance,
            )
            for line in schedule.lines
        ),
    )


def cronograma_pdf(cronograma: Cronograma, *, lang: str = "es") -> bytes:
    return pdf.render_pdf("reports/pdf/cronograma.html", {"doc": cronograma}, lang=lang)


# --- Miner account statement -----------------------------------------------------------------------


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
                    interest=parts["interest"],
                    other=parts["insurance"] + parts["fees"] + parts["moratory"],
                    balance=balance,
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
                        - line.paid_insurance
                        - line.paid_fees,
                        overdue=line.due_on <= date_to,
                    )
                    for line in [*overdue, *upcoming]
                ),
            )
        )
    return MinerStatement(
        borrower=miner.full_name,
        document_type=miner.document_type,
        document_number=_document(miner, mask_documents),
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


# --- Buyer statement -------------------------------------------------------------------------------


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
        .prefetch_related("withholdings__loan", "withholdings__matches__remittance")
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
            detail=exception.detail,
        )
        for exception in ReconciliationException.objects.filter(buyer=buyer, detected_on__lte=date_to)
        .filter(Q(detected_on__gte=date_from) | Q(status=ReconciliationException.Status.OPEN))
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


# --- Portfolio and impact report -------------------------------------------------------------------


# A chart stays readable with this many bars; the CSV export lists every group.
CHART_GROUPS = 15


def _largest(rows: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(sorted(rows, key=lambda row: row.outstanding, reverse=True)[:CHART_GROUPS])


def portfolio_charts(summary: PortfolioSummary) -> dict[str, str]:
    """The report's charts as inline SVG, titled in the active language."""
    symbol = CURRENCY_SYMBOL.get(summary.currency, summary.currency)
    drawn = {
        "categories": charts.category_stack(summary.categories, title=_("Portfolio by SBS category")),
        "region": charts.breakdown_bar(
            _largest(summary.by_region), title=_("Outstanding by region"), currency_symbol=symbol
        )
        if summary.by_region
        else "",
        "buyer": charts.breakdown_bar(
            _largest(summary.by_buyer), title=_("Outstanding by buyer"), currency_symbol=symbol
        )
        if summary.by_buyer
        else "",
        "months": charts.months_line(summary.months, title=_("Disbursed, withheld and remitted per month"))
        if summary.months
        else "",
        "equipment": charts.equipment_bar(
            [str(row.label) for row in summary.equipment],
            [row.amount for row in summary.equipment],
            title=_("Equipment financed (%(symbol)s)") % {"symbol": symbol},
        )
        if len(summary.equipment) > 1
        else "",
    }
    return drawn


# A breakdown longer than this (a thousand buyers) lists its largest groups by outstanding in the PDF,
# with the rest summed in one "others" row; the summary, the API and the CSV export keep every group.
PDF_GROUPS = 15


@dataclass(frozen=True)
class OtherGroups:
    """The groups of a breakdown the PDF does not list one by one, summed in one row."""

    label: str
    groups: int
    loans_disbursed: int
    amount_disbursed: Decimal
    active_loans: int
    outstanding: Decimal
    par30_amount: Decimal
    # Borrowers are not summed: a miner with loans withheld by two of these buyers would count twice.
    borrowers: None = None

    @property
    def par30(self) -> Decimal:
        return _ratio(self.par30_amount, self.outstanding)


def pdf_breakdown(rows: tuple[BreakdownRow, ...], *, others: str) -> tuple[BreakdownRow | OtherGroups, ...]:
    """``rows`` as the PDF lists them: all of them when there are at most ``PDF_GROUPS`` + 1, else the
    ``PDF_GROUPS`` largest by outstanding and one row summing the rest (``others`` % {"n": how many})."""
    if len(rows) <= PDF_GROUPS + 1:
        return rows
    ranked = sorted(rows, key=lambda row: (-row.outstanding, str(row.label)))
    shown, rest = ranked[:PDF_GROUPS], ranked[PDF_GROUPS:]
    other = OtherGroups(
        label=others % {"n": len(rest)},
        groups=len(rest),
        loans_disbursed=sum(row.loans_disbursed for row in rest),
        amount_disbursed=sum((row.amount_disbursed for row in rest), ZERO),
        active_loans=sum(row.active_loans for row in rest),
        outstanding=sum((row.outstanding for row in rest), ZERO),
        par30_amount=sum((row.par30_amount for row in rest), ZERO),
    )
    return (*shown, other)


def portfolio_pdf(
    summary: PortfolioSummary, *, lang: str = "es", progress: Callable[[int], None] | None = None
) -> bytes:
    with translation.override(pdf.language(lang)):
        drawn = portfolio_charts(summary)
        if progress:
            progress(70)
        breakdowns = {
            "buyer": pdf_breakdown(summary.by_buyer, others=_("Other buyers (%(n)s)")),
            "product": pdf_breakdown(summary.by_product, others=_("Other products (%(n)s)")),
        }
        context = {"s": summary, "charts": drawn, "breakdowns": breakdowns, "filters": _filters(summary)}
        return pdf.render_pdf("reports/pdf/portfolio.html", context, lang=lang)


def _filters(summary: PortfolioSummary) -> list[tuple[str, str]]:
    filters = []
    if summary.buyer_name:
        filters.append((_("Buyer"), f"{summary.buyer_name} (RUC {summary.buyer_ruc})"))
    if summary.region:
        filters.append((_("Region"), DEPARTMENTS.get(summary.region, summary.region)))
    if summary.product_code:
        filters.append((_("Product"), summary.product_code))
    return filters


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _pct(value: Decimal) -> Decimal:
    """A 4-decimal fraction as a 2-decimal percentage number (0.1234 → 12.34) for spreadsheets."""
    return (value * 100).quantize(Decimal("0.01"))


def _breakdown_table(slug: str, title: str, first: str, rows: Iterable[Any]) -> Table:
    return Table(
        slug=slug,
        title=title,
        headers=(
            first,
            _("Loans disbursed"),
            _("Amount disbursed"),
            _("Active loans"),
            _("Borrowers"),
            _("Outstanding"),
            _("PAR30 amount"),
            _("PAR30 (%)"),
        ),
        rows=tuple(
            (
                row.label,
                row.loans_disbursed,
                row.amount_disbursed,
                row.active_loans,
                row.borrowers,
                row.outstanding,
                row.par30_amount,
                _pct(row.par30),
            )
            for row in rows
        ),
    )


def portfolio_tables(summary: PortfolioSummary) -> dict[str, Table]:
    """Every table of the portfolio report, with headers in the active language (also the CSV exports)."""
    s = summary
    key_figures = (
        (_("Loans disbursed in the period"), s.loans_disbursed),
        (_("Amount disbursed in the period"), s.amount_disbursed),
        (_("Average loan disbursed"), s.average_disbursed),
        (_("Borrowers reached in the period"), s.borrowers_disbursed),
        (_("Women reached in the period"), s.women_disbursed),
        (_("Active loans"), s.active_loans),
        (_("Active borrowers"), s.borrowers),
        (_("Active women borrowers"), s.women_borrowers),
        (_("Active pallaquera borrowers"), s.pallaquera_borrowers),
        (_("Outstanding principal"), s.outstanding),
        (_("PAR1 (%)"), _pct(s.par1)),
        (_("PAR30 (%)"), _pct(s.par30)),
        (_("PAR90 (%)"), _pct(s.par90)),
        (_("Repayment rate (%)"), _pct(s.repayment_rate)),
        (_("Due in the period"), s.due_in_period),
        (_("Collected toward it"), s.collected_in_period),
        (_("Share rated Normal (%)"), _pct(s.normal_share)),
        (_("Sector baseline rated Normal (%)"), _pct(s.sector_normal_baseline)),
        (_("Withheld by buyers"), s.withheld),
        (_("Remitted by buyers"), s.remitted_in_period),
        (_("Average remittance delay (days)"), s.average_remittance_delay_days),
        (_("Unremitted at the as-of date"), s.unremitted),
        (_("Unremitted past the agreed days"), s.unremitted_overdue),
        (_("Mercury avoided per year, equipment financed in the period (kg)"), s.mercury_avoided_kg_year),
        (_("Mercury avoided per year, all equipment financed (kg)"), s.mercury_avoided_kg_year_to_date),
        (_("Miners trained"), s.trained_miners),
        (_("Women trained"), s.trained_women),
        (_("Training hours"), s.training_hours),
    )
    tables = [
        Table("key-figures", _("Key figures"), (_("Figure"), _("Value")), key_figures),
        Table(
            "categories",
            _("SBS risk categories"),
            (_("Category"), _("Loans"), _("Loans (%)"), _("Outstanding"), _("Outstanding (%)")),
            tuple(
                (row.label, row.loans, _pct(row.loans_share), row.outstanding, _pct(row.outstanding_share))
                for row in s.categories
            ),
        ),
        _breakdown_table("gender", _("By gender"), _("Gender"), s.by_gender),
        _breakdown_table("role", _("By role"), _("Role"), s.by_role),
        _breakdown_table("region", _("By region"), _("Region"), s.by_region),
        _breakdown_table("buyer", _("By buyer"), _("Buyer"), s.by_buyer),
        _breakdown_table("product", _("By product"), _("Product"), s.by_product),
        Table(
            "equipment",
            _("Equipment financed"),
            (_("Equipment"), _("Loans"), _("Amount"), _("Mercury-free"), _("Mercury avoided (kg/year)")),
            tuple(
                (row.label, row.loans, row.amount, row.mercury_free_loans, row.mercury_avoided_kg_year)
                for row in s.equipment
            ),
        ),
        Table(
            "trainings",
            _("Trainings received"),
            (_("Topic"), _("Sessions"), _("Miners"), _("Women"), _("Hours")),
            tuple((row.label, row.sessions, row.participants, row.women, row.hours) for row in s.trainings),
        ),
        Table(
            "months",
            _("Month by month"),
            (_("Month"), _("Loans disbursed"), _("Amount disbursed"), _("Withheld"), _("Remitted")),
            tuple(
                (row.month.strftime("%Y-%m"), row.loans_disbursed, row.amount_disbursed, row.withheld, row.remitted)
                for row in s.months
            ),
        ),
    ]
    return {table.slug: table for table in tables}


def table_csv(table: Table) -> str:
    """A table as CSV: plain numbers ("1234.50"), so spreadsheets read them as numbers."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow(["" if value is None else value for value in row])
    return buffer.getvalue()


def portfolio_job_start(*, actor: Any, params: dict[str, Any]) -> JobRun:
    """Record a portfolio report job and queue it once the record is committed."""
    from reports import tasks

    job = JobRun.objects.create(
        name=PORTFOLIO_JOB,
        as_of=dt.date.fromisoformat(params["as_of"]),
        detail={"params": params, "requested_by": getattr(actor, "pk", None)},
    )
    transaction.on_commit(lambda: tasks.portfolio_report.delay(job.pk, params))
    return job


def _set_progress(job_id: int, value: int) -> None:
    JobRun.objects.filter(pk=job_id, status=JobRun.Status.RUNNING).update(progress=value)


def portfolio_report_generate(
    *,
    job_run_id: int,
    as_of: str,
    date_from: str | None = None,
    buyer: str | None = None,
    region: str | None = None,
    product: str | None = None,
    lang: str = "es",
) -> JobRun:
    """Compute the figures, draw and render the report, store it under MEDIA_ROOT/reports/."""
    _set_progress(job_run_id, 5)
    try:
        summary = portfolio_summary(
            as_of=dt.date.fromisoformat(as_of),
            date_from=dt.date.fromisoformat(date_from) if date_from else None,
            buyer=buyer or None,
            region=region or None,
            product=product or None,
        )
        _set_progress(job_run_id, 50)
        document = portfolio_pdf(summary, lang=lang, progress=lambda value: _set_progress(job_run_id, value))
        _set_progress(job_run_id, 95)
        name = default_storage.save(f"{REPORTS_DIR}/portfolio-{as_of}-{job_run_id}.pdf", ContentFile(document))
    except Exception as exc:
        JobRun.objects.filter(pk=job_run_id).update(
            status=JobRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    job = JobRun.objects.get(pk=job_run_id)
    job.status = JobRun.Status.SUCCEEDED
    job.progress = 100
    job.finished_at = timezone.now()
    job.rows_touched = summary.active_loans
    job.detail = {**job.detail, "file": name, "bytes": len(document)}
    job.save(update_fields=["status", "progress", "finished_at", "rows_touched", "detail"])
    return job


def report_file_path(job: JobRun) -> Path | None:
    name = (job.detail or {}).get("file")
    if not name or not default_storage.exists(name):
        return None
    return Path(settings.MEDIA_ROOT) / name
