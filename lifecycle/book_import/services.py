"""Migración de cartera: a lender adopting ASM Credit brings its existing loans in as opening loans.

Each loan of the files (``lifecycle.book_import.reading``) is replayed through the same ledger as a loan
disbursed here: an application and a loan built as ``installments.services.loan_disburse`` builds them
(product terms copied onto the loan, the cronograma from the terms by ``loans.services.
application_schedule``, or the lender's own lines), its DISBURSEMENT entry, then its past payments as the
PAYMENT entries ``payment_record`` writes, on their value dates, and ``loan_recompute``. Its outstanding
principal on the cut-off date (and the unpaid interest of installments due by then, when the lender
declares it) is compared with the lender's figures; an overpayment credit the replay finds is a
difference too (the lender declared none).

Rules as implemented:

- Every loan runs in its own transaction (a savepoint inside the caller's): a **dry run** rolls every
  one back and reports; a **commit** keeps the loans that tie and rolls back the others — a mismatch
  refuses that loan only, never the file: the lender fixes it and uploads it again.
- An error in the files (a bad value, a missing column, an unknown miner) refuses the whole upload
  before any loan is replayed, each error with its file and row.
- Idempotent by the lender's loan number (``Loan.lender_number``, unique): a loan already imported is
  skipped and reported, so running the same files again imports nothing twice.
- The difference allowed is ``BOOK_IMPORT_TOLERANCE`` (settings; default 0.00: to the céntimo).
- The money did not leave ASM Credit: the DISBURSEMENT entry carries the reference ``MIGRACION`` and
  no cash goes to a supplier or the miner; the loan is linked to its import line (``loan.migration``:
  who, when, which batch), and its history shows "Loan migrated from the lender's book".
- Past payments are entries of the log, not news: no receipt is queued for the miner. A withholding
  made by a buyer before the migration was remitted to the lender under its old system, so it is
  recorded as a payment of its date (noted as a withholding): no buyer owes it to ASM Credit.
- The interest to the day, moratory interest and the nightly rating follow from the replay as for any
  loan; the rates are checked against the BCRP caps in force on the disbursement date (a loan above
  them cannot be replayed: it is refused, not imported).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_event, audit_record, snapshot
from asmcredit.models import AuditEvent
from asmcredit.money import ZERO, money
from installments.models import LoanTransaction
from installments.selectors import loan_state_on
from installments.services.disbursement import cronograma_v1_create, loan_code_for
from installments.services.writeback import loan_recompute
from lifecycle.book_import.reading import WITHHOLDING, OpeningLoan, read_book
from lifecycle.models import BookImport, BookImportLine
from loans import tcea as tcea_module
from loans.models import Loan, LoanApplication
from loans.schedule import Schedule, ScheduleTerms
from loans.schedule import ScheduleLine as PlannedLine
from loans.services import application_schedule
from rates.caps import rate_caps_check

IMPORTERS = (roles.LENDER_ADMIN,)
MIGRATION_REFERENCE = "MIGRACION"


class _RollBack(Exception):  # noqa: N818 - a signal, not an error: undo this loan's savepoint
    pass


@dataclass(frozen=True)
class Difference:
    field: str
    ours: Decimal
    theirs: Decimal

    @property
    def difference(self) -> Decimal:
        return self.ours - self.theirs

    def as_dict(self) -> dict[str, str]:
        return {
            "field": self.field,
            "ours": str(self.ours),
            "theirs": str(self.theirs),
            "difference": str(self.difference),
        }


def tolerance() -> Decimal:
    return Decimal(str(getattr(settings, "BOOK_IMPORT_TOLERANCE", "0")))


@transaction.atomic
def book_import_create(
    *,
    actor: Any,
    cutoff: dt.date,
    loans: str,
    payments: str = "",
    schedule: str = "",
    file_name: str = "",
    commit: bool = False,
    confirms: BookImport | None = None,
) -> BookImport:
    """A book import waiting to run (``book_import_run``): the files as text (``tabular.upload_text``)."""
    if not roles.has_role(actor, *IMPORTERS):
        raise PermissionDenied(_("Only the lender administrator migrates a loan book."))
    if cutoff > timezone.localdate():
        raise ValidationError({"cutoff": _("The cut-off date cannot be in the future.")})
    batch = BookImport.objects.create(
        mode=BookImport.Mode.COMMIT if commit else BookImport.Mode.DRY_RUN,
        cutoff=cutoff,
        file_name=file_name[:200],
        loans_text=loans,
        payments_text=payments,
        schedule_text=schedule,
        confirms=confirms,
        started_by=actor,
    )
    audit_record(
        actor=actor,
        action="book_import.start",
        obj=batch,
        after={
            "mode": batch.mode,
            "cutoff": cutoff,
            "file": batch.file_name,
            "confirms": getattr(confirms, "pk", None),
        },
    )
    return batch


def book_import_run(*, batch: BookImport, progress: Callable[[int], None] | None = None) -> BookImport:
    """Read the batch's files, replay each loan and compare it; keep the loans that tie when the batch
    commits. Each loan is its own transaction, so the progress and the imported loans are visible while
    the rest runs, and a crash leaves what was imported — a second run skips it."""
    actor = batch.started_by
    book = read_book(
        loans=batch.loans_text,
        cutoff=batch.cutoff,
        payments=batch.payments_text or None,
        schedule=batch.schedule_text or None,
    )
    batch.loans = book.rows
    if book.errors:
        batch.row_errors = book.errors
        return _finish(batch, BookImport.Status.FAILED, actor)
    commit = batch.mode == BookImport.Mode.COMMIT
    existing = dict(
        Loan.objects.filter(lender_number__in=[loan.lender_number for loan in book.loans]).values_list(
            "lender_number", "code"
        )
    )
    lines: list[BookImportLine] = []
    total = len(book.loans)
    caps: dict[tuple[Any, ...], str] = {}
    for index, opening in enumerate(book.loans, start=1):
        line = BookImportLine(batch=batch, row=opening.row, lender_number=opening.lender_number)
        refusal = _caps_refusal(opening, caps)
        if opening.lender_number in existing:
            line.outcome = BookImportLine.Outcome.SKIPPED
            line.message = _("Already imported as %(code)s.") % {"code": existing[opening.lender_number]}
        elif refusal:
            line.outcome, line.message = BookImportLine.Outcome.REFUSED, refusal
        else:
            line = _replay(batch=batch, opening=opening, actor=actor, commit=commit)
        if line.pk is None:  # an imported loan's line was saved with it, in its transaction
            lines.append(line)
        if progress is not None and (index % 20 == 0 or index == total):
            progress(int(index * 100 / total))
    BookImportLine.objects.bulk_create(lines)
    counts = Counter(BookImportLine.objects.filter(batch=batch).values_list("outcome", flat=True))
    batch.tied = counts[BookImportLine.Outcome.TIES] + counts[BookImportLine.Outcome.IMPORTED]
    batch.imported = counts[BookImportLine.Outcome.IMPORTED]
    batch.mismatched = counts[BookImportLine.Outcome.MISMATCH] + counts[BookImportLine.Outcome.REFUSED]
    batch.skipped = counts[BookImportLine.Outcome.SKIPPED]
    return _finish(batch, BookImport.Status.DONE, actor)


def _caps_refusal(opening: OpeningLoan, checked: dict[tuple[Any, ...], str]) -> str:
    """Why the loan's rates were above the BCRP caps in force on its disbursement date ("" when they were
    not); a book's loans share a few dates and rates, so each combination is checked once."""
    product = opening.product
    key = (product.currency, opening.disbursed_on, opening.tea_pct, product.moratory_tea_pct)
    if key not in checked:
        try:
            rate_caps_check(
                currency=product.currency,
                on=opening.disbursed_on,
                tea_pct=opening.tea_pct,
                moratory_tea_pct=product.moratory_tea_pct,
            )
            checked[key] = ""
        except ValidationError as exc:
            checked[key] = "; ".join(_messages(exc))[:2000]
    return checked[key]


