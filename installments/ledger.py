"""The servicing ledger: a loan's state replayed from its cronograma and its dated transactions.

Pure (no ORM), so it can be read next to DOMAIN.md §3 and §5 and tested by properties. The database
service ``installments.services.loan_recompute`` feeds it the loan's version-1 schedule and its whole
transaction log, and writes back what it returns.

Why replay instead of updating balances as money arrives: a payment dated in the past, a voided
settlement or a withholding that reaches us after a later direct payment must give *exactly* the state
the loan would have had if everything had arrived in date order (DOMAIN.md §5). Replaying the log in
date order makes that true by construction.

Replay order is ``(value_date, kind rank, amount, prepayment mode, id)``: disbursement first, then
payments and withholdings, then prepayments (a pago anticipado regenerates the cronograma, so the day's
ordinary payments settle against the schedule in force that morning). Amount and mode come before the
id so the order never depends on which of two same-day entries happened to be recorded first: entries
that still tie are identical in every respect the replay looks at, so swapping them cannot change any
line. That is what makes "any permutation of arrival order gives the same final state" hold, including
the per-transaction allocations up to swapping identical entries.

A reversal cancels its original: both are dropped before the replay, which is what "as if the
original never happened" means. Moratory-accrual entries carry no money and are ignored (moratory
interest is derived here, never posted).

Moratory interest (DOMAIN.md §3, Ley 31143) accrues per installment on its unpaid principal from the
day after its due date, at the loan's moratory TEA, never capitalized. The unpaid principal only
changes when a payment lands, so the accrual is computed segment by segment between the loan's
transaction dates, each segment ``money(p × ((1 + TEA)^(days/360) − 1))``. Each line reports the
moratory accrued through its last segment (``moratory_base`` / ``moratory_base_on``) so the nightly
batch job can extend it to any later date in SQL with the same formula and get the same figure.

Pago anticipado (more than two installments' worth, DOMAIN.md §3) on day ``d``:
1. pays everything exigible on ``d`` (installments due on or before ``d``, moratory included), oldest
   first, like any payment;
2. pays the interest and insurance of the current period accrued up to ``d`` (the rest of that
   period's interest is no longer owed: interest is reduced "al día del pago"); the current period's
   fee is not charged, the regenerated line for that due date carries it;
3. applies the rest to principal of the remaining installments in order;
4. regenerates the remaining cronograma from ``d`` with ``loans.schedule.reschedule_after_prepayment``
   (shorter term by default, or lower installment). The new lines keep the original installment
   numbers and form a new version; the old lines stay, superseded, as history.
If nothing reaches principal (the amount only covered arrears) no new version is made.

Known limits, kept on purpose: interest, insurance or fees already paid in advance on installments
after the current one (an adelanto followed by a pago anticipado in the same period) are not refunded
by the regeneration; an amount beyond everything owed is reported as ``unapplied`` and not allocated
(the services refuse such payments; a voided settlement can still leave one, and staff see it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from asmcredit.money import ZERO, money
from installments.allocation import COMPONENTS, InstallmentDue, allocate_in_order, moratory_interest
from loans.schedule import INSURANCE_PERIOD_DAYS, ScheduleLine, period_rate, reschedule_after_prepayment

DISBURSEMENT = "disbursement"
PAYMENT = "payment"
PREPAYMENT = "prepayment"
WITHHOLDING = "withholding"
REVERSAL = "reversal"
MORATORY_ACCRUAL = "moratory_accrual"

REDUCE_TERM = "reduce_term"
REDUCE_INSTALLMENT = "reduce_installment"

_KIND_RANK = {DISBURSEMENT: 0, PAYMENT: 1, WITHHOLDING: 1, PREPAYMENT: 2}

# The components of an installment's scheduled total (moratory interest comes on top).
SCHEDULED = ("interest", "insurance", "fees", "principal")

PENDING = "pending"
PARTIAL = "partial"
PAID = "paid"
OVERDUE = "overdue"


@dataclass(frozen=True)
class LedgerTerms:
    """What the replay needs besides the lines. Rates are fractions (0.40 for a TEA of 40%).

    ``installment`` is the cuota fija (principal + interest) of the original cronograma; a pago
    anticipado with a shorter term keeps it, one with a lower installment replaces it.
    """

    disbursed_on: date
    tea: Decimal
    moratory_tea: Decimal
    installment: Decimal
    insurance_monthly_rate: Decimal = Decimal(0)
    fee_per_installment: Decimal = Decimal(0)


# One installment as the cronograma states it (the figures, not what was paid): the schedule module's
# own line, so a cronograma rebuilt after a prepayment is replayed as it comes.
PlannedLine = ScheduleLine


@dataclass(frozen=True)
class Entry:
    """A transaction of the loan's log as the replay sees it."""

    id: int
    kind: str
    value_date: date
    amount: Decimal
    reverses: int | None = None
    prepayment_mode: str = ""

    @property
    def sort_key(self) -> tuple[date, int, Decimal, str, int]:
        return (self.value_date, _KIND_RANK.get(self.kind, 9), self.amount, self.prepayment_mode, self.id)


