"""Ore settlements and their withholdings: what to withhold, posting (one or a batch) and voids."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit.audit import audit_event, audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.fields import Currency
from asmcredit.models import AuditEvent
from asmcredit.money import ZERO, money, pct_to_rate, round_half_up
from asmcredit.sql import insert_rows, row_lock
from buyers.models import Buyer, Settlement
from buyers.settlement_input import SettlementInput
from buyers.valuation import SettlementError, SettlementTerms, convert, declared_difference, value_settlement
from installments import ledger
from installments.models import (
    Allocation,
    LoanTransaction,
    ReconciliationException,
    Remittance,
    RemittanceMatch,
    Withholding,
)
from installments.selectors import (
    loan_state_on,
)
from installments.services.common import (
    COLLECTING_STATUSES,
    actor_user,
    decimal_input,
    not_future,
    queue_miner_notices,
    queue_reconciliation,
    servicing_today,
)
from installments.services.writeback import (
    PROVISIONAL_ID,
    LoanBook,
    book_derive,
    books_write,
    loan_books,
    loan_recompute,
    loans_locked_for_withholding,
)
from loans.models import Loan
from miners.models import Miner

FLAG_DECLARED_PAYABLE_DIFFERS = "declared_payable_differs"
# The settlement's numbers the valuation reads, stored on the settlement as they are.
_VALUED_FIELDS = tuple(f.name for f in fields(SettlementTerms) if f.name != "buyer_terms_share")


@dataclass(frozen=True)
class LoanDue:
    """What a buyer should withhold for one loan from a settlement dated ``as_of`` (before the cap)."""

    loan: Loan
    currency: str
    amount_due: Decimal
    next_due_on: dt.date | None


def _active_loans(miner: Miner, on: dt.date) -> Any:
    return Loan.objects.filter(miner=miner, status__in=COLLECTING_STATUSES, disbursed_on__lte=on)


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
            "maquila_usd_tc": str(s.maquila_usd_tc),
            "maquila_source": s.maquila_source,
            "price_share": str(s.price_share),
            "value_share": str(s.value_share),
            "terms_deviations": list(s.terms_deviations),
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


def _breakdown_row(number: int, due_on: dt.date) -> dict[str, Any]:
    """One installment's line in a withholding's breakdown, before its allocations are added up."""
    return {
        "number": number,
        "due_on": due_on,
        "moratory": ZERO,
        "late_interest": ZERO,
        "interest": ZERO,
        "insurance": ZERO,
        "fees": ZERO,
        "principal": ZERO,
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
        if line is None:
            continue  # an overpayment credit, on no installment
        row = rows.setdefault(line.pk, _breakdown_row(line.number, line.due_on))
        # Deferred interest (a reprogramación's) is listed only on the loans that have it.
        row[allocation.component] = row.get(allocation.component, ZERO) + allocation.amount
    return list(rows.values())


def _state_breakdown(state: ledger.LedgerState, entry_id: int) -> list[dict[str, Any]]:
    """``_allocation_breakdown`` of an entry, read off the replayed state instead of the database."""
    due_on = {(line.version, line.number): line.due_on for line in state.lines}
    rows: dict[tuple[int, int], dict[str, Any]] = {}
    allocations = sorted(
        (a for a in state.allocations_for(entry_id) if a.component != ledger.OVERPAYMENT),
        key=lambda a: (due_on[(a.version, a.number)], a.number),
    )
    for allocation in allocations:
        key = (allocation.version, allocation.number)
        row = rows.setdefault(key, _breakdown_row(allocation.number, due_on[key]))
        row[allocation.component] = row.get(allocation.component, ZERO) + allocation.amount
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


def _settlement_draft(*, buyer: Buyer, actor: Any, source: str, data: SettlementInput) -> _SettlementDraft:
    """``data`` checked and valued. A row from ``buyers.settlement_input`` already passed its bounds; a
    direct ``settlement_post`` call may carry anything (numbers as text, a blank lot code), so what the
    valuation needs is checked again here.

    The lot is valued and checked against the buyer's agreed terms and the lender's price reference in
    force on the settlement date (DOMAIN.md §4: ``data.terms`` when the batch read them, else read here);
    an omitted maquila (None or blank — an explicit 0 stays 0) is the scale's for the lot's grade, and a
    scale without a band for it is a ``ValidationError`` on ``maquila_usd_tc``, never a silent 0."""
    from dataclasses import replace

    from buyers.selectors import buyer_terms_on

    lot_code = (data.lot_code or "").strip()
    currency, settled_on = data.currency, data.settled_on
    if not lot_code:
        raise ValidationError({"lot_code": _("The lot code is required.")})
    if currency not in Currency.values:
        raise ValidationError({"currency": _("Unsupported currency.")})
    not_future("settled_on", settled_on)
    rate = decimal_input("exchange_rate", data.exchange_rate)
    if rate <= 0:
        raise ValidationError({"exchange_rate": _("The exchange rate must be positive.")})
    terms = data.terms if data.terms is not None and data.terms.on == settled_on else None
    if terms is None:
        terms = buyer_terms_on(buyer=buyer, on=settled_on)
    maquila_source = data.maquila_source or Settlement.MaquilaSource.STATED
    if data.maquila_usd_tc is None or (isinstance(data.maquila_usd_tc, str) and not data.maquila_usd_tc.strip()):
        grade = decimal_input("grade_oz_tc", data.grade_oz_tc)
        scale = terms.scale_maquila(grade)
        if scale is None:
            raise ValidationError({"maquila_usd_tc": terms.no_scale_message(grade)})
        data, maquila_source = replace(data, maquila_usd_tc=scale), Settlement.MaquilaSource.SCALE
    values = {name: decimal_input(name, getattr(data, name)) for name in _VALUED_FIELDS}
    declared_raw = data.declared_payable_usd
    declared = None if declared_raw in (None, "") else decimal_input("declared_payable_usd", declared_raw)
    try:
        value = value_settlement(SettlementTerms(**values), agreed=terms.agreed, price_reference=terms.price_reference)
    except SettlementError as exc:
        raise ValidationError({exc.field: exc.message}) from exc
    if value.dry_tonnes <= 0:
        raise ValidationError({"wet_tonnes": _("The lot has no dry tonnage.")})
    flags = list(value.fair_price_flags)
    if declared is not None and declared_difference(value.payable, declared) != 0:
        flags.append(FLAG_DECLARED_PAYABLE_DIFFERS)
    settlement = Settlement(
        buyer=buyer,
        miner=data.miner,
        lot_code=lot_code,
        settled_on=settled_on,
        currency=currency,
        exchange_rate=rate,
        gold_price_on=data.gold_price_on,
        gold_price_source=data.gold_price_source or "LBMA PM",
        dry_tonnes=value.dry_tonnes,
        value_per_tms=round_half_up(value.value_per_tms, 4),
        payable_usd=value.payable,
        declared_payable_usd=declared,
        contained_gold_usd=value.contained_gold_usd,
        maquila_source=maquila_source,
        price_share=value.price_share,
        value_share=value.value_share,
        terms_version_id=terms.agreed.version_id if terms.agreed is not None else None,
        terms_deviations=list(value.terms_deviations),
        fair_price_flags=flags,
        source=source,
        created_by=actor_user(actor),
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
    maquila_usd_tc: Any = None,
    reagents_usd_tms: Any = 0,
    freight_usd_tms: Any = 0,
    other_usd_tms: Any = 0,
    declared_payable_usd: Any = None,
    gold_price_on: dt.date | None = None,
    gold_price_source: str = "",
) -> SettlementOutcome:
    """Record an ore settlement (liquidación) and withhold the miner's installments from it.

    Only loans this buyer collects count (the loan names it as withholding buyer, or names none).
    The settlement is valued by ``buyers.valuation`` (a declared payable that differs is flagged, and
    the three fair-price figures are stored with their flags); a ``maquila_usd_tc`` left out (None) is
    the buyer's scale for the lot's grade on the settlement date. For each active loan of the miner,
    oldest first, the withholding is what is due (``miner_amount_due``), capped at the loan's maximum
    share of the settlement's payable in the loan's currency — the cap counts what earlier loans
    already took from the same settlement, so the miner always keeps at least (100 − share)% — and
    never above the payable left or the loan's payoff. Each withholding is the miner's payment dated
    the settlement date (a WITHHOLDING transaction, allocated oldest installment first, applied as the
    loan's standing instruction says) and a debt of the buyer to the lender (a Withholding row) until
    remitted. A settlement dated in the past never withholds more than the usual rule would today.
    """
    data = SettlementInput(
        miner=miner,
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
    draft = _settlement_draft(buyer=buyer, actor=actor, source=source, data=data)
    try:
        [outcome] = _settlements_record(buyer=buyer, actor=actor, drafts=[draft])
    except SettlementBatchError as exc:
        raise exc.errors[0] from None
    return outcome


def settlement_post_many(
    *,
    buyer: Buyer,
    actor: Any,
    settlements: Sequence[SettlementInput | Mapping[str, Any]],
    source: str = "api",
) -> list[SettlementOutcome]:
    """``settlement_post`` for each of ``settlements`` (a validated ``SettlementInput``, or a mapping of
    ``settlement_post``'s keyword arguments but buyer and actor, ``source`` included), in order, in one
    transaction: the same settlements, withholdings, allocations and audit rows as posting them one
    after the other, with a fixed number of queries for the batch instead of a dozen per settlement.
    All or nothing: ``SettlementBatchError`` names every settlement that cannot be posted (by
    position), and then nothing is saved.
    """
    drafts: list[_SettlementDraft] = []
    errors: dict[int, ValidationError] = {}
    for index, item in enumerate(settlements):
        try:
            if isinstance(item, SettlementInput):
                data, row_source = item, source
            else:
                kwargs = dict(item)
                row_source = kwargs.pop("source", source)
                data = SettlementInput(**kwargs)
            drafts.append(_settlement_draft(buyer=buyer, actor=actor, source=row_source, data=data))
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


def _buyer_locked_for_posting(buyer: Buyer) -> None:
    """Lock order step 1 for a post: the buyer row FOR KEY SHARE, before any loan.

    The post inserts rows that reference the buyer (the settlements, their withholdings), and
    PostgreSQL checks those foreign keys at commit (Django's are DEFERRABLE INITIALLY DEFERRED) by
    taking FOR KEY SHARE on the buyer row. Taken only there, it comes last, while the post holds the
    miner's loans, and any writer that holds the buyer FOR UPDATE and then waits for one of those loans
    closes a cycle (the void did, until it took FOR NO KEY UPDATE). Taken here, first, it is the same
    lock in the documented order: a FOR UPDATE on the buyer (the reconciliation job) makes the post wait
    before it holds any loan. FOR KEY SHARE conflicts only with FOR UPDATE, so posts for one buyer
    still run side by side, and voids and remittances (FOR NO KEY UPDATE) neither wait for them nor
    make them wait."""
    if not connection.features.has_select_for_update:
        return
    table = connection.ops.quote_name(Buyer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {table} WHERE id = %s{row_lock('KEY SHARE')}", [buyer.pk])  # noqa: S608


@transaction.atomic
def _settlements_apply(*, buyer: Buyer, actor: Any, drafts: list[_SettlementDraft]) -> list[SettlementOutcome]:
    """Save ``drafts`` and withhold from each, in order (see ``settlement_post``).

    Takes its locks in the order every servicing write uses (``installments.services``): the buyer
    FOR KEY SHARE, then the active loans of every miner in the batch in id order: parallel settlements
    for one miner queue up there, and two batches can never deadlock. Each loan's log is read and
    replayed once (``loan_books``); a settlement in date order is applied on top of the replayed state
    (``ledger.IncrementalReplay``), an out-of-order one replays the log again. Every row is written once
    at the end: settlements, transactions, withholdings, audit rows in one INSERT each, the loans'
    schedule rows and cached balances in one UPDATE each.
    """
    user = actor_user(actor)
    as_of_today = servicing_today()
    miner_ids = {draft.settlement.miner_id for draft in drafts}
    latest = max(draft.settlement.settled_on for draft in drafts)
    _buyer_locked_for_posting(buyer)
    # Lock order step 2: the loans by id (FOR NO KEY UPDATE).
    loans = loans_locked_for_withholding(miner_ids=miner_ids, buyer=buyer, latest=latest)
    books = loan_books(loans) if loans else {}
    by_miner: dict[int, list[LoanBook]] = {}
    for book in sorted(books.values(), key=lambda b: (b.loan.disbursed_on, b.loan.pk)):
        by_miner.setdefault(book.loan.miner_id, []).append(book)

    settlements = [draft.settlement for draft in drafts]
    insert_rows(settlements)
    outcomes: list[SettlementOutcome] = []
    pending: list[list[_Pending]] = []
    next_id = PROVISIONAL_ID
    for draft, settlement in zip(drafts, settlements, strict=True):
        currency, rate, settled_on = settlement.currency, settlement.exchange_rate, settlement.settled_on
        as_of = max(as_of_today, settled_on)
        payable_settlement = _convert(draft.payable_usd, Currency.USD, currency, rate)
        outcome = SettlementOutcome(settlement=settlement, withholding_currency=currency)
        withheld_settlement = ZERO
        row_pending: list[_Pending] = []
        for book in by_miner.get(settlement.miner_id, []):
            loan = book.loan
            if loan.status not in COLLECTING_STATUSES or loan.disbursed_on > settled_on:
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
            if settled_on < as_of_today:
                # A backdated settlement never withholds more than the usual rule would today, after
                # every entry already recorded (DOMAIN.md §5): later entries may have paid it already.
                amount = min(amount, book.replay.state(as_of_today).amount_due())
            if amount <= 0:
                continue
            amount_settlement = _convert(amount, loan.currency, currency, rate)
            txn = LoanTransaction(
                loan=loan,
                kind=LoanTransaction.Kind.WITHHOLDING,
                value_date=settled_on,
                amount=amount,
                currency=loan.currency,
                # The loan's standing instruction (DOMAIN.md §3): by the rule unless the miner chose.
                treatment=loan.withholding_treatment,
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
            book.replay.add(
                ledger.Entry(
                    id=next_id,
                    kind=ledger.WITHHOLDING,
                    value_date=settled_on,
                    amount=amount,
                    treatment=loan.withholding_treatment,
                )
            )
            after = book.replay.state(as_of)
            recompute = book_derive(book, after, as_of)
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
    books_write(
        [book for book in books.values() if book.state is not None],
        {item.provisional_id: item.transaction.pk for item in made},
    )
    events: list[AuditEvent] = []
    for outcome, row_pending in zip(outcomes, pending, strict=True):
        for item in row_pending:
            if item.recompute is not None:
                events.append(
                    audit_event(actor="servicing", action="loan.recompute", obj=item.withholding.loan, **item.recompute)
                )
            events.append(
                audit_event(
                    actor=actor,
                    action="withholding.record",
                    obj=item.withholding,
                    after={**snapshot(item.withholding), "installments": item.installments},
                )
            )
        events.append(
            audit_event(
                actor=actor,
                action="settlement.post",
                obj=outcome.settlement,
                after={
                    **snapshot(outcome.settlement),
                    "withheld": outcome.withholding_amount,
                    "net_to_miner": outcome.net_to_miner,
                },
            )
        )
    insert_rows(events)
    # The miners' messages, for those who accept any (the settlements' miners are already loaded).
    told = [item for item in made if item.withholding.settlement.miner.accepts_messages]
    if told:
        queue_miner_notices(
            withholding_ids=[item.withholding.pk for item in told],
            loan_changes=[
                (item.withholding.loan_id, item.recompute["after"]) for item in told if item.recompute is not None
            ],
        )
    return outcomes


def withholdings_reverse(
    *, withholdings: list[Withholding], reason: str, actor: Any, settlement: Settlement, resolution: str
) -> Counter[int]:
    """Reverse locked ``withholdings`` (a REVERSAL transaction each, dated today): the remittance money
    matched to them goes back to its remittance as unmatched credit (the remittances are locked here,
    step 4 of the lock order), their open exceptions are resolved with ``resolution``. The caller holds
    the buyer, the loans and the withholdings, recomputes the loans and audits. Returns the money
    released per remittance."""
    matches = list(RemittanceMatch.objects.filter(withholding__in=withholdings).order_by("remittance_id", "id"))
    released = Counter[int]()
    for match in matches:
        released[match.remittance_id] += match.amount
    # Step 4: the remittances by id (step 5, the open exceptions, is the UPDATE further down).
    for remittance in Remittance.objects.select_for_update(no_key=True).filter(pk__in=released).order_by("id"):
        remittance.unmatched_amount += released[remittance.pk]
        remittance.reconciled_at = None
        remittance.save(update_fields=["unmatched_amount", "reconciled_at", "updated"])
    RemittanceMatch.objects.filter(pk__in=[m.pk for m in matches]).delete()
    today = servicing_today()
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
            recorded_by=actor_user(actor),
        )
        withholding.status = Withholding.Status.REVERSED
        withholding.remitted_amount = ZERO
        withholding.save(update_fields=["status", "remitted_amount", "updated"])
    ReconciliationException.objects.filter(
        withholding__in=withholdings, status=ReconciliationException.Status.OPEN
    ).update(
        status=ReconciliationException.Status.RESOLVED,
        resolved_at=timezone.now(),
        resolution_note=resolution,
        updated=timezone.now(),
    )
    return released


@transaction.atomic
def settlement_void(*, settlement: Settlement, actor: Any, reason: str) -> Settlement:
    """Anular: the buyer voids a settlement. Its withholdings are reversed (a REVERSAL transaction
    each, so the loans are recomputed as if they had never been), any remittance money matched to them
    is released back to the remittance as unmatched credit, and the settlement is marked void."""
    if not (reason or "").strip():
        raise ValidationError({"reason": _("A void needs a reason.")})
    # Lock order (``installments.services``), every lock FOR NO KEY UPDATE: nothing here deletes or
    # re-keys these rows, and FOR NO KEY UPDATE leaves alone the FOR KEY SHARE that a concurrent post
    # holds on the buyer (taken first, and again by its foreign-key checks at commit). A FOR UPDATE on
    # the buyer here made the post, holding the miner's loans, wait at commit for this void, which was
    # waiting for those loans: a deadlock. Still exclusive against other voids, remittances and the
    # reconciliation of this buyer.
    # Step 1: the buyer, then this settlement (a voided lot is not one a concurrent post touches).
    Buyer.objects.select_for_update(no_key=True).get(pk=settlement.buyer_id)
    settlement = Settlement.objects.select_for_update(no_key=True).get(pk=settlement.pk)
    if settlement.status == Settlement.Status.VOID:
        raise TransitionError(_("This settlement is already void."))
    withholdings = list(
        Withholding.objects.filter(settlement=settlement).exclude(status=Withholding.Status.REVERSED).order_by("id")
    )
    # Step 2: the loans by id; step 3: the withholdings by id.
    loans = list(
        Loan.objects.select_for_update(no_key=True).filter(id__in={w.loan_id for w in withholdings}).order_by("id")
    )
    withholdings = list(
        Withholding.objects.select_for_update(no_key=True).filter(pk__in=[w.pk for w in withholdings]).order_by("id")
    )
    released = withholdings_reverse(
        withholdings=withholdings, reason=reason, actor=actor, settlement=settlement, resolution="Settlement voided."
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
        queue_reconciliation(buyer_id=settlement.buyer_id)
    return settlement