def _finish(batch: BookImport, status: str, actor: Any) -> BookImport:
    batch.status = status
    batch.finished_at = timezone.now()
    batch.save()
    audit_record(
        actor=actor,
        action="book_import.finish",
        obj=batch,
        after={
            "status": status,
            "mode": batch.mode,
            "loans": batch.loans,
            "tied": batch.tied,
            "imported": batch.imported,
            "mismatched": batch.mismatched,
            "skipped": batch.skipped,
            "errors": len(batch.row_errors),
        },
    )
    return batch


def _replay(*, batch: BookImport, opening: OpeningLoan, actor: Any, commit: bool) -> BookImportLine:
    """One loan replayed in a savepoint, compared, kept only when it ties and the batch commits."""
    line = BookImportLine(batch=batch, row=opening.row, lender_number=opening.lender_number)
    try:
        with transaction.atomic():
            loan = opening_loan_create(opening=opening, batch=batch, actor=actor)
            differences = opening_loan_compare(loan=loan, opening=opening, cutoff=batch.cutoff)
            line.differences = [d.as_dict() for d in differences]
            if differences:
                line.outcome = BookImportLine.Outcome.MISMATCH
                raise _RollBack
            if not commit:
                line.outcome = BookImportLine.Outcome.TIES
                raise _RollBack
            loan_recompute(loan=loan, as_of=max(batch.cutoff, timezone.localdate()))
            line.outcome = BookImportLine.Outcome.IMPORTED
            line.loan = loan
            line.message = loan.code
            line.save()
    except _RollBack:
        pass
    except IntegrityError:
        # Another run imported this loan number between our check and this insert (the unique
        # constraint on Loan.lender_number decides): skipped, as a later run would.
        line.outcome = BookImportLine.Outcome.SKIPPED
        line.message = _("Imported meanwhile by another run.")
    except ValidationError as exc:
        line.outcome = BookImportLine.Outcome.REFUSED
        line.message = "; ".join(_messages(exc))[:2000]
    return line