@dataclass(frozen=True)
class AllocationResult:
    entry_id: int
    version: int
    number: int
    component: str
    amount: Decimal


@dataclass(frozen=True)
class VersionInfo:
    """A cronograma version: 1 is the original; later ones come from a pago anticipado."""

    version: int
    effective_on: date
    installment: Decimal
    entry_id: int | None = None
    mode: str = ""


@dataclass(frozen=True)
class LineResult:
    version: int
    is_current: bool
    plan: PlannedLine
    paid_principal: Decimal
    paid_interest: Decimal
    paid_insurance: Decimal
    paid_fees: Decimal
    paid_moratory: Decimal
    moratory_accrued: Decimal
    moratory_base: Decimal
    moratory_base_on: date
    paid_on: date | None
    status: str

    @property
    def number(self) -> int:
        return self.plan.number

    @property
    def due_on(self) -> date:
        return self.plan.due_on

    @property
    def remaining_scheduled(self) -> Decimal:
        """What is left of the installment's scheduled total (principal, interest, insurance, fees)."""
        p = self.plan
        return (
            p.principal
            - self.paid_principal
            + p.interest
            - self.paid_interest
            + p.insurance
            - self.paid_insurance
            + p.fees
            - self.paid_fees
        )

    @property
    def moratory_due(self) -> Decimal:
        return self.moratory_accrued - self.paid_moratory

    @property
    def remaining(self) -> Decimal:
        return self.remaining_scheduled + self.moratory_due

    def remaining_by_component(self) -> dict[str, Decimal]:
        p = self.plan
        return {
            "moratory": self.moratory_due,
            "interest": p.interest - self.paid_interest,
            "insurance": p.insurance - self.paid_insurance,
            "fees": p.fees - self.paid_fees,
            "principal": p.principal - self.paid_principal,
        }


@dataclass(frozen=True)
class LedgerState:
    """A loan as of ``as_of`` after replaying its whole log."""

    as_of: date
    lines: tuple[LineResult, ...]
    allocations: tuple[AllocationResult, ...]
    versions: tuple[VersionInfo, ...]
    unapplied: Decimal

    @property
    def current_version(self) -> int:
        return self.versions[-1].version

    @property
    def installment(self) -> Decimal:
        return self.versions[-1].installment

    @property
    def current_lines(self) -> tuple[LineResult, ...]:
        return tuple(line for line in self.lines if line.is_current)

    @property
    def outstanding_principal(self) -> Decimal:
        return sum((line.plan.principal - line.paid_principal for line in self.current_lines), ZERO)

    @property
    def moratory_outstanding(self) -> Decimal:
        return sum((line.moratory_due for line in self.current_lines), ZERO)

    @property
    def overdue_amount(self) -> Decimal:
        """Past-due installment amounts plus unpaid moratory interest: what makes the loan current."""
        late = sum((line.remaining_scheduled for line in self.current_lines if line.due_on < self.as_of), ZERO)
        return late + self.moratory_outstanding

    @property
    def days_past_due(self) -> int:
        """Days since the due date of the oldest unpaid installment (DOMAIN.md §6); 0 when current."""
        unpaid = [line.due_on for line in self.current_lines if line.remaining_scheduled > 0]
        oldest = min(unpaid, default=None)
        if oldest is None or oldest >= self.as_of:
            return 0
        return (self.as_of - oldest).days

    @property
    def next_due_on(self) -> date | None:
        """The next due date from ``as_of`` on, whether or not it is already paid in advance."""
        return min((line.due_on for line in self.current_lines if line.due_on >= self.as_of), default=None)

    @property
    def paid_off(self) -> bool:
        return all(line.remaining <= 0 for line in self.current_lines)

    def amount_due(self) -> Decimal:
        """What a buyer should withhold on ``as_of`` (DOMAIN.md §5): everything overdue plus what falls
        due by the next due date, less what was already paid toward it, moratory interest included."""
        horizon = self.next_due_on
        return sum(
            (line.remaining for line in self.current_lines if horizon is None or line.due_on <= horizon),
            ZERO,
        )

    def exigible(self) -> Decimal:
        """Everything due on or before ``as_of`` (moratory included)."""
        return sum((line.remaining for line in self.current_lines if line.due_on <= self.as_of), ZERO)

    def upcoming_totals(self) -> list[Decimal]:
        """What is left of each installment falling due after ``as_of``, in order."""
        return [line.remaining_scheduled for line in self.current_lines if line.due_on > self.as_of]

    def payoff_amount(self, terms: LedgerTerms) -> Decimal:
        """Cancelación total on ``as_of``: what is exigible, the current period's interest and insurance
        accrued so far, and the principal of the installments not yet due (DOMAIN.md §3)."""
        future = [line for line in self.current_lines if line.due_on > self.as_of]
        charges = ZERO
        if future:
            first = future[0]
            accrued = current_period_charges(terms, first.plan, self.as_of)
            charges = max(accrued["interest"] - first.paid_interest, ZERO) + max(
                accrued["insurance"] - first.paid_insurance, ZERO
            )
        principal = sum((line.plan.principal - line.paid_principal for line in future), ZERO)
        return self.exigible() + charges + principal

    def allocations_for(self, entry_id: int) -> list[AllocationResult]:
        return [allocation for allocation in self.allocations if allocation.entry_id == entry_id]


