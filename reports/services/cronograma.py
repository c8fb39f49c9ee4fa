"""The cronograma de pagos (hoja resumen) of a loan, or of an offer before signing — DOMAIN.md §3."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from asmcredit.money import ZERO
from installments.models import ScheduleLine
from loans.models import Loan, LoanApplication
from loans.services import application_schedule
from reports import pdf
from reports.services.masking import shown_document_number


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
    # A reprogramación's deferred interest (DOMAIN.md §7): its own column, never principal.
    deferred_interest: Decimal = ZERO


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
    def total_deferred_interest(self) -> Decimal:
        return self._total("deferred_interest")

    @property
    def total_insurance(self) -> Decimal:
        return self._total("insurance")

    @property
    def total_fees(self) -> Decimal:
        return self._total("fees")

    @property
    def total(self) -> Decimal:
        return self._total("total")


def loan_cronograma(*, loan: Loan, mask_documents: bool = False) -> Cronograma:
    """The loan's current cronograma, as stored (after a prepayment, the regenerated version)."""
    loan = Loan.objects.select_related("miner", "product", "withholding_buyer", "application").get(pk=loan.pk)
    lines = ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number")
    return Cronograma(
        is_offer=False,
        reference=loan.code,
        borrower=loan.miner.full_name,
        document_type=loan.miner.document_type,
        document_number=shown_document_number(loan.miner, mask=mask_documents),
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
                deferred_interest=line.deferred_interest,
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
        document_number=shown_document_number(application.miner, mask=mask_documents),
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