def _messages(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{name}: {message}" for name, errors in exc.message_dict.items() for message in errors]
    return list(exc.messages)


def _lender_schedule(opening: OpeningLoan) -> Schedule:
    """The lender's own cronograma as ASM Credit keeps one (opening and closing balances, days, TCEA)."""
    lines: list[PlannedLine] = []
    balance, previous = opening.principal, opening.disbursed_on
    for row in opening.schedule:
        total = row.principal + row.interest + row.insurance + row.fees
        lines.append(
            PlannedLine(
                number=row.number,
                due_on=row.due_on,
                days=(row.due_on - previous).days,
                opening_balance=balance,
                principal=row.principal,
                interest=row.interest,
                insurance=row.insurance,
                fees=row.fees,
                total=total,
                closing_balance=balance - row.principal,
            )
        )
        balance, previous = balance - row.principal, row.due_on
    product = opening.product
    terms = ScheduleTerms(
        principal=opening.principal,
        tea=opening.tea_pct / 100,
        disbursed_on=opening.disbursed_on,
        first_due_on=lines[0].due_on,
        installments=len(lines),
        upfront_fees=product.upfront_fee,
        due_dates=tuple(line.due_on for line in lines),
    )
    # The cuota fija is the installment most lines carry (a grace line or the last one differ).
    installment = Counter(line.principal + line.interest for line in lines).most_common(1)[0][0]
    flows = tuple(((line.due_on - opening.disbursed_on).days, line.total) for line in lines)
    try:
        tcea = tcea_module.tcea(terms.net_received, flows)
    except tcea_module.TceaError as exc:
        raise ValidationError({"schedule": _("The cronograma has no TCEA: %(e)s") % {"e": exc}}) from exc
    return Schedule(terms=terms, installment=money(installment), lines=tuple(lines), tcea=tcea)


def opening_loan_create(*, opening: OpeningLoan, batch: BookImport, actor: Any) -> Loan:
    """The opening loan, its cronograma, its log (disbursement and past payments) and its audit rows:
    what ``loan_disburse`` and ``payment_record`` write for a loan disbursed and paid here, dated in the
    past and without the cash leaving or receipts going out. The caller owns the transaction."""
    product = opening.product
    lines = opening.schedule
    # Reading made sure a loan without cronograma lines has its terms.
    term = len(lines) if lines else opening.term
    first_due_on = lines[0].due_on if lines else opening.first_due_on
    assert term is not None and first_due_on is not None
    application = LoanApplication.objects.create(
        miner=opening.miner,
        product=product,
        withholding_buyer=opening.buyer,
        amount=opening.principal,
        tea_pct=opening.tea_pct,
        term=term,
        disbursement_date=opening.disbursed_on,
        first_due_on=first_due_on,
        purpose_note=_("Opening loan %(number)s migrated from the lender's book (import #%(batch)s).")
        % {"number": opening.lender_number, "batch": batch.pk},
        status=LoanApplication.Status.DISBURSED,
        prepared_by=actor,
    )
    schedule = _lender_schedule(opening) if lines else application_schedule(application)
    if any(line.principal < 0 for line in schedule.lines):
        raise ValidationError({"first_due_on": _("The first period is too long for this rate and term.")})
    loan = Loan.objects.create(
        code=f"pending-{application.pk}",
        lender_number=opening.lender_number,
        application=application,
        miner=opening.miner,
        product=product,
        withholding_buyer=opening.buyer,
        currency=product.currency,
        principal=opening.principal,
        tea_pct=opening.tea_pct,
        moratory_tea_pct=product.moratory_tea_pct,
        tcea_pct=schedule.tcea,
        insurance_monthly_rate_pct=product.insurance_monthly_rate_pct if not lines else 0,
        upfront_fees=product.upfront_fee,
        fee_per_installment=product.fee_per_installment if not lines else 0,
        max_withholding_share_pct=product.max_withholding_share_pct,
        guarantee_coverage_pct=product.guarantee_fund_coverage_pct,
        term=len(schedule.lines),
        grace_kind=schedule.terms.grace_kind.value,
        grace_periods=0,
        installment_amount=schedule.installment,
        disbursed_on=opening.disbursed_on,
        first_due_on=schedule.terms.first_due_on,
        payee=Loan.Payee.MINER,
        disbursement_reference=MIGRATION_REFERENCE,
        disbursed_by=actor,
        outstanding_principal=opening.principal,
        next_due_on=schedule.terms.first_due_on,
        state_as_of=opening.disbursed_on,
    )
    loan.code = loan_code_for(year=opening.disbursed_on.year, pk=loan.pk)
    loan.save(update_fields=["code", "updated"])
    cronograma_v1_create(loan=loan, lines=schedule.lines)
    transactions = [
        LoanTransaction(
            loan=loan,
            kind=LoanTransaction.Kind.DISBURSEMENT,
            value_date=opening.disbursed_on,
            amount=opening.principal,
            currency=loan.currency,
            reference=MIGRATION_REFERENCE,
            note=f"Opening loan {opening.lender_number} migrated (import #{batch.pk}); not paid by ASM Credit"[:255],
            recorded_by=actor,
        )
    ]
    for payment in opening.payments:
        transactions.append(
            LoanTransaction(
                loan=loan,
                kind=LoanTransaction.Kind.PAYMENT,
                value_date=payment.paid_on,
                amount=payment.amount,
                currency=loan.currency,
                treatment=LoanTransaction.Treatment.AUTO,
                prepayment_mode=LoanTransaction.PrepaymentMode.REDUCE_TERM,
                reference=payment.reference or MIGRATION_REFERENCE,
                note=("Withholding by the buyer before the migration" if payment.kind == WITHHOLDING else "")
                + f" (import #{batch.pk}, row {payment.row})",
                recorded_by=actor,
            )
        )
    LoanTransaction.objects.bulk_create(transactions)
    # Each past payment in the loan's history as a payment recorded here would be, marked as migrated.
    AuditEvent.objects.bulk_create(
        audit_event(
            actor=actor,
            action="payment.record",
            obj=txn,
            after={**snapshot(txn), "applied_as": "migrated", "batch": batch.pk},
        )
        for txn in transactions[1:]
    )
    audit_record(
        actor=actor,
        action="loan.migrate",
        obj=loan,
        after={
            "code": loan.code,
            "lender_number": opening.lender_number,
            "batch": batch.pk,
            "cutoff": batch.cutoff,
            "principal": loan.principal,
            "currency": loan.currency,
            "disbursed_on": loan.disbursed_on,
            "installment": schedule.installment,
            "tcea_pct": schedule.tcea,
            "lines": len(schedule.lines),
            "schedule_from": "lender" if lines else "terms",
            "payments": len(opening.payments),
            "paid": sum((p.amount for p in opening.payments), ZERO),
            "declared_principal": opening.declared_principal,
        },
    )
    return loan


def opening_loan_compare(*, loan: Loan, opening: OpeningLoan, cutoff: dt.date) -> list[Difference]:
    """What the replay gives on the cut-off date against what the lender declares, beyond the tolerance."""
    state = loan_state_on(loan=loan, on=cutoff)
    figures = [Difference("outstanding_principal", state.outstanding_principal, opening.declared_principal)]
    if opening.declared_interest is not None:
        interest_due = sum(
            (line.plan.interest - line.paid_interest for line in state.current_lines if line.due_on <= cutoff), ZERO
        )
        figures.append(Difference("interest_due", money(interest_due), opening.declared_interest))
    figures.append(Difference("overpayment_credit", state.overpayment_credit, ZERO))
    allowed = tolerance()
    return [figure for figure in figures if abs(figure.difference) > allowed]
