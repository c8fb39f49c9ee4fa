"""Servicing writes: loan state from the log, withholdings on ore settlements, payments and
prepayments, voids, remittances and reconciliation, and the nightly portfolio jobs.

Every write is one service call in one transaction with its audit row. Rows are locked in one fixed
order everywhere so two services can never deadlock each other:

    buyer → loans (by id) → withholdings (by id) → remittances (by id)

``settlement_post`` locks the miner's active loans (by id), so twenty settlements for the same miner
posted at once are applied one after the other, each seeing what the previous one withheld.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import _jsonable as jsonable
from asmcredit.audit import actor_label_for, audit_record, snapshot
from asmcredit.fields import Currency
from asmcredit.models import AuditEvent, JobRun
from asmcredit.money import ZERO, money, pct_to_rate, round_half_up
from asmcredit.sql import for_update, insert_rows, placeholders, update_rows
from buyers.models import Buyer, Settlement
from buyers.valuation import SettlementError, SettlementTerms, convert, declared_difference, value_settlement
from installments import batch, ledger
from installments.models import (
    Allocation,
    LoanTransaction,
    ReconciliationException,
    Remittance,
    RemittanceMatch,
    ScheduleLine,
    Withholding,
)
from installments.selectors import (
    ENTRY_COLUMNS,
    PLAN_COLUMNS,
    ledger_entry,
    loan_ledger_state,
    loan_ledger_terms,
    loan_state_on,
    planned_line,
)
from loans.models import Loan
from loans.schedule import classify_prepayment
from loans.services import TransitionError
from miners.models import Miner

FLAG_DECLARED_PAYABLE_DIFFERS = "declared_payable_differs"

# The figures of a cronograma row the write-back compares (its number is part of its key).
LINE_FIGURES = [name for name in PLAN_COLUMNS if name != "number"]
LINE_DERIVED = [
    "is_current",
    "paid_principal",
    "paid_interest",
    "paid_insurance",
    "paid_fees",
    "paid_moratory",
    "moratory_accrued",
    "moratory_base",
    "moratory_base_on",
    "paid_on",
    "status",
]
LOAN_DERIVED = [
    "outstanding_principal",
    "overdue_amount",
    "moratory_accrued",
    "days_past_due",
    "next_due_on",
    "schedule_version",
    "installment_amount",
    "status",
    "state_as_of",
]


def _today() -> dt.date:
    """Today in Lima (TIME_ZONE): the servicing day."""
    return timezone.localdate()


def _user(actor: Any) -> Any:
    return actor if isinstance(actor, AbstractBaseUser) else None


def _require_staff(actor: Any, message: str) -> None:
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(message)


def _decimal(name: str, value: Any) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise ValidationError({name: _("Enter a number.")}) from exc


def _amount(name: str, value: Any) -> Decimal:
    amount = _decimal(name, value)
    if amount <= 0:
        raise ValidationError({name: _("The amount must be positive.")})
    if money(amount) != amount:
        raise ValidationError({name: _("The amount must be in whole céntimos.")})
    return amount


def _not_future(name: str, day: dt.date) -> None:
    if day > _today():
        raise ValidationError({name: _("This date is in the future.")})


# --- Loan state ---------------------------------------------------------------------------------


@dataclass
class _LoanBook:
    """A locked loan with what its replay and write-back need: its schedule rows as stored (``values()``
    dicts by version and number) and its log replayed once (``ledger.IncrementalReplay``). Settlements
    are applied to it in memory; ``_books_write`` then writes back only what differs from what is stored.
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
        return self.replay.full_replays == 1 and bool(entries) and entries[-1].id >= _PROVISIONAL_ID


# The reads of a settlement post are written as SQL (``Model.raw``, which still converts each column the
# ORM's way on PostgreSQL and SQLite): building and compiling these querysets cost the ORM several
# times what the database spends running them, and a buyer's system posts one settlement per request.


def _loans_locked_for_withholding(*, miner_ids: set[int], buyer: Buyer, latest: dt.date) -> list[Loan]:
    """The miners' active loans disbursed by ``latest`` that ``buyer`` collects (named as the loan's
    withholding buyer, or none named), locked in id order."""
    ids = sorted(miner_ids)
    sql = (
        f"SELECT * FROM {Loan._meta.db_table} WHERE miner_id IN ({placeholders(ids)}) "  # noqa: S608 - only placeholders
        "AND status = %s AND disbursed_on <= %s "
        f"AND (withholding_buyer_id IS NULL OR withholding_buyer_id = %s) ORDER BY id{for_update()}"
    )
    return list(Loan.objects.raw(sql, [*ids, Loan.Status.ACTIVE, latest, buyer.pk]))


_LINE_COLUMNS = ("id", "loan_id", "version", "number", *LINE_FIGURES, *LINE_DERIVED)


def _loan_books(loans: list[Loan]) -> dict[int, _LoanBook]:
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
        books[loan.pk] = _LoanBook(loan, rows[loan.pk], replay)
    return books