def current_period_charges(terms: LedgerTerms, line: PlannedLine, on: date) -> dict[str, Decimal]:
    """Interest and insurance of ``line``'s period accrued from its start to ``on`` (never beyond the
    line's own figures), on the scheduled opening balance — the basis a pago anticipado settles."""
    start = date.fromordinal(line.due_on.toordinal() - line.days)
    elapsed = max((on - start).days, 0)
    if elapsed >= line.days:
        return {"interest": line.interest, "insurance": line.insurance}
    interest = money(line.opening_balance * period_rate(terms.tea, elapsed)) if elapsed else ZERO
    insurance = money(Decimal(terms.insurance_monthly_rate) * line.opening_balance * elapsed / INSURANCE_PERIOD_DAYS)
    return {"interest": min(interest, line.interest), "insurance": min(insurance, line.insurance)}


@dataclass
class _Line:
    version: int
    plan: PlannedLine
    paid: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, ZERO))
    moratory: Decimal = ZERO
    accrued_on: date | None = None
    paid_on: date | None = None
    superseded: bool = False

    def unpaid_principal(self) -> Decimal:
        return self.plan.principal - self.paid["principal"]

    def due(self) -> InstallmentDue:
        p = self.plan
        return InstallmentDue(
            number=p.number,
            due_on=p.due_on,
            moratory=self.moratory - self.paid["moratory"],
            interest=p.interest - self.paid["interest"],
            insurance=p.insurance - self.paid["insurance"],
            fees=p.fees - self.paid["fees"],
            principal=p.principal - self.paid["principal"],
        )

    def settled(self) -> bool:
        """Nothing left on the line (``due().total <= 0``, without building the InstallmentDue)."""
        p, paid = self.plan, self.paid
        left = (
            self.moratory
            - paid["moratory"]
            + p.interest
            - paid["interest"]
            + p.insurance
            - paid["insurance"]
            + p.fees
            - paid["fees"]
            + p.principal
            - paid["principal"]
        )
        return left <= 0

    def accrue(self, moratory_tea: Decimal, on: date) -> None:
        start = max(self.plan.due_on, self.accrued_on or self.plan.due_on)
        unpaid = self.unpaid_principal()
        if on > start and unpaid > 0:
            self.moratory += moratory_interest(unpaid, moratory_tea, (on - start).days)
            self.accrued_on = on


def _line_order(line: _Line) -> tuple[date, int]:
    return line.plan.due_on, line.plan.number


