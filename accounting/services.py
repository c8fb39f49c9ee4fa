"""Month-end (DOMAIN.md §8): the tie-out of the sub-ledger against the loans' own figures, and closing
and reopening a month (the ``accountant`` role; audited)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting import rules
from accounting.chart import Chart
from accounting.models import AccountingPeriod, TieOut
from accounting.posting import POSTING_LOCK, loan_states
from accounting.selectors import account_balances, month_end
from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from buyers.models import Buyer
from installments.models import Allocation, LoanRating, LoanTransaction
from installments.selectors import buyer_balance_owed
from lifecycle.models import WriteOff
from loans.models import Loan

ZERO = Decimal("0.00")
PRINCIPAL_ROLES = (
    rules.LOAN_VIGENTE,
    rules.LOAN_REPROGRAMMED,
    rules.LOAN_RESTRUCTURED,
    rules.LOAN_REFINANCED,
    rules.LOAN_VENCIDO,
    rules.LOAN_JUDICIAL,
)


def _is_person(actor: Any) -> bool:
    return hasattr(actor, "pk") and hasattr(actor, "groups")


def _require_closer(actor: Any) -> None:
    if _is_person(actor) and not roles.has_role(actor, *roles.ACCOUNTING_CLOSERS):
        raise PermissionDenied(_("Only an accountant or the lender administrator closes or reopens a month."))


def _loan_figures(*, as_of: dt.date, currency: str) -> dict[str, Decimal]:
    """The loans' own figures as of a date, from the servicing log (not from the journal)."""
    written_off = WriteOff.objects.filter(status=WriteOff.Status.APPROVED, written_off_on__lte=as_of).values("loan_id")
    in_book = Q(currency=currency, disbursed_on__lte=as_of) & ~Q(pk__in=written_off)
    loan_ids = list(Loan.objects.filter(in_book).values_list("pk", flat=True))
    disbursed = (
        LoanTransaction.objects.filter(
            loan_id__in=loan_ids, kind=LoanTransaction.Kind.DISBURSEMENT, value_date__lte=as_of
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    repaid = (
        Allocation.objects.filter(
            transaction__loan_id__in=loan_ids, component="principal", transaction__value_date__lte=as_of
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    states = loan_states(loan_ids=loan_ids, as_of=as_of) if loan_ids else {}
    provisions = (
        LoanRating.objects.filter(loan_id__in=loan_ids, as_of__lte=as_of)
        .order_by("loan_id", "-as_of")
        .distinct("loan_id")
        .values_list("provision", flat=True)
    )
    overpaid = (
        Allocation.objects.filter(
            transaction__currency=currency, component="overpayment", transaction__value_date__lte=as_of
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    credit_used = (
        LoanTransaction.objects.filter(
            currency=currency,
            kind__in=[LoanTransaction.Kind.CREDIT_REFUND, LoanTransaction.Kind.CREDIT_TRANSFER],
            value_date__lte=as_of,
        ).aggregate(total=Sum("amount"))["total"]
        or ZERO
    )
    owed = ZERO
    buyers = Buyer.objects.filter(Q(withholdings__currency=currency) | Q(remittances__currency=currency)).distinct()
    for buyer in buyers:
        owed += buyer_balance_owed(buyer=buyer, as_of=as_of).get(currency, ZERO)
    return {
        "principal": disbursed - repaid,
        "accrued_interest": sum((s.receivable for s in states.values() if not s.vencido), ZERO),
        "suspended_interest": sum((s.receivable for s in states.values() if s.vencido), ZERO),
        "provisions": sum(provisions, ZERO),
        "buyer_receivables": owed,
        "overpayment_credit": overpaid - credit_used,
    }


def _ledger_figures(*, as_of: dt.date, currency: str) -> dict[str, Decimal]:
    chart = Chart.load()
    balances = account_balances(as_of=as_of, currency=currency)
    codes = {account.pk: account.code for account in _accounts()}

    def bal(role: str) -> Decimal:
        return balances.get(codes[chart.account(role, currency, as_of)], ZERO)

    return {
        # Roles may share an account (reprogrammed loans stay in 1401): each account counted once.
        "principal": sum(
            (balances.get(code, ZERO) for code in {codes[chart.account(r, currency, as_of)] for r in PRINCIPAL_ROLES}),
            ZERO,
        ),
        "accrued_interest": bal(rules.ACCRUED_INTEREST),
        "suspended_interest": bal(rules.SUSPENDED_INTEREST),
        "provisions": -bal(rules.PROVISION),
        "buyer_receivables": bal(rules.BUYER_RECEIVABLE),
        "overpayment_credit": -bal(rules.OVERPAYMENT_CREDIT),
    }


def _accounts() -> Any:
    from accounting.models import Account

    return Account.objects.all()


def tie_out_run(*, period: dt.date, currency: str, actor: Any = None, as_of: dt.date | None = None) -> TieOut:
    """Compare the sub-ledger with the loans' figures at the month's end (or ``as_of``), to the
    céntimo, and record the result."""
    period = period.replace(day=1)
    as_of = as_of or month_end(period)
    ledger = _ledger_figures(as_of=as_of, currency=currency)
    loans = _loan_figures(as_of=as_of, currency=currency)
    figures = {
        item: {"ledger": str(ledger[item]), "loans": str(loans[item]), "difference": str(ledger[item] - loans[item])}
        for item in ledger
    }
    ok = all(ledger[item] == loans[item] for item in ledger)
    with transaction.atomic():
        tie_out = TieOut.objects.create(
            period=period,
            as_of=as_of,
            currency=currency,
            ok=ok,
            figures=figures,
            run_by=actor if _is_person(actor) else None,
        )
        audit_record(actor=actor, action="accounting.tie_out", obj=tie_out, after=snapshot(tie_out))
    return tie_out


def period_close(*, period: dt.date, actor: Any, currencies: tuple[str, ...] = ("PEN", "USD")) -> AccountingPeriod:
    """Cierre: tie the month out in every currency; when all tie, close it (the journal refuses postings
    dated in it from then on; late corrections post in the next open month with their own date)."""
    _require_closer(actor)
    period = period.replace(day=1)
    tie_outs = [tie_out_run(period=period, currency=currency, actor=actor) for currency in currencies]
    failed = [t for t in tie_outs if not t.ok]
    if failed:
        detail = "; ".join(
            f"{t.currency} {item}: {figures['difference']}"
            for t in failed
            for item, figures in t.figures.items()
            if Decimal(figures["difference"])
        )
        raise ValidationError({"period": _("The month does not tie out: %(detail)s") % {"detail": detail}})
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [POSTING_LOCK])
        record, _created = AccountingPeriod.objects.select_for_update().get_or_create(month=period)
        if record.status == AccountingPeriod.Status.CLOSED:
            raise ValidationError({"period": _("This month is already closed.")})
        before = snapshot(record)
        record.status = AccountingPeriod.Status.CLOSED
        record.closed_at = timezone.now()
        record.closed_by = actor if _is_person(actor) else None
        record.save()
        audit_record(actor=actor, action="accounting.period_close", obj=record, before=before, after=snapshot(record))
    return record


@transaction.atomic
def period_reopen(*, period: dt.date, actor: Any, reason: str) -> AccountingPeriod:
    """Reopen a closed month, with a reason (audited)."""
    _require_closer(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the month is reopened.")})
    record = AccountingPeriod.objects.select_for_update().filter(month=period.replace(day=1)).first()
    if record is None or record.status != AccountingPeriod.Status.CLOSED:
        raise ValidationError({"period": _("This month is not closed.")})
    before = snapshot(record)
    record.status = AccountingPeriod.Status.OPEN
    record.reopen_reason = reason[:2000]
    record.save()
    audit_record(actor=actor, action="accounting.period_reopen", obj=record, before=before, after=snapshot(record))
    return record
