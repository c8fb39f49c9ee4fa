"""Write-back of the ledger: a loan's derived state (installments, allocations, balances) from its log.

The replay itself is ``installments.ledger`` (pure); this module reads the rows it needs and writes only
what differs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from asmcredit.audit import audit_record, snapshot
from asmcredit.sql import insert_rows, placeholders, row_lock, update_rows
from buyers.models import Buyer
from installments import ledger, risk
from installments.models import (
    Allocation,
    LoanTransaction,
    ScheduleLine,
)
from installments.selectors import (
    ENTRY_COLUMNS,
    PLAN_COLUMNS,
    ledger_entry,
    loan_ledger_terms,
    planned_line,
)
from installments.services.common import COLLECTING_STATUSES, servicing_today
from loans.models import Loan
from loans.sbs import Category, category_for_dpd, worst

# Ids for entries replayed before their transaction is saved: above any real id, in creation order, so
# they sort among themselves and after the loan's saved entries exactly as the ids the rows will get.
PROVISIONAL_ID = 2**62


# The figures of a cronograma row the write-back compares (its number is part of its key).
LINE_FIGURES = [name for name in PLAN_COLUMNS if name != "number"]
LINE_DERIVED = [
    "is_current",
    "paid_principal",
    "paid_interest",
    "paid_insurance",
    "paid_fees",
    "paid_deferred_interest",
    "paid_moratory",
    "moratory_accrued",
    "moratory_base",
    "moratory_base_on",
    "paid_late_interest",
    "late_interest_accrued",
    "late_interest_base",
    "paid_on",
    "status",
]
LOAN_DERIVED = [
    "outstanding_principal",
    "overdue_amount",
    "moratory_accrued",
    "late_interest_accrued",
    "overpayment_credit",
    "days_past_due",
    "category",
    "next_due_on",
    "schedule_version",
    "installment_amount",
    "status",
    "state_as_of",
    "refinance_floor",
    "refinance_punctual_since",
]


# --- Loan state ---------------------------------------------------------------------------------


@dataclass
class LoanBook:
    """A locked loan with what its replay and write-back need: its schedule rows as stored (``values()``
    dicts by version and number) and its log replayed once (``ledger.IncrementalReplay``). Settlements
    are applied to it in memory; ``books_write`` then writes back only what differs from what is stored.
    """

    loan: Loan
    rows: dict[tuple[int, int], dict[str, Any]]
    replay: ledger.IncrementalReplay
    state: ledger.LedgerState | None = None
    changed: set[str] = field(default_factory=set)

    @property
    def terms(self) -> ledger.LedgerTerms:
        return self.replay.terms

    @property
    def appends_only(self) -> bool:
        """Entries were added in memory and each followed the log: the log was not replayed again
        since the book was read."""
        entries = self.replay.entries
        return self.replay.full_replays == 1 and bool(entries) and entries[-1].id >= PROVISIONAL_ID


# The reads of a settlement post are written as SQL (``Model.raw``, which still converts each column the
# ORM's way on PostgreSQL and SQLite): building and compiling these querysets cost the ORM several
# times what the database spends running them, and a buyer's system posts one settlement per request.


def loans_locked_for_withholding(*, miner_ids: set[int], buyer: Buyer, latest: dt.date) -> list[Loan]:
    """The miners' loans still collected (active or written off) disbursed by ``latest`` that ``buyer``
    collects (named as the loan's withholding buyer, or none named), locked in id order."""
    ids = sorted(miner_ids)
    # Lock order step 2 (``installments.services``): loans by id, FOR NO KEY UPDATE — the post only
    # updates their balances, so rows elsewhere that reference a loan (FK checks, FOR KEY SHARE) need
    # not wait for it, while every other servicing write on these loans does.
    sql = (
        f"SELECT * FROM {Loan._meta.db_table} WHERE miner_id IN ({placeholders(ids)}) "  # noqa: S608 - only placeholders
        "AND status IN (%s, %s) AND disbursed_on <= %s "
        f"AND (withholding_buyer_id IS NULL OR withholding_buyer_id = %s) ORDER BY id{row_lock('NO KEY UPDATE')}"
    )
    return list(Loan.objects.raw(sql, [*ids, *COLLECTING_STATUSES, latest, buyer.pk]))


_LINE_COLUMNS = ("id", "loan_id", "version", "number", *LINE_FIGURES, *LINE_DERIVED)


def loan_books(loans: list[Loan]) -> dict[int, LoanBook]:
    """Books for (already locked) ``loans``: two queries however many there are."""
    ids = [loan.pk for loan in loans]
    rows: dict[int, dict[tuple[int, int], dict[str, Any]]] = {pk: {} for pk in ids}
    lines_sql = (
        f"SELECT * FROM {ScheduleLine._meta.db_table} WHERE loan_id IN ({placeholders(ids)}) "  # noqa: S608
        "ORDER BY loan_id, version, number"
    )
    for line in ScheduleLine.objects.raw(lines_sql, ids):
        rows[line.loan_id][(line.version, line.number)] = {name: getattr(line, name) for name in _LINE_COLUMNS}
    entries: dict[int, list[ledger.Entry]] = {pk: [] for pk in ids}
    entries_sql = (
        f"SELECT {', '.join(ENTRY_COLUMNS)} FROM {LoanTransaction._meta.db_table} "  # noqa: S608
        f"WHERE loan_id IN ({placeholders(ids)}) ORDER BY id"
    )
    for txn in LoanTransaction.objects.raw(entries_sql, ids):
        entries[txn.loan_id].append(ledger_entry([getattr(txn, name) for name in ENTRY_COLUMNS]))
    books = {}
    for loan in loans:
        planned = [planned_line(row) for (version, _number), row in rows[loan.pk].items() if version == 1]
        replay = ledger.IncrementalReplay(
            terms=loan_ledger_terms(loan, planned=planned), lines=planned, entries=entries[loan.pk]
        )
        books[loan.pk] = LoanBook(loan, rows[loan.pk], replay)
    return books


def stored_allocations(books: list[LoanBook]) -> dict[int, list[tuple[int, int, int, str, Decimal]]]:
    """Each book's allocation rows as ``(transaction, version, number, component, amount)``, in id order.

    Looked up by the ids of the transactions already read (an index scan however big the table), with
    the schedule rows named from the book's own rows (no join)."""
    loan_of: dict[int, int] = {}
    line_key: dict[int, tuple[int, int]] = {}
    for book in books:
        loan_of.update(
            dict.fromkeys((entry.id for entry in book.replay.entries if entry.id < PROVISIONAL_ID), book.loan.pk)
        )
        line_key.update({row["id"]: key for key, row in book.rows.items()})
    stored: dict[int, list[tuple[int, int, int, str, Decimal]]] = {book.loan.pk: [] for book in books}
    if not loan_of:
        return stored
    rows = (
        Allocation.objects.filter(transaction_id__in=list(loan_of))
        .order_by("id")
        .values_list("transaction_id", "schedule_line_id", "component", "amount")
    )
    for transaction_id, line_id, component, amount in rows:
        # A row of another loan's cronograma cannot be one the replay wants: it is rewritten.
        version, number = line_key.get(line_id, (0, 0))
        stored[loan_of[transaction_id]].append((transaction_id, version, number, component, amount))
    return stored


def book_derive(book: LoanBook, state: ledger.LedgerState, as_of: dt.date) -> dict[str, Any] | None:
    """Set the loan's cached columns from ``state`` (written by ``books_write``); the audit's
    before/after when something other than the date of the state changed."""
    loan = book.loan
    before = snapshot(loan, LOAN_DERIVED)
    loan.outstanding_principal = state.outstanding_principal
    loan.overdue_amount = state.overdue_amount
    loan.moratory_accrued = state.moratory_outstanding
    loan.late_interest_accrued = state.late_interest_outstanding
    loan.overpayment_credit = state.overpayment_credit
    loan.days_past_due = state.days_past_due
    category = category_for_dpd(state.days_past_due)
    if loan.is_refinanced and loan.refinanced_on is not None:
        # A refinanced loan is never shown better than its floor (DOMAIN.md §7).
        floor = loan_refinance_floor(loan, state, as_of)
        loan.refinance_floor = floor.category.value
        loan.refinance_punctual_since = floor.punctual_since
        category = worst([category, floor.category])
    loan.category = category.value
    loan.next_due_on = state.next_due_on
    loan.schedule_version = state.current_version
    loan.installment_amount = state.installment
    if loan.status not in (Loan.Status.WRITTEN_OFF, Loan.Status.REFINANCED):
        loan.status = Loan.Status.PAID_OFF if state.paid_off else Loan.Status.ACTIVE
    loan.state_as_of = as_of
    after = snapshot(loan, LOAN_DERIVED)
    changed = [name for name in LOAN_DERIVED if before[name] != after[name]]
    book.state = state
    book.changed.update(changed)
    if not set(changed) - {"state_as_of"}:
        return None
    return {"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}}


def loan_refinance_floor(loan: Loan, state: ledger.LedgerState, as_of: dt.date) -> risk.RefinanceFloor:
    """``risk.refinance_floor`` of a refinanced loan from its replayed current installments."""
    assert loan.refinanced_on is not None
    return risk.refinance_floor(
        category=Category(loan.refinance_category),
        refinanced_on=loan.refinanced_on,
        installments=[(line.due_on, line.paid_on) for line in state.current_lines],
        as_of=as_of,
        months=settings.REFINANCE_PUNCTUAL_MONTHS,
        grace_days=settings.REFINANCE_PUNCTUAL_GRACE_DAYS,
    )


def books_write(books: list[LoanBook], entry_ids: dict[int, int] | None = None) -> None:
    """Write back the books' derived state: the schedule rows and loans that differ (one UPDATE each),
    the allocations appended when the stored ones are a prefix of the new (a settlement in date order)
    and rewritten for the loan otherwise. ``entry_ids`` maps the provisional ids of entries added in
    memory to the ids their transactions got."""
    books = [book for book in books if book.state is not None]
    if not books:
        return
    entry_ids = entry_ids or {}
    # A book whose new entries all followed its log (nothing replayed again since it was read) only adds
    # allocations: those of the saved entries are the ones the replay that wrote them stored, since
    # every write of allocations goes through here. Only a book that was replayed again is compared with
    # what is stored and repaired where it differs — as ``loan_recompute`` does for the whole log on a
    # payment, a void, or on demand (the ``installments.tasks.loan_recompute`` task).
    stored = stored_allocations([book for book in books if not book.appends_only])
    rewrite: list[int] = []
    appended: list[tuple[LoanBook, list[tuple[int, int, int, str, Decimal]]]] = []
    stale: list[int] = []
    to_create: list[tuple[LoanBook, ScheduleLine]] = []
    to_update: list[tuple[Any, Mapping[str, Any]]] = []
    line_fields: set[str] = set()
    for book in books:
        state = book.state
        assert state is not None
        # Created in replay order (so ids read as the imputación happened), compared as sets of rows.
        new = [
            (entry_ids.get(a.entry_id, a.entry_id), a.version, a.number, a.component, a.amount)
            for a in state.allocations
        ]
        if book.appends_only:
            appended.append(
                (book, [row for row, a in zip(new, state.allocations, strict=True) if a.entry_id >= PROVISIONAL_ID])
            )
        else:
            old = stored[book.loan.pk]
            if sorted(new) != sorted(old):
                if new[: len(old)] == old:
                    appended.append((book, new[len(old) :]))
                else:
                    rewrite.append(book.loan.pk)
                    appended.append((book, new))
        wanted = {(line.version, line.number): line for line in state.lines}
        for key in [key for key in book.rows if key not in wanted]:
            stale.append(book.rows.pop(key)["id"])
        for key, result in wanted.items():
            values = line_values(result)
            row = book.rows.get(key)
            if row is None:
                to_create.append(
                    (book, ScheduleLine(loan=book.loan, version=result.version, number=result.number, **values))
                )
                continue
            changed = [name for name, value in values.items() if row[name] != value]
            if changed:
                row.update(values)
                line_fields.update(changed)
                to_update.append((row["id"], row))
    if rewrite:
        Allocation.objects.filter(transaction__loan_id__in=rewrite).delete()
    if stale:
        ScheduleLine.objects.filter(pk__in=stale).delete()
    # One statement: the paid-within-due check holds for each row's final values.
    update_rows(ScheduleLine, to_update, [name for name in LINE_FIGURES + LINE_DERIVED if name in line_fields])
    if to_create:
        insert_rows([line for _book, line in to_create])
        for book, line in to_create:
            book.rows[(line.version, line.number)] = {"id": line.pk, "loan_id": book.loan.pk, **row_values(line)}
    if appended:
        insert_rows(
            [
                Allocation(
                    transaction_id=entry_id,
                    # An overpayment (version 0) is on no installment: a credit in the miner's favour.
                    schedule_line_id=book.rows[(version, number)]["id"] if version else None,
                    component=component,
                    amount=amount,
                )
                for book, rows in appended
                for entry_id, version, number, component, amount in rows
            ]
        )
    changed_loans = [book for book in books if book.changed]
    if changed_loans:
        now = timezone.now()
        loan_fields = [name for name in LOAN_DERIVED if any(name in book.changed for book in changed_loans)]
        for book in changed_loans:
            book.loan.updated = now
            book.changed.clear()
        update_rows(
            Loan,
            [(book.loan.pk, row_values(book.loan, [*loan_fields, "updated"])) for book in changed_loans],
            [*loan_fields, "updated"],
        )


def row_values(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
    names = fields or ["version", "number", *LINE_FIGURES, *LINE_DERIVED]
    return {name: getattr(obj, name) for name in names}


@transaction.atomic
def loan_recompute(*, loan: Loan, as_of: dt.date | None = None) -> Loan:
    """Rebuild a loan's derived state from its transaction log (``installments.ledger``).

    Locks the loan, replays every transaction in date order and rewrites what is derived: the paid
    components, moratory interest and status of each installment, the schedule versions made by
    prepayments, the allocation rows, and the loan's cached balances. Only rows that differ are
    written, so recomputing an unchanged loan changes nothing.
    """
    # Lock order step 2: the loan (a caller that also locks other loans or a buyer has taken them first).
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)
    as_of = as_of or servicing_today()
    book = loan_books([loan])[loan.pk]
    change = book_derive(book, book.replay.state(as_of), as_of)
    books_write([book])
    if change is not None:
        audit_record(actor="servicing", action="loan.recompute", obj=loan, **change)
    return loan


def line_values(result: ledger.LineResult) -> dict[str, Any]:
    plan = result.plan
    return {
        "due_on": plan.due_on,
        "days": plan.days,
        "opening_balance": plan.opening_balance,
        "principal": plan.principal,
        "interest": plan.interest,
        "insurance": plan.insurance,
        "fees": plan.fees,
        "total": plan.total,
        "closing_balance": plan.closing_balance,
        "capitalized": plan.capitalized,
        "deferred_interest": plan.deferred_interest,
        "is_current": result.is_current,
        "paid_principal": result.paid_principal,
        "paid_interest": result.paid_interest,
        "paid_insurance": result.paid_insurance,
        "paid_fees": result.paid_fees,
        "paid_deferred_interest": result.paid_deferred_interest,
        "paid_moratory": result.paid_moratory,
        "moratory_accrued": result.moratory_accrued,
        "moratory_base": result.moratory_base,
        "moratory_base_on": result.moratory_base_on,
        "paid_late_interest": result.paid_late_interest,
        "late_interest_accrued": result.late_interest_accrued,
        "late_interest_base": result.late_interest_base,
        "paid_on": result.paid_on,
        "status": result.status,
    }
