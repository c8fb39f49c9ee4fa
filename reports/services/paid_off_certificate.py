"""The constancia de no adeudo (paid-off certificate) of a loan (DOMAIN.md §10): the lender states that
the miner owes nothing more on that loan. Issued only for a loan whose log has closed it (status paid
off); an overpayment credit still held for the miner is stated on it, since it is money owed to them."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db.models import Max
from django.utils.translation import gettext as _

from asmcredit.errors import TransitionError
from installments.models import LoanTransaction, ScheduleLine
from loans.models import Loan
from reports import pdf

# What pays a loan off: the last of these, not reversed, closed it.
_PAYING_KINDS = (
    LoanTransaction.Kind.PAYMENT,
    LoanTransaction.Kind.PREPAYMENT,
    LoanTransaction.Kind.WITHHOLDING,
)


@dataclass(frozen=True)
class PaidOffCertificate:
    lender_name: str
    lender_ruc: str
    contact_phone: str
    borrower: str
    document_type: str
    document_number: str
    loan_code: str
    product: str
    currency: str
    principal: Decimal
    disbursed_on: dt.date
    paid_off_on: dt.date
    overpayment_credit: Decimal
    issued_on: dt.date


def loan_paid_off_on(loan: Loan) -> dt.date:
    """The day the loan was paid off: the day its last installment was paid in full (the payoff pays
    all at once), else the date of its last payment not reversed."""
    last_line = ScheduleLine.objects.filter(loan=loan, is_current=True).aggregate(day=Max("paid_on"))["day"]
    if last_line is not None:
        return last_line
    last_payment = LoanTransaction.objects.filter(
        loan=loan, kind__in=_PAYING_KINDS, reversed_by__isnull=True, reverses__isnull=True
    ).aggregate(day=Max("value_date"))["day"]
    return last_payment or loan.disbursed_on


def paid_off_certificate(*, loan: Loan, issued_on: dt.date) -> PaidOffCertificate:
    """The certificate's figures; ``TransitionError`` unless the loan is paid off."""
    if loan.status != Loan.Status.PAID_OFF:
        raise TransitionError(_("Loan %(code)s is not paid off: there is no certificate yet.") % {"code": loan.code})
    miner = loan.miner
    return PaidOffCertificate(
        lender_name=settings.LENDER_NAME or "",
        lender_ruc=settings.LENDER_RUC or "",
        contact_phone=settings.LENDER_CONTACT_PHONE,
        borrower=miner.full_name,
        document_type=miner.document_type,
        document_number=miner.document_number,
        loan_code=loan.code,
        product=loan.product.name,
        currency=loan.currency,
        principal=loan.principal,
        disbursed_on=loan.disbursed_on,
        paid_off_on=loan_paid_off_on(loan),
        overpayment_credit=loan.overpayment_credit,
        issued_on=issued_on,
    )


def paid_off_certificate_pdf(certificate: PaidOffCertificate, *, lang: str = "es") -> bytes:
    return pdf.render_pdf("reports/pdf/paid_off_certificate.html", {"doc": certificate}, lang=lang)