class _Replay:
    def __init__(self, terms: LedgerTerms, lines: Sequence[PlannedLine]) -> None:
        self.terms = terms
        self.lines = [_Line(1, plan) for plan in sorted(lines, key=lambda p: (p.due_on, p.number))]
        self.version = 1
        self.versions = [VersionInfo(1, terms.disbursed_on, money(terms.installment))]
        self.allocations: list[AllocationResult] = []
        self.unapplied = ZERO

    def current(self) -> list[_Line]:
        return [line for line in self.lines if line.version == self.version]

    def accrue(self, on: date) -> None:
        moratory_tea = Decimal(self.terms.moratory_tea)
        for line in self.current():
            # Only a line past due with something unpaid accrues (``_Line.accrue`` does nothing otherwise).
            if line.plan.due_on < on and line.paid_on is None:
                line.accrue(moratory_tea, on)

    def record(self, entry: Entry, line: _Line, component: str, amount: Decimal) -> None:
        if amount <= 0:
            return
        line.paid[component] += amount
        self.allocations.append(AllocationResult(entry.id, line.version, line.plan.number, component, amount))
        if line.paid_on is None and line.settled():
            line.paid_on = entry.value_date

    def pay(self, entry: Entry, amount: Decimal, lines: Sequence[_Line]) -> Decimal:
        """The imputación de pagos of DOMAIN.md §3 over ``lines``; returns what is left."""
        # A line paid in full stays so (no principal left, no moratory accrues), so the allocation would
        # pass over it; and what is owed on a line is worked out only when the money reaches it. A long
        # log is replayed on every post, so this keeps each entry's cost to the lines it pays.
        lines = sorted((line for line in lines if line.paid_on is None), key=_line_order)
        by_number = {line.plan.number: line for line in lines}
        parts, left = allocate_in_order(amount, (line.due() for line in lines))
        for part in parts:
            self.record(entry, by_number[part.number], part.component, part.amount)
        return left

    def apply(self, entry: Entry) -> None:
        if entry.kind in (PAYMENT, WITHHOLDING):
            self.accrue(entry.value_date)
            self.unapplied += self.pay(entry, entry.amount, self.current())
        elif entry.kind == PREPAYMENT:
            self.prepay(entry)

    def prepay(self, entry: Entry) -> None:
        day = entry.value_date
        self.accrue(day)
        current = self.current()
        left = self.pay(entry, entry.amount, [line for line in current if line.plan.due_on <= day])
        future = [line for line in current if line.plan.due_on > day]
        if left <= 0:
            return
        if not future:
            self.unapplied += left
            return
        first = future[0]
        accrued = current_period_charges(self.terms, first.plan, day)
        for component in ("interest", "insurance"):
            applied = min(max(accrued[component] - first.paid[component], ZERO), left)
            self.record(entry, first, component, applied)
            left -= applied
        to_principal = ZERO
        for line in future:
            applied = min(line.unpaid_principal(), left)
            self.record(entry, line, "principal", applied)
            left -= applied
            to_principal += applied
        self.unapplied += left
        if to_principal <= 0:
            return
        balance = sum((line.unpaid_principal() for line in future), ZERO)
        mode = entry.prepayment_mode or REDUCE_TERM
        new_plan = reschedule_after_prepayment(
            balance=balance,
            tea=Decimal(self.terms.tea),
            paid_on=day,
            remaining_due_dates=[line.plan.due_on for line in future],
            current_installment=self.versions[-1].installment,
            mode=mode,  # type: ignore[arg-type]
            insurance_monthly_rate=Decimal(self.terms.insurance_monthly_rate),
            fee_per_installment=Decimal(self.terms.fee_per_installment),
            first_number=first.plan.number,
        )
        installment = self.versions[-1].installment
        if mode == REDUCE_INSTALLMENT and new_plan:
            installment = new_plan[0].principal + new_plan[0].interest
        for line in current:
            line.superseded = True
        self.version += 1
        self.versions.append(VersionInfo(self.version, day, installment, entry.id, mode))
        self.lines.extend(_Line(self.version, plan) for plan in new_plan)

    def result(self, as_of: date) -> LedgerState:
        moratory_tea = Decimal(self.terms.moratory_tea)
        results = []
        for line in self.lines:
            is_current = line.version == self.version
            base_on = max(line.plan.due_on, line.accrued_on or line.plan.due_on)
            accrued = line.moratory
            if is_current and as_of > base_on and line.unpaid_principal() > 0:
                accrued += moratory_interest(line.unpaid_principal(), moratory_tea, (as_of - base_on).days)
            results.append(
                LineResult(
                    version=line.version,
                    is_current=is_current,
                    plan=line.plan,
                    paid_principal=line.paid["principal"],
                    paid_interest=line.paid["interest"],
                    paid_insurance=line.paid["insurance"],
                    paid_fees=line.paid["fees"],
                    paid_moratory=line.paid["moratory"],
                    moratory_accrued=accrued,
                    moratory_base=line.moratory,
                    moratory_base_on=base_on,
                    paid_on=line.paid_on if line.settled() else None,
                    status=_status(line, accrued, as_of, is_current),
                )
            )
        results.sort(key=lambda r: (r.version, r.plan.number))
        return LedgerState(
            as_of=as_of,
            lines=tuple(results),
            allocations=tuple(self.allocations),
            versions=tuple(self.versions),
            unapplied=self.unapplied,
        )