def _stored_allocations(books: list[_LoanBook]) -> dict[int, list[tuple[int, int, int, str, Decimal]]]:
    """Each book's allocation rows as ``(transaction, version, number, component, amount)``, in id order.

    Looked up by the ids of the transactions already read (an index scan however big the table), with
    the schedule rows named from the book's own rows (no join)."""
    loan_of: dict[int, int] = {}
    line_key: dict[int, tuple[int, int]] = {}
    for book in books:
        loan_of.update(
            dict.fromkeys((entry.id for entry in book.replay.entries if entry.id < _PROVISIONAL_ID), book.loan.pk)
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


def _book_derive(book: _LoanBook, state: ledger.LedgerState, as_of: dt.date) -> dict[str, Any] | None:
    """Set the loan's cached columns from ``state`` (written by ``_books_write``); the audit's
    before/after when something other than the date of the state changed."""
    loan = book.loan
    before = snapshot(loan, LOAN_DERIVED)
    loan.outstanding_principal = state.outstanding_principal
    loan.overdue_amount = state.overdue_amount
    loan.moratory_accrued = state.moratory_outstanding
    loan.days_past_due = state.days_past_due
    loan.next_due_on = state.next_due_on
    loan.schedule_version = state.current_version
    loan.installment_amount = state.installment
    if loan.status != Loan.Status.WRITTEN_OFF:
        loan.status = Loan.Status.PAID_OFF if state.paid_off else Loan.Status.ACTIVE
    loan.state_as_of = as_of
    after = snapshot(loan, LOAN_DERIVED)
    changed = [name for name in LOAN_DERIVED if before[name] != after[name]]
    book.state = state
    book.changed.update(changed)
    if not set(changed) - {"state_as_of"}:
        return None
    return {"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}}


def _books_write(books: list[_LoanBook], entry_ids: dict[int, int] | None = None) -> None:
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
    stored = _stored_allocations([book for book in books if not book.appends_only])
    rewrite: list[int] = []
    appended: list[tuple[_LoanBook, list[tuple[int, int, int, str, Decimal]]]] = []
    stale: list[int] = []
    to_create: list[tuple[_LoanBook, ScheduleLine]] = []
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
                (book, [row for row, a in zip(new, state.allocations, strict=True) if a.entry_id >= _PROVISIONAL_ID])
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
            values = _line_values(result)
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
            book.rows[(line.version, line.number)] = {"id": line.pk, "loan_id": book.loan.pk, **_row_values(line)}
    if appended:
        insert_rows(
            [
                Allocation(
                    transaction_id=entry_id,
                    schedule_line_id=book.rows[(version, number)]["id"],
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
            [(book.loan.pk, _row_values(book.loan, [*loan_fields, "updated"])) for book in changed_loans],
            [*loan_fields, "updated"],
        )


def _row_values(obj: models.Model, fields: list[str] | None = None) -> dict[str, Any]:
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
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    as_of = as_of or _today()
    book = _loan_books([loan])[loan.pk]
    change = _book_derive(book, book.replay.state(as_of), as_of)
    _books_write([book])
    if change is not None:
        audit_record(actor="servicing", action="loan.recompute", obj=loan, **change)
    return loan


def _line_values(result: ledger.LineResult) -> dict[str, Any]:
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
        "is_current": result.is_current,
        "paid_principal": result.paid_principal,
        "paid_interest": result.paid_interest,
        "paid_insurance": result.paid_insurance,
        "paid_fees": result.paid_fees,
        "paid_moratory": result.paid_moratory,
        "moratory_accrued": result.moratory_accrued,
        "moratory_base": result.moratory_base,
        "moratory_base_on": result.moratory_base_on,
        "paid_on": result.paid_on,
        "status": result.status,
    }


# --- What to withhold -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LoanDue:
    """What a buyer should withhold for one loan from a settlement dated ``as_of`` (before the cap)."""

    loan: Loan
    currency: str
    amount_due: Decimal
    next_due_on: dt.date | None


def _active_loans(miner: Miner, on: dt.date) -> Any:
    return Loan.objects.filter(miner=miner, status=Loan.Status.ACTIVE, disbursed_on__lte=on)


def miner_amount_due(*, miner: Miner, as_of: dt.date) -> list[LoanDue]:
    """Per active loan, oldest first: overdue + what falls due by the next due date − already paid,
    plus moratory interest accrued to ``as_of`` (DOMAIN.md §5)."""
    dues = []
    for loan in _active_loans(miner, as_of).order_by("disbursed_on", "id"):
        state = loan_state_on(loan=loan, on=as_of)
        dues.append(LoanDue(loan, loan.currency, state.amount_due(), state.next_due_on))
    return dues


def _convert(amount: Decimal, source: str, target: str, rate: Decimal) -> Decimal:
    """Between PEN and US$ at the settlement's rate (PEN per US$), to the céntimo."""
    if source == target:
        return amount
    if source == Currency.USD:
        return convert(amount, rate)
    return money(amount / rate)


@dataclass
class SettlementOutcome:
    """What ``settlement_post`` answers the buyer with."""

    settlement: Settlement
    withholdings: list[Withholding] = field(default_factory=list)
    withholding_amount: Decimal = ZERO
    withholding_currency: str = ""
    net_to_miner: Decimal = ZERO
    breakdown: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        s = self.settlement
        return {
            "settlement_id": s.pk,
            "lot_code": s.lot_code,
            "settled_on": s.settled_on.isoformat(),
            "currency": s.currency,
            "exchange_rate": str(s.exchange_rate),
            "dry_tonnes": str(s.dry_tonnes),
            "payable_usd": str(s.payable_usd),
            "declared_payable_usd": None if s.declared_payable_usd is None else str(s.declared_payable_usd),
            "fair_price_share": str(s.fair_price_share),
            "fair_price_flags": list(s.fair_price_flags),
            "withholding_amount": str(self.withholding_amount),
            "withholding_currency": self.withholding_currency,
            "net_to_miner": str(self.net_to_miner),
            "breakdown": [
                {
                    **item,
                    "amount": str(item["amount"]),
                    "installments": [
                        {
                            key: (value.isoformat() if isinstance(value, dt.date) else str(value))
                            if key != "number"
                            else value
                            for key, value in row.items()
                        }
                        for row in item["installments"]
                    ],
                }
                for item in self.breakdown
            ],
        }


def _allocation_breakdown(transaction_id: int) -> list[dict[str, Any]]:
    rows: dict[int, dict[str, Any]] = {}
    allocations = (
        Allocation.objects.filter(transaction_id=transaction_id)
        .select_related("schedule_line")
        .order_by("schedule_line__due_on", "schedule_line__number", "id")
    )
    for allocation in allocations:
        line = allocation.schedule_line
        row = rows.setdefault(
            line.pk,
            {
                "number": line.number,
                "due_on": line.due_on,
                "moratory": ZERO,
                "interest": ZERO,
                "insurance": ZERO,
                "fees": ZERO,
                "principal": ZERO,
            },
        )
        row[allocation.component] += allocation.amount
    return list(rows.values())


def _state_breakdown(state: ledger.LedgerState, entry_id: int) -> list[dict[str, Any]]:
    """``_allocation_breakdown`` of an entry, read off the replayed state instead of the database."""
    due_on = {(line.version, line.number): line.due_on for line in state.lines}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    allocations = sorted(state.allocations_for(entry_id), key=lambda a: (due_on[(a.version, a.number)], a.number))
    for allocation in allocations:
        row = rows.setdefault(
            (allocation.version, allocation.number),
            {
                "number": allocation.number,
                "due_on": due_on[(allocation.version, allocation.number)],
                "moratory": ZERO,
                "interest": ZERO,
                "insurance": ZERO,
                "fees": ZERO,
                "principal": ZERO,
            },
        )
        row[allocation.component] += allocation.amount
    return list(rows.values())


class SettlementBatchError(ValidationError):
    """Some settlements of a batch cannot be posted: ``errors`` maps their positions to the
    ValidationError each would have raised alone. Nothing of the batch was saved."""

    def __init__(self, errors: dict[int, ValidationError]) -> None:
        super().__init__([message for error in errors.values() for message in error.messages])
        self.errors = errors


@dataclass
class _SettlementDraft:
    """A settlement validated and valued, not yet saved."""

    settlement: Settlement
    payable_usd: Decimal


def _settlement_draft(
    *,
    buyer: Buyer,
    miner: Miner,
    actor: Any,
    source: str = "api",
    lot_code: str,
    settled_on: dt.date,
    currency: str,
    exchange_rate: Any,
    wet_tonnes: Any,
    moisture_pct: Any,
    grade_oz_tc: Any,
    recovery: Any,
    gold_price_usd_oz: Any,
    commercial_deduction_usd_oz: Any = 0,
    maquila_usd_tc: Any = 0,
    reagents_usd_tms: Any = 0,
    freight_usd_tms: Any = 0,
    other_usd_tms: Any = 0,
    declared_payable_usd: Any = None,
    gold_price_on: dt.date | None = None,
    gold_price_source: str = "",
) -> _SettlementDraft:
    lot_code = (lot_code or "").strip()
    if not lot_code:
        raise ValidationError({"lot_code": _("The lot code is required.")})
    if currency not in Currency.values:
        raise ValidationError({"currency": _("Unsupported currency.")})
    _not_future("settled_on", settled_on)
    rate = _decimal("exchange_rate", exchange_rate)
    if rate <= 0:
        raise ValidationError({"exchange_rate": _("The exchange rate must be positive.")})
    buyer_share = buyer.terms_payable_share_pct
    numbers = {
        "wet_tonnes": wet_tonnes,
        "moisture_pct": moisture_pct,
        "grade_oz_tc": grade_oz_tc,
        "recovery": recovery,
        "gold_price_usd_oz": gold_price_usd_oz,
        "commercial_deduction_usd_oz": commercial_deduction_usd_oz,
        "maquila_usd_tc": maquila_usd_tc,
        "reagents_usd_tms": reagents_usd_tms,
        "freight_usd_tms": freight_usd_tms,
        "other_usd_tms": other_usd_tms,
    }
    values = {name: _decimal(name, value) for name, value in numbers.items()}
    declared = None if declared_payable_usd in (None, "") else _decimal("declared_payable_usd", declared_payable_usd)
    try:
        value = value_settlement(
            SettlementTerms(**values, buyer_terms_share=None if buyer_share is None else pct_to_rate(buyer_share))
        )
    except SettlementError as exc:
        raise ValidationError({exc.field: exc.message}) from exc
    if value.dry_tonnes <= 0:
        raise ValidationError({"wet_tonnes": _("The lot has no dry tonnage.")})
    flags = list(value.fair_price_flags)
    if declared is not None and declared_difference(value.payable, declared) != 0:
        flags.append(FLAG_DECLARED_PAYABLE_DIFFERS)
    settlement = Settlement(
        buyer=buyer,
        miner=miner,
        lot_code=lot_code,
        settled_on=settled_on,
        currency=currency,
        exchange_rate=rate,
        gold_price_on=gold_price_on,
        gold_price_source=gold_price_source or "LBMA PM",
        dry_tonnes=value.dry_tonnes,
        value_per_tms=round_half_up(value.value_per_tms, 4),
        payable_usd=value.payable,
        declared_payable_usd=declared,
        contained_gold_usd=value.contained_gold_usd,
        fair_price_share=value.fair_price_share,
        fair_price_flags=flags,
        source=source,
        created_by=_user(actor),
        **values,
    )
    return _SettlementDraft(settlement=settlement, payable_usd=value.payable)


def settlement_post(
    *,
    buyer: Buyer,
    miner: Miner,
    actor: Any,
    source: str = "api",
    lot_code: str,
    settled_on: dt.date,
    currency: str,
    exchange_rate: Any,
    wet_tonnes: Any,
    moisture_pct: Any,
    grade_oz_tc: Any,
    recovery: Any,
    gold_price_usd_oz: Any,
    commercial_deduction_usd_oz: Any = 0,
    maquila_usd_tc: Any = 0,
    reagents_usd_tms: Any = 0,
    freight_usd_tms: Any = 0,
    other_usd_tms: Any = 0,
    declared_payable_usd: Any = None,
    gold_price_on: dt.date | None = None,
    gold_price_source: str = "",
) -> SettlementOutcome:
    """Record an ore settlement (liquidación) and withhold the miner's installments from it.

    Only loans this buyer collects count (the loan names it as withholding buyer, or names none).
    The settlement is valued by ``buyers.valuation`` (a declared payable that differs is flagged, as
    are payments below the buyer's terms or the Fairtrade reference). For each active loan of the miner,
    oldest first, the withholding is what is due (``miner_amount_due``), capped at the loan's maximum
    share of the settlement's payable in the loan's currency — the cap counts what earlier loans
    already took from the same settlement, so the miner always keeps at least (100 − share)% — and
    never above the payable left or the loan's payoff. Each withholding is the miner's payment dated
    the settlement date (a WITHHOLDING transaction, allocated oldest installment first) and a debt of
    the buyer to the lender (a Withholding row) until remitted.
    """
    draft = _settlement_draft(
        buyer=buyer,
        miner=miner,
        actor=actor,
        source=source,
        lot_code=lot_code,
        settled_on=settled_on,
        currency=currency,
        exchange_rate=exchange_rate,
        wet_tonnes=wet_tonnes,
        moisture_pct=moisture_pct,
        grade_oz_tc=grade_oz_tc,
        recovery=recovery,
        gold_price_usd_oz=gold_price_usd_oz,
        commercial_deduction_usd_oz=commercial_deduction_usd_oz,
        maquila_usd_tc=maquila_usd_tc,
        reagents_usd_tms=reagents_usd_tms,
        freight_usd_tms=freight_usd_tms,
        other_usd_tms=other_usd_tms,
        declared_payable_usd=declared_payable_usd,
        gold_price_on=gold_price_on,
        gold_price_source=gold_price_source,
    )
    try:
        [outcome] = _settlements_record(buyer=buyer, actor=actor, drafts=[draft])
    except SettlementBatchError as exc:
        raise exc.errors[0] from None
    return outcome


def settlement_post_many(*, buyer: Buyer, actor: Any, settlements: list[dict[str, Any]]) -> list[SettlementOutcome]:
    """``settlement_post`` for each of ``settlements`` (its keyword arguments but buyer and actor), in
    order, in one transaction: the same settlements, withholdings, allocations and audit rows as
    posting them one after the other, with a fixed number of queries for the batch instead of a dozen
    per settlement. All or nothing: ``SettlementBatchError`` names every settlement that cannot be
    posted (by position), and then nothing is saved.
    """
    drafts: list[_SettlementDraft] = []
    errors: dict[int, ValidationError] = {}
    for index, kwargs in enumerate(settlements):
        try:
            drafts.append(_settlement_draft(buyer=buyer, actor=actor, **kwargs))
        except ValidationError as exc:
            errors[index] = exc
    if errors:
        raise SettlementBatchError(errors)
    return _settlements_record(buyer=buyer, actor=actor, drafts=drafts)


def _lot_code_taken() -> ValidationError:
    return ValidationError({"lot_code": _("This buyer already posted a settlement with this lot code.")})


def _is_lot_code_conflict(exc: IntegrityError) -> bool:
    diag = getattr(exc.__cause__, "diag", None)
    name = getattr(diag, "constraint_name", None) or str(exc)
    return "settlement_unique_buyer_lot" in name


def _settlements_record(*, buyer: Buyer, actor: Any, drafts: list[_SettlementDraft]) -> list[SettlementOutcome]:
    try:
        return _settlements_apply(buyer=buyer, actor=actor, drafts=drafts)
    except IntegrityError as exc:
        # A lot code already used (by an earlier or a concurrent request, or twice in the batch): the
        # unique index refused the insert and the whole batch was rolled back. Name the rows.
        if not _is_lot_code_conflict(exc):
            raise
        lots = [draft.settlement.lot_code for draft in drafts]
        taken = set(Settlement.objects.filter(buyer=buyer, lot_code__in=lots).values_list("lot_code", flat=True))
        seen: set[str] = set()
        errors: dict[int, ValidationError] = {}
        for index, lot in enumerate(lots):
            if lot in taken or lot in seen:
                errors[index] = _lot_code_taken()
            seen.add(lot)
        raise SettlementBatchError(errors or {0: _lot_code_taken()}) from exc


@dataclass
class _Pending:
    """A withholding worked out in memory, saved at the end of the batch."""

    transaction: LoanTransaction
    withholding: Withholding
    provisional_id: int
    installments: list[dict[str, Any]]
    recompute: dict[str, Any] | None


# Ids for entries replayed before their transaction is saved: above any real id, in creation order, so
# they sort among themselves and after the loan's saved entries exactly as the ids the rows will get.
_PROVISIONAL_ID = 2**62


@transaction.atomic
def _settlements_apply(*, buyer: Buyer, actor: Any, drafts: list[_SettlementDraft]) -> list[SettlementOutcome]:
    """Save ``drafts`` and withhold from each, in order (see ``settlement_post``).

    Locks the active loans of every miner in the batch in id order first: parallel settlements for one
    miner queue up here, and two batches can never deadlock. Each loan's log is read and replayed once
    (``_loan_books``); a settlement in date order is applied on top of the replayed state
    (``ledger.IncrementalReplay``), an out-of-order one replays the log again. Every row is written once
    at the end: settlements, transactions, withholdings, audit rows in one INSERT each, the loans'
    schedule rows and cached balances in one UPDATE each.
    """
    user = _user(actor)
    as_of_today = _today()
    miner_ids = {draft.settlement.miner_id for draft in drafts}
    latest = max(draft.settlement.settled_on for draft in drafts)
    loans = _loans_locked_for_withholding(miner_ids=miner_ids, buyer=buyer, latest=latest)
    books = _loan_books(loans) if loans else {}
    by_miner: dict[int, list[_LoanBook]] = {}
    for book in sorted(books.values(), key=lambda b: (b.loan.disbursed_on, b.loan.pk)):
        by_miner.setdefault(book.loan.miner_id, []).append(book)

    settlements = [draft.settlement for draft in drafts]
    insert_rows(settlements)
    outcomes: list[SettlementOutcome] = []
    pending: list[list[_Pending]] = []
    next_id = _PROVISIONAL_ID
    for draft, settlement in zip(drafts, settlements, strict=True):
        currency, rate, settled_on = settlement.currency, settlement.exchange_rate, settlement.settled_on
        as_of = max(as_of_today, settled_on)
        payable_settlement = _convert(draft.payable_usd, Currency.USD, currency, rate)
        outcome = SettlementOutcome(settlement=settlement, withholding_currency=currency)
        withheld_settlement = ZERO
        row_pending: list[_Pending] = []
        for book in by_miner.get(settlement.miner_id, []):
            loan = book.loan
            if loan.status != Loan.Status.ACTIVE or loan.disbursed_on > settled_on:
                continue  # paid off by an earlier settlement of the batch, or disbursed after this one
            payable_loan = _convert(draft.payable_usd, Currency.USD, loan.currency, rate)
            already = _convert(withheld_settlement, currency, loan.currency, rate)
            cap = money(pct_to_rate(loan.max_withholding_share_pct) * payable_loan)
            state = book.replay.state_on(settled_on)
            amount = min(
                state.amount_due(),
                cap - already,
                payable_loan - already,
                state.payoff_amount(book.terms),
            )
            if amount <= 0:
                continue
            amount_settlement = _convert(amount, loan.currency, currency, rate)
            txn = LoanTransaction(
                loan=loan,
                kind=LoanTransaction.Kind.WITHHOLDING,
                value_date=settled_on,
                amount=amount,
                currency=loan.currency,
                settlement=settlement,
                reference=settlement.lot_code[:80],
                recorded_by=user,
            )
            withholding = Withholding(
                settlement=settlement,
                loan=loan,
                buyer=buyer,
                transaction=txn,
                withheld_on=settled_on,
                amount=amount,
                currency=loan.currency,
                amount_settlement_currency=amount_settlement,
            )
            withheld_settlement += amount_settlement
            next_id += 1
            book.replay.add(ledger.Entry(id=next_id, kind=ledger.WITHHOLDING, value_date=settled_on, amount=amount))
            after = book.replay.state(as_of)
            recompute = _book_derive(book, after, as_of)
            row_pending.append(_Pending(txn, withholding, next_id, _state_breakdown(after, next_id), recompute))
            outcome.withholdings.append(withholding)
            outcome.breakdown.append(
                {"loan": loan.code, "loan_id": loan.pk, "amount": amount, "installments": row_pending[-1].installments}
            )
        if outcome.withholdings:
            outcome.withholding_currency = outcome.withholdings[0].currency
            outcome.withholding_amount = sum((w.amount for w in outcome.withholdings), ZERO)
        outcome.net_to_miner = payable_settlement - withheld_settlement
        outcomes.append(outcome)
        pending.append(row_pending)

    made = [item for row in pending for item in row]
    if made:
        insert_rows([item.transaction for item in made])
        insert_rows([item.withholding for item in made])
    _books_write(
        [book for book in books.values() if book.state is not None],
        {item.provisional_id: item.transaction.pk for item in made},
    )
    events: list[AuditEvent] = []
    for outcome, row_pending in zip(outcomes, pending, strict=True):
        for item in row_pending:
            if item.recompute is not None:
                events.append(_audit_event("servicing", "loan.recompute", item.withholding.loan, **item.recompute))
            events.append(
                _audit_event(
                    actor,
                    "withholding.record",
                    item.withholding,
                    after={**snapshot(item.withholding), "installments": item.installments},
                )
            )
        events.append(
            _audit_event(
                actor,
                "settlement.post",
                outcome.settlement,
                after={
                    **snapshot(outcome.settlement),
                    "withheld": outcome.withholding_amount,
                    "net_to_miner": outcome.net_to_miner,
                },
            )
        )
    insert_rows(events)
    return outcomes


def _audit_event(
    actor: Any,
    action: str,
    obj: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """The row ``audit_record`` would insert, for a batch to insert many in one statement."""
    return AuditEvent(
        actor=_user(actor),
        actor_label=actor_label_for(actor)[:150],
        action=action,
        object_type=obj._meta.label,
        object_id=str(obj.pk),
        before=jsonable(before) if before is not None else None,
        after=jsonable(after) if after is not None else None,
    )


@transaction.atomic
def settlement_void(*, settlement: Settlement, actor: Any, reason: str) -> Settlement:
    """Anular: the buyer voids a settlement. Its withholdings are reversed (a REVERSAL transaction
    each, so the loans are recomputed as if they had never been), any remittance money matched to them
    is released back to the remittance as unmatched credit, and the settlement is marked void."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A void needs a reason.")})
    Buyer.objects.select_for_update().get(pk=settlement.buyer_id)
    settlement = Settlement.objects.select_for_update().get(pk=settlement.pk)
    if settlement.status == Settlement.Status.VOID:
        raise TransitionError(_("This settlement is already void."))
    withholdings = list(
        Withholding.objects.filter(settlement=settlement).exclude(status=Withholding.Status.REVERSED).order_by("id")
    )
    loans = list(Loan.objects.select_for_update().filter(id__in={w.loan_id for w in withholdings}).order_by("id"))
    withholdings = list(
        Withholding.objects.select_for_update().filter(pk__in=[w.pk for w in withholdings]).order_by("id")
    )
    matches = list(RemittanceMatch.objects.filter(withholding__in=withholdings).order_by("remittance_id", "id"))
    released = Counter[int]()
    for match in matches:
        released[match.remittance_id] += match.amount
    for remittance in Remittance.objects.select_for_update().filter(pk__in=released).order_by("id"):
        remittance.unmatched_amount += released[remittance.pk]
        remittance.reconciled_at = None
        remittance.save(update_fields=["unmatched_amount", "reconciled_at", "updated"])
    RemittanceMatch.objects.filter(pk__in=[m.pk for m in matches]).delete()
    today = _today()
    for withholding in withholdings:
        LoanTransaction.objects.create(
            loan_id=withholding.loan_id,
            kind=LoanTransaction.Kind.REVERSAL,
            value_date=today,
            amount=withholding.amount,
            currency=withholding.currency,
            reverses_id=withholding.transaction_id,
            settlement=settlement,
            reference=settlement.lot_code[:80],
            note=reason[:255],
            recorded_by=_user(actor),
        )
        withholding.status = Withholding.Status.REVERSED
        withholding.remitted_amount = ZERO
        withholding.save(update_fields=["status", "remitted_amount", "updated"])
    ReconciliationException.objects.filter(
        withholding__in=withholdings, status=ReconciliationException.Status.OPEN
    ).update(
        status=ReconciliationException.Status.RESOLVED,
        resolved_at=timezone.now(),
        resolution_note="Settlement voided.",
        updated=timezone.now(),
    )
    before = snapshot(settlement, ["status", "voided_at", "void_reason"])
    settlement.status = Settlement.Status.VOID
    settlement.voided_at = timezone.now()
    settlement.void_reason = reason[:255]
    settlement.save(update_fields=["status", "voided_at", "void_reason", "updated"])
    for loan in loans:
        loan_recompute(loan=loan)
    audit_record(
        actor=actor,
        action="settlement.void",
        obj=settlement,
        before=before,
        after={
            **snapshot(settlement, ["status", "voided_at", "void_reason"]),
            "reversed_withholdings": [w.pk for w in withholdings],
            "released_to_remittances": {str(k): v for k, v in released.items()},
        },
    )
    if released:
        _queue_reconciliation(buyer_id=settlement.buyer_id)
    return settlement


# --- Direct payments and prepayments ---------------------------------------------------------------


def _payment_kind(state: ledger.LedgerState, amount: Decimal) -> str:
    """Adelanto de cuotas or pago anticipado (DOMAIN.md §3): what exceeds the exigible amount is
    compared with the next two installments' worth."""
    excess = amount - state.exigible()
    if excess <= 0:
        return "adelanto"
    return classify_prepayment(excess, state.upcoming_totals())


def _max_payment(loan: Loan, state: ledger.LedgerState, kind: str) -> Decimal:
    if kind == "anticipado":
        return state.payoff_amount(loan_ledger_terms(loan))
    return state.exigible() + sum(state.upcoming_totals(), ZERO)


def payment_record(
    *,
    loan: Loan,
    amount: Any,
    paid_on: dt.date,
    actor: Any,
    reference: str = "",
    prepayment_mode: str | None = None,
) -> LoanTransaction:
    """A payment the miner made directly (at a branch or by transfer), recorded by staff.

    Allocated like a withholding. Up to two installments beyond what is exigible it is an adelanto de
    cuotas (paid into the next installments); beyond that it is a pago anticipado applied to principal
    with the cronograma regenerated, by the client's choice of shorter term (default) or lower
    installment. Payments may be dated in the past: the loan is recomputed from its whole log. More
    than the loan's payoff is refused.
    """
    _require_staff(actor, _("Only loan officers record payments."))
    amount = _amount("amount", amount)
    _not_future("paid_on", paid_on)
    if prepayment_mode not in (None, "", *LoanTransaction.PrepaymentMode.values):
        raise ValidationError({"prepayment_mode": _("Choose a shorter term or a lower installment.")})
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=loan.pk)
        if loan.status != Loan.Status.ACTIVE:
            raise TransitionError(_("Payments can only be recorded on an active loan."))
        if paid_on < loan.disbursed_on:
            raise ValidationError({"paid_on": _("The payment cannot predate the disbursement.")})
        state = loan_state_on(loan=loan, on=paid_on)
        kind = _payment_kind(state, amount)
        limit = _max_payment(loan, state, kind)
        if amount > limit:
            raise ValidationError(
                {"amount": _("The amount exceeds what the loan owes on that date (%(limit)s).") % {"limit": limit}}
            )
        anticipado = kind == "anticipado"
        txn = LoanTransaction.objects.create(
            loan=loan,
            kind=LoanTransaction.Kind.PREPAYMENT if anticipado else LoanTransaction.Kind.PAYMENT,
            value_date=paid_on,
            amount=amount,
            currency=loan.currency,
            prepayment_mode=(prepayment_mode or LoanTransaction.PrepaymentMode.REDUCE_TERM) if anticipado else "",
            reference=reference[:80],
            recorded_by=_user(actor),
        )
        version_before = loan.schedule_version
        loan = loan_recompute(loan=loan, as_of=max(_today(), paid_on))
        audit_record(
            actor=actor,
            action="payment.prepayment" if anticipado else "payment.record",
            obj=txn,
            after={
                **snapshot(txn),
                "kind_rule": kind,
                "schedule_version": [version_before, loan.schedule_version],
                "allocations": _allocation_breakdown(txn.pk),
            },
        )
    return txn


def _preview_lines(state: ledger.LedgerState) -> list[dict[str, Any]]:
    return [
        {
            "number": line.number,
            "due_on": line.due_on,
            "principal": line.plan.principal,
            "interest": line.plan.interest,
            "insurance": line.plan.insurance,
            "fees": line.plan.fees,
            "total": line.plan.total,
            "balance": line.plan.closing_balance,
        }
        for line in state.current_lines
    ]


def prepayment_options(*, loan: Loan, amount: Any, paid_on: dt.date) -> dict[str, Any]:
    """What a payment of ``amount`` on ``paid_on`` would do, before staff record it.

    ``kind`` is "adelanto" (next installments paid in advance, interest unchanged) or "anticipado"
    (principal reduced); for an anticipado both choices are previewed with their new cronograma:
    ``reduce_term`` (same installment, fewer of them) and ``reduce_installment`` (same dates, lower
    installment), with the interest each saves against the current cronograma.
    """
    amount = _amount("amount", amount)
    state = loan_state_on(loan=loan, on=paid_on)
    kind = _payment_kind(state, amount)
    result: dict[str, Any] = {
        "kind": kind,
        "amount": amount,
        "paid_on": paid_on,
        "exigible": state.exigible(),
        "next_installments": state.upcoming_totals()[:2],
        "payoff": state.payoff_amount(loan_ledger_terms(loan)),
        "maximum": _max_payment(loan, state, kind),
    }
    if kind != "anticipado":
        return result
    interest_now = sum((line.plan.interest - line.paid_interest for line in state.current_lines), ZERO)
    for mode in LoanTransaction.PrepaymentMode.values:
        preview = loan_ledger_state(
            loan=loan,
            as_of=paid_on,
            until=paid_on,
            extra=[
                ledger.Entry(id=2**62, kind=ledger.PREPAYMENT, value_date=paid_on, amount=amount, prepayment_mode=mode)
            ],
        )
        lines = _preview_lines(preview)
        interest_after = sum((line.plan.interest - line.paid_interest for line in preview.current_lines), ZERO) + sum(
            (a.amount for a in preview.allocations_for(2**62) if a.component == "interest"), ZERO
        )
        result[mode] = {
            "installment": preview.installment,
            "installments_left": len(lines),
            "last_due_on": lines[-1]["due_on"] if lines else None,
            "outstanding_principal": preview.outstanding_principal,
            "interest_saved": interest_now - interest_after,
            "lines": lines,
        }
    return result


# --- Remittances and reconciliation ------------------------------------------------------------------


@dataclass
class RemittanceOutcome:
    remittance: Remittance
    matches: list[RemittanceMatch] = field(default_factory=list)
    exceptions: list[ReconciliationException] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        r = self.remittance
        return {
            "remittance_id": r.pk,
            "reference": r.reference,
            "amount": str(r.amount),
            "currency": r.currency,
            "paid_on": r.paid_on.isoformat(),
            "unmatched_amount": str(r.unmatched_amount),
            "matches": [
                {
                    "withholding_id": m.withholding_id,
                    "settlement_id": m.withholding.settlement_id,
                    "amount": str(m.amount),
                }
                for m in self.matches
            ],
            "exceptions": [
                {"id": e.pk, "kind": e.kind, "amount": str(e.amount), "detail": e.detail} for e in self.exceptions
            ],
        }


def _queue_reconciliation(*, buyer_id: int | None = None) -> None:
    from installments import tasks

    transaction.on_commit(lambda: tasks.reconcile_remittances.delay(as_of=_today().isoformat(), buyer_id=buyer_id))


def remittance_record(
    *,
    buyer: Buyer,
    reference: str,
    amount: Any,
    currency: str,
    paid_on: dt.date,
    actor: Any,
    settlement_ids: list[int] | None = None,
) -> RemittanceOutcome:
    """A transfer from the buyer for withholdings it made, matched at once.

    With ``settlement_ids`` the money goes to those settlements' open withholdings only: listed ids that
    are not this buyer's settlements raise an "unknown settlement" exception, less money than they owe
    a "short remittance", more an "over remittance". Without a list it pays the buyer's oldest open
    withholdings in that currency first; what is left over is an "over remittance" (credit the hourly
    reconciliation applies to later withholdings). A full reconciliation for the buyer is queued after
    commit.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("The bank reference is required.")})
    amount = _amount("amount", amount)
    if currency not in Currency.values:
        raise ValidationError({"currency": _("Unsupported currency.")})
    _not_future("paid_on", paid_on)
    today = _today()
    with transaction.atomic():
        Buyer.objects.select_for_update().get(pk=buyer.pk)
        if Remittance.objects.filter(buyer=buyer, reference=reference).exists():
            raise ValidationError({"reference": _("This bank reference was already recorded.")})
        remittance = Remittance.objects.create(
            buyer=buyer,
            reference=reference,
            amount=amount,
            currency=currency,
            paid_on=paid_on,
            unmatched_amount=amount,
            created_by=_user(actor),
        )
        exceptions: list[ReconciliationException] = []
        if settlement_ids:
            wanted = {int(pk) for pk in settlement_ids}
            known = list(Settlement.objects.filter(buyer=buyer, pk__in=wanted).order_by("id"))
            remittance.settlements.set(known)
            for missing in sorted(wanted - {s.pk for s in known}):
                exceptions.append(
                    ReconciliationException.objects.create(
                        buyer=buyer,
                        kind=ReconciliationException.Kind.UNKNOWN_SETTLEMENT,
                        remittance=remittance,
                        detail=f"Settlement #{missing} is not one of this buyer's settlements."[:255],
                        detected_on=today,
                    )
                )
            owed = _match_listed(remittance, known)
            remittance.refresh_from_db()
            if owed > amount:
                exceptions.append(
                    ReconciliationException.objects.create(
                        buyer=buyer,
                        kind=ReconciliationException.Kind.SHORT,
                        remittance=remittance,
                        amount=owed - amount,
                        detail="The listed settlements' withholdings exceed the remittance.",
                        detected_on=today,
                    )
                )
        else:
            batch.match_remittances(as_of=paid_on, buyer_range=(buyer.pk, buyer.pk), remittance_id=remittance.pk)
            remittance.refresh_from_db()
        if remittance.unmatched_amount > 0:
            exceptions.append(
                ReconciliationException.objects.create(
                    buyer=buyer,
                    kind=ReconciliationException.Kind.OVER,
                    remittance=remittance,
                    amount=remittance.unmatched_amount,
                    detail="The remittance exceeds the open withholdings it could be matched to.",
                    detected_on=today,
                )
            )
        matches = list(remittance.matches.select_related("withholding").order_by("id"))
        audit_record(
            actor=actor,
            action="remittance.record",
            obj=remittance,
            after={
                **snapshot(remittance),
                "matches": [(m.withholding_id, m.amount) for m in matches],
                "exceptions": [(e.kind, e.amount) for e in exceptions],
            },
        )
        _queue_reconciliation(buyer_id=buyer.pk)
    return RemittanceOutcome(remittance=remittance, matches=matches, exceptions=exceptions)


def _match_listed(remittance: Remittance, settlements: list[Settlement]) -> Decimal:
    """Pay the listed settlements' open withholdings, oldest first; returns what they owed."""
    open_rows = list(
        Withholding.objects.select_for_update()
        .filter(
            settlement__in=settlements,
            currency=remittance.currency,
            status__in=[Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL],
        )
        .order_by("id")
    )
    owed = sum((w.amount - w.remitted_amount for w in open_rows), ZERO)
    left = remittance.amount
    for withholding in sorted(open_rows, key=lambda w: (w.withheld_on, w.pk)):
        applied = min(withholding.amount - withholding.remitted_amount, left)
        if applied <= 0:
            break
        RemittanceMatch.objects.create(remittance=remittance, withholding=withholding, amount=applied)
        withholding.remitted_amount += applied
        withholding.status = (
            Withholding.Status.REMITTED
            if withholding.remitted_amount == withholding.amount
            else Withholding.Status.PARTIAL
        )
        withholding.save(update_fields=["remitted_amount", "status", "updated"])
        left -= applied
    remittance.unmatched_amount = left
    remittance.reconciled_at = timezone.now() if left == 0 else None
    remittance.save(update_fields=["unmatched_amount", "reconciled_at", "updated"])
    return owed


@transaction.atomic
def exception_resolve(*, exception: ReconciliationException, actor: Any, note: str) -> ReconciliationException:
    """A person looked at a reconciliation exception and closed it, saying why."""
    _require_staff(actor, _("Only lender staff resolve reconciliation exceptions."))
    if not (note or "").strip():
        raise ValidationError({"note": _("Say how the exception was resolved.")})
    exception = ReconciliationException.objects.select_for_update().get(pk=exception.pk)
    if exception.status != ReconciliationException.Status.OPEN:
        raise TransitionError(_("This exception is already resolved."))
    before = snapshot(exception, ["status", "resolved_by_id", "resolved_at", "resolution_note"])
    exception.status = ReconciliationException.Status.RESOLVED
    exception.resolved_by = _user(actor)
    exception.resolved_at = timezone.now()
    exception.resolution_note = note.strip()
    exception.save(update_fields=["status", "resolved_by", "resolved_at", "resolution_note", "updated"])
    audit_record(
        actor=actor,
        action="reconciliation_exception.resolve",
        obj=exception,
        before=before,
        after=snapshot(exception, ["status", "resolved_by_id", "resolved_at", "resolution_note"]),
    )
    return exception


# --- Portfolio jobs ------------------------------------------------------------------------------------


def reconcile_remittances(
    *, as_of: dt.date, buyer_ids: list[int] | None = None, task_id: str = "", batch_size: int = 200
) -> JobRun:
    """Match unmatched remittance money to open withholdings (oldest first) and raise or close
    exceptions, over the whole portfolio in set-based SQL (see ``installments.batch``)."""
    return batch.run_reconciliation(as_of=as_of, buyer_ids=buyer_ids, task_id=task_id, batch_size=batch_size)


def moratory_accrue(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000) -> JobRun:
    """Extend moratory interest, overdue status and the loans' cached state to ``as_of`` (set-based)."""
    return batch.run_accrual(as_of=as_of, task_id=task_id, batch_size=batch_size)


def portfolio_rate(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000, pause_seconds: float = 0) -> JobRun:
    """Rate every active loan as of ``as_of`` (SBS category, alignment, provisions, early warnings) and
    store the portfolio totals (set-based; see ``installments.batch``)."""
    return batch.run_rating(as_of=as_of, task_id=task_id, batch_size=batch_size, pause_seconds=pause_seconds)


def nightly_servicing(*, as_of: dt.date, task_id: str = "") -> JobRun:
    """The nightly run: moratory accrual, then the rating, as of ``as_of`` (today in Lima)."""
    return batch.run_nightly(as_of=as_of, task_id=task_id)