def _status(line: _Line, moratory: Decimal, as_of: date, is_current: bool) -> str:
    scheduled_left = sum((getattr(line.plan, c) - line.paid[c] for c in SCHEDULED), ZERO)
    if scheduled_left <= 0 and moratory - line.paid["moratory"] <= 0:
        return PAID
    if is_current and line.plan.due_on < as_of:
        return OVERDUE
    if any(line.paid[c] > 0 for c in COMPONENTS):
        return PARTIAL
    return PENDING


def effective_entries(entries: Iterable[Entry]) -> list[Entry]:
    """The entries that move money, in replay order: reversals and what they reverse are dropped."""
    entries = list(entries)
    reversed_ids = {entry.reverses for entry in entries if entry.kind == REVERSAL and entry.reverses is not None}
    kept = [
        entry
        for entry in entries
        if entry.kind in _KIND_RANK and entry.id not in reversed_ids and entry.kind != MORATORY_ACCRUAL
    ]
    return sorted(kept, key=lambda entry: entry.sort_key)


def replay(*, terms: LedgerTerms, lines: Sequence[PlannedLine], entries: Iterable[Entry], as_of: date) -> LedgerState:
    """Replay ``entries`` over the cronograma ``lines`` (version 1) and report the state on ``as_of``.

    Every entry is replayed, including any dated after ``as_of``; ``as_of`` only sets how far moratory
    interest is accrued and which installments count as overdue.
    """
    engine = _Replay(terms, lines)
    for entry in effective_entries(entries):
        engine.apply(entry)
    return engine.result(as_of)


def entries_until(entries: Iterable[Entry], until: date) -> list[Entry]:
    """The log as it stood for a day: entries dated up to ``until``. A reversal dated later still
    cancels its original: what was voided never counts."""
    entries = list(entries)
    voided = {entry.reverses for entry in entries if entry.kind == REVERSAL}
    return [entry for entry in entries if entry.value_date <= until and entry.id not in voided]


class IncrementalReplay:
    """A loan's log replayed once and kept, so that a payment or withholding that sorts after everything
    already applied is added without replaying the log again.

    Replaying is sequential and deterministic, so applying one more entry to the engine that replayed
    entries ``e1 … en`` is exactly ``replay(e1 … en, e)`` whenever ``e`` comes last in replay order. That
    is the common case: settlements arrive in date order. Anything else (a backdated entry, a same-day
    entry that sorts before one already applied, a reversal, a prepayment) replays the whole log again,
    so the state is always the one ``replay`` gives.
    """

    def __init__(self, *, terms: LedgerTerms, lines: Sequence[PlannedLine], entries: Iterable[Entry]) -> None:
        self.terms = terms
        self.lines = tuple(lines)
        self.entries = list(entries)
        self.full_replays = 0
        self._rebuild()

    def _rebuild(self) -> None:
        self._engine = _Replay(self.terms, self.lines)
        self._effective = effective_entries(self.entries)
        for entry in self._effective:
            self._engine.apply(entry)
        self.full_replays += 1

    def state(self, as_of: date) -> LedgerState:
        """``replay`` of the whole log on ``as_of``."""
        return self._engine.result(as_of)

    def state_on(self, on: date) -> LedgerState:
        """The loan as it stood on ``on`` with everything dated up to that day (``replay`` of
        ``entries_until(on)`` on ``on``); no new replay when nothing in the log is dated later."""
        if all(entry.value_date <= on for entry in self._effective):
            return self._engine.result(on)
        return replay(terms=self.terms, lines=self.lines, entries=entries_until(self.entries, on), as_of=on)

    def follows(self, entry: Entry) -> bool:
        """Whether ``entry`` can be applied on top of the current state: an ordinary payment or
        withholding that comes after every entry already applied in replay order."""
        return entry.kind in (PAYMENT, WITHHOLDING) and (
            not self._effective or entry.sort_key > self._effective[-1].sort_key
        )

    def add(self, entry: Entry) -> bool:
        """Add ``entry`` to the log; True when it was applied incrementally, False when the whole log
        was replayed again."""
        incremental = self.follows(entry)
        self.entries.append(entry)
        if incremental:
            self._engine.apply(entry)
            self._effective.append(entry)
        else:
            self._rebuild()
        return incremental
