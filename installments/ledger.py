"""The servicing ledger: a loan's state replayed from its cronograma and its dated transactions.

Pure (no ORM), so it can be read next to DOMAIN.md §3 and §5 and tested by properties. The database
service ``installments.services.loan_recompute`` feeds it the loan's version-1 schedule and its whole
transaction log, and writes back what it returns.

Why replay instead of updating balances as money arrives: a payment dated in the past, a voided
settlement or a withholding that reaches us after a later direct payment must give *exactly* the state
the loan would have had if everything had arrived in date order (DOMAIN.md §5). Replaying the log in
date order makes that true by construction. Every decision that depends on the loan's state — adelanto
or pago anticipado, payoff, what is credited back — is taken here, on the state of the entry's own day,
never by the service that recorded it, so the arrival order cannot change it.

Replay order is ``(value_date, kind rank, amount, prepayment mode, treatment, id)``: disbursement first,
then payments and withholdings, then payments recorded as pagos anticipados, then uses of an
overpayment credit. Amount, mode and treatment come before the id so the order never depends on which of
two same-day entries happened to be recorded first: entries that still tie are identical in every
respect the replay looks at.

A reversal cancels its original: both are dropped before the replay ("as if the original never
happened"). Moratory-accrual entries carry no money and are ignored.

**Treatment** of a payment or withholding on day ``d`` (DOMAIN.md §3, SBS Res. 3274-2017 art. 29):
- an amount that reaches the payoff of that day is a cancelación total, always a pago anticipado;
- otherwise the entry's ``treatment`` decides: ``pago_anticipado`` or ``adelanto`` when the borrower
  asked for it (a withholding carries the loan's standing instruction), ``auto`` by the rule: more than
  two installments *counting the exigible one* is a pago anticipado. The first of the two is what is
  exigible — the installments due on or before ``d`` (all the overdue ones), or the next one due when
  none is — and the second the installment after it. The threshold is what is left of those, late
  charges included; an amount strictly above it is a pago anticipado. So the buyer's ordinary
  withholding (everything overdue plus the next installment, DOMAIN.md §5) is never a pago anticipado
  by itself.

**Late charges** (Ley 31143): from the day after its due date, the unpaid principal of an installment
accrues compensatory interest at the TEA (``late_interest``) and, on top, moratory interest at the
moratory TEA, both linear by day at the equivalent daily rate, ``p × i₁ × d``, never on interest. They
are summed unrounded (to ``ACCRUAL_PLACES``) and rounded once where stored or paid, so the figure does
not depend on how many payments arrive in between. Each line reports the accruals through its last
segment (``*_base`` / ``moratory_base_on``) so the nightly job extends them in SQL with the same formula.

**Pago anticipado** on day ``d``:
1. pays everything exigible on ``d`` (installments due on or before ``d``, late charges included);
2. credits back what was already paid for days after ``d`` on the installments not yet due — their
   interest and insurance beyond what accrued up to ``d`` and their fees (no fee is owed for an
   installment not yet due, and the regenerated cronograma charges each remaining one once): the money
   an earlier adelanto put there is re-imputed, under that earlier entry, to principal;
3. pays the current period's interest and insurance accrued up to ``d`` (interest is reduced "al día del
   pago") and applies the rest, with what was credited back, to principal in order;
4. regenerates the remaining cronograma from ``d`` with ``loans.schedule.reschedule_after_prepayment``
   (shorter term by default, or lower installment); the old lines stay, superseded, as history.
``payoff`` is exactly what steps 1–3 need to leave no principal: a payment of that amount closes the
loan at zero whatever number of installments remained.

**Overpayment**: money beyond everything owed (a backdated settlement, a replay after a void) is never
dropped: it is allocated to the ``overpayment`` component (a credit in the miner's favour) under the
entry that brought it; a refund or a transfer to another loan uses the credit up.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from asmcredit.money import ZERO, money
from installments.allocation import COMPONENTS, InstallmentDue, allocate_in_order, late_accrual
from loans.schedule import (
    INSURANCE_PERIOD_DAYS,
    RescheduleOptions,
    ScheduleLine,
    period_rate,
    reschedule_after_prepayment,
    reschedule_for_event,
)

DISBURSEMENT = "disbursement"
PAYMENT = "payment"
PREPAYMENT = "prepayment"
WITHHOLDING = "withholding"
REVERSAL = "reversal"
MORATORY_ACCRUAL = "moratory_accrual"
CREDIT_REFUND = "credit_refund"
CREDIT_TRANSFER = "credit_transfer"
RESCHEDULE = "reschedule"
# The payoff of a refinanced loan, paid by the new loan's principal (no cash moves): always a pago
# anticipado for the payoff of its day, last among that day's entries, so it closes the loan at zero.
REFINANCE = "refinance"

REDUCE_TERM = "reduce_term"
REDUCE_INSTALLMENT = "reduce_installment"

# What the borrower (or the loan's standing instruction, for a withholding) asked for.
AUTO = "auto"
PAGO_ANTICIPADO = "pago_anticipado"
ADELANTO = "adelanto"
TREATMENTS = (AUTO, PAGO_ANTICIPADO, ADELANTO)

# Money beyond everything owed: a credit in the miner's favour (version 0, number 0: no installment).
OVERPAYMENT = "overpayment"

_KIND_RANK = {
    DISBURSEMENT: 0,
    PAYMENT: 1,
    WITHHOLDING: 1,
    PREPAYMENT: 2,
    CREDIT_REFUND: 3,
    CREDIT_TRANSFER: 3,
    # A reprogramación takes effect after the day's money: it reschedules what is left that day.
    RESCHEDULE: 4,
    # A refinancing closes the loan last of all on its day: its payoff is what the new loan takes over.
    REFINANCE: 5,
}
_PAYING = (PAYMENT, WITHHOLDING, PREPAYMENT, REFINANCE)

# The components of an installment's scheduled total (late charges come on top).
SCHEDULED = ("interest", "deferred_interest", "insurance", "fees", "principal")
# What a pago anticipado credits back on an installment not yet due.
CREDITABLE = ("interest", "insurance", "fees")

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
    treatment: str = AUTO
    # A reprogramación's chosen option (kind ``RESCHEDULE`` only).
    reschedule: RescheduleOptions | None = None

    @property
    def sort_key(self) -> tuple[date, int, Decimal, str, str, int]:
        return (
            self.value_date,
            _KIND_RANK.get(self.kind, 9),
            self.amount,
            self.prepayment_mode,
            self.treatment,
            self.id,
        )


@dataclass(frozen=True)
class AllocationResult:
    entry_id: int
    version: int
    number: int
    component: str
    amount: Decimal


@dataclass(frozen=True)
class VersionInfo:
    """A cronograma version: 1 is the original; later ones come from a pago anticipado (``mode`` is its
    prepayment mode) or a reprogramación (``mode`` is ``RESCHEDULE``)."""

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
    paid_late_interest: Decimal = ZERO
    late_interest_accrued: Decimal = ZERO
    late_interest_base: Decimal = ZERO
    paid_deferred_interest: Decimal = ZERO

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
            + p.deferred_interest
            - self.paid_deferred_interest
            + p.insurance
            - self.paid_insurance
            + p.fees
            - self.paid_fees
        )

    @property
    def moratory_due(self) -> Decimal:
        return self.moratory_accrued - self.paid_moratory

    @property
    def late_interest_due(self) -> Decimal:
        return self.late_interest_accrued - self.paid_late_interest

    @property
    def remaining(self) -> Decimal:
        return self.remaining_scheduled + self.moratory_due + self.late_interest_due

    def paid(self, component: str) -> Decimal:
        return getattr(self, f"paid_{component}")  # type: ignore[no-any-return]

    def remaining_by_component(self) -> dict[str, Decimal]:
        p = self.plan
        return {
            "moratory": self.moratory_due,
            "late_interest": self.late_interest_due,
            "interest": p.interest - self.paid_interest,
            "deferred_interest": p.deferred_interest - self.paid_deferred_interest,
            "insurance": p.insurance - self.paid_insurance,
            "fees": p.fees - self.paid_fees,
            "principal": p.principal - self.paid_principal,
        }


@dataclass(frozen=True)
class PayoffQuote:
    """Cancelación total on ``on`` (DOMAIN.md §3): what is exigible (late charges included), the
    principal not yet due, the current period's interest and insurance accrued to the day, less what
    was already paid for days after it (credited back), and the interest a reprogramación deferred that is
    still unpaid on the installments not yet due (it accrued during the holiday, so it is owed in full).
    ``total`` closes the loan at zero that day."""

    on: date
    exigible: Decimal
    exigible_by_component: dict[str, Decimal]
    principal: Decimal
    interest: Decimal
    insurance: Decimal
    credit_back: Decimal
    deferred_interest: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        owed = self.exigible + self.principal + self.interest + self.deferred_interest + self.insurance
        return max(owed - self.credit_back, ZERO)


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


def future_credit(terms: LedgerTerms, future: Sequence[LineResult], on: date) -> list[tuple[int, str, Decimal]]:
    """What was paid on the installments not yet due on ``on`` for days after it, as
    ``(index in future, component, amount)``: on the first, interest and insurance beyond what accrued
    up to ``on``; on all of them, the fees; on the later ones, all their interest and insurance."""
    parts: list[tuple[int, str, Decimal]] = []
    for index, line in enumerate(future):
        accrued = current_period_charges(terms, line.plan, on) if index == 0 else {"interest": ZERO, "insurance": ZERO}
        for component in CREDITABLE:
            owed = accrued.get(component, ZERO)
            excess = line.paid(component) - owed
            if excess > 0:
                parts.append((index, component, excess))
    return parts


def payoff_quote(terms: LedgerTerms, lines: Sequence[LineResult], on: date) -> PayoffQuote:
    """``PayoffQuote`` over a loan's current ``lines`` as they stand on ``on``."""
    exigible_lines = [line for line in lines if line.due_on <= on]
    future = sorted((line for line in lines if line.due_on > on), key=lambda line: (line.due_on, line.number))
    by_component = dict.fromkeys(COMPONENTS, ZERO)
    for line in exigible_lines:
        for component, amount in line.remaining_by_component().items():
            by_component[component] += max(amount, ZERO)
    interest = insurance = ZERO
    if future:
        first = future[0]
        accrued = current_period_charges(terms, first.plan, on)
        interest = max(accrued["interest"] - first.paid_interest, ZERO)
        insurance = max(accrued["insurance"] - first.paid_insurance, ZERO)
    return PayoffQuote(
        on=on,
        exigible=sum(by_component.values(), ZERO),
        exigible_by_component=by_component,
        principal=sum((line.plan.principal - line.paid_principal for line in future), ZERO),
        interest=interest,
        insurance=insurance,
        credit_back=sum((amount for _index, _component, amount in future_credit(terms, future, on)), ZERO),
        deferred_interest=sum((line.plan.deferred_interest - line.paid_deferred_interest for line in future), ZERO),
    )


def adelanto_threshold(lines: Sequence[LineResult], on: date) -> Decimal:
    """The most a payment on ``on`` can be and still be an adelanto de cuotas (DOMAIN.md §3): what is
    left of two installments counting the exigible one — what is exigible (every unpaid installment due
    on or before ``on``, or else the next one due) and the installment after it."""
    unpaid = sorted((line for line in lines if line.remaining > 0), key=lambda line: (line.due_on, line.number))
    exigible = sum(1 for line in unpaid if line.due_on <= on)
    return sum((line.remaining for line in unpaid[: max(2, exigible + 1)]), ZERO)


def resolve_treatment(*, amount: Decimal, treatment: str, payoff: Decimal, threshold: Decimal) -> str:
    """``PAGO_ANTICIPADO`` or ``ADELANTO`` for a payment of ``amount`` (see the module's docstring)."""
    if payoff > 0 and amount >= payoff:
        return PAGO_ANTICIPADO
    if treatment in (PAGO_ANTICIPADO, ADELANTO):
        return treatment
    return PAGO_ANTICIPADO if amount > threshold else ADELANTO


@dataclass(frozen=True)
class LedgerState:
    """A loan as of ``as_of`` after replaying its whole log."""

    as_of: date
    lines: tuple[LineResult, ...]
    allocations: tuple[AllocationResult, ...]
    versions: tuple[VersionInfo, ...]
    unapplied: Decimal
    terms: LedgerTerms | None = None
    credit_used: Decimal = ZERO
    treatments: tuple[tuple[int, str], ...] = ()

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
    def late_interest_outstanding(self) -> Decimal:
        """Compensatory interest accrued on overdue principal and not yet paid."""
        return sum((line.late_interest_due for line in self.current_lines), ZERO)

    @property
    def overpayment_credit(self) -> Decimal:
        """Money received beyond everything owed and not yet refunded or applied elsewhere."""
        return self.unapplied - self.credit_used

    @property
    def overdue_amount(self) -> Decimal:
        """Past-due installment amounts plus unpaid late charges: what makes the loan current."""
        late = sum((line.remaining_scheduled for line in self.current_lines if line.due_on < self.as_of), ZERO)
        return late + self.moratory_outstanding + self.late_interest_outstanding

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
        due by the next due date, less what was already paid toward it, late charges included."""
        horizon = self.next_due_on
        return sum(
            (line.remaining for line in self.current_lines if horizon is None or line.due_on <= horizon),
            ZERO,
        )

    def exigible(self) -> Decimal:
        """Everything due on or before ``as_of`` (late charges included)."""
        return sum((line.remaining for line in self.current_lines if line.due_on <= self.as_of), ZERO)

    def upcoming_totals(self) -> list[Decimal]:
        """What is left of each installment falling due after ``as_of``, in order."""
        return [line.remaining_scheduled for line in self.current_lines if line.due_on > self.as_of]

    def payoff(self, terms: LedgerTerms | None = None) -> PayoffQuote:
        terms = terms or self.terms
        assert terms is not None, "a payoff needs the loan's terms"
        return payoff_quote(terms, self.current_lines, self.as_of)

    def payoff_amount(self, terms: LedgerTerms | None = None) -> Decimal:
        """Cancelación total on ``as_of``: the amount that closes the loan that day."""
        return self.payoff(terms).total

    def adelanto_threshold(self) -> Decimal:
        return adelanto_threshold(self.current_lines, self.as_of)

    def treatment_for(self, amount: Decimal, treatment: str = AUTO, terms: LedgerTerms | None = None) -> str:
        """How a payment of ``amount`` on ``as_of`` would be applied, after everything replayed."""
        return resolve_treatment(
            amount=amount, treatment=treatment, payoff=self.payoff_amount(terms), threshold=self.adelanto_threshold()
        )

    def treatment_of(self, entry_id: int) -> str | None:
        """How the replay applied the paying entry ``entry_id`` (``PAGO_ANTICIPADO`` or ``ADELANTO``)."""
        return dict(self.treatments).get(entry_id)

    def allocations_for(self, entry_id: int) -> list[AllocationResult]:
        return [allocation for allocation in self.allocations if allocation.entry_id == entry_id]


@dataclass
class _Line:
    version: int
    plan: PlannedLine
    paid: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(COMPONENTS, ZERO))
    # Late charges summed unrounded (to ``ACCRUAL_PLACES``) through ``accrued_on``.
    late: Decimal = Decimal(0)
    moratory: Decimal = Decimal(0)
    accrued_on: date | None = None
    paid_on: date | None = None

    def unpaid_principal(self) -> Decimal:
        return self.plan.principal - self.paid["principal"]

    def due(self) -> InstallmentDue:
        p = self.plan
        return InstallmentDue(
            number=p.number,
            due_on=p.due_on,
            moratory=money(self.moratory) - self.paid["moratory"],
            late_interest=money(self.late) - self.paid["late_interest"],
            interest=p.interest - self.paid["interest"],
            deferred_interest=p.deferred_interest - self.paid["deferred_interest"],
            insurance=p.insurance - self.paid["insurance"],
            fees=p.fees - self.paid["fees"],
            principal=p.principal - self.paid["principal"],
        )

    def settled(self) -> bool:
        """Nothing left on the line (``due().total <= 0``, without building the InstallmentDue)."""
        return self.left() <= 0

    def left(self) -> Decimal:
        """What is left on the line, late charges accrued so far included (``due().total``)."""
        p, paid = self.plan, self.paid
        return (
            money(self.moratory)
            - paid["moratory"]
            + money(self.late)
            - paid["late_interest"]
            + p.interest
            - paid["interest"]
            + p.deferred_interest
            - paid["deferred_interest"]
            + p.insurance
            - paid["insurance"]
            + p.fees
            - paid["fees"]
            + p.principal
            - paid["principal"]
        )

    def carried(self, version: int) -> _Line:
        """This line in a new cronograma ``version`` (a reprogramación), as it stands: what is left of
        each figure, its late charges accrued so far (less what was paid of them) still accruing from
        the same base, so the arrears and their days past due carry on unchanged."""
        p, paid = self.plan, self.paid
        left = {c: getattr(p, c) - paid[c] for c in SCHEDULED}
        plan = replace(p, **left, total=sum(left.values(), ZERO))
        return _Line(
            version,
            plan,
            late=self.late - paid["late_interest"],
            moratory=self.moratory - paid["moratory"],
            accrued_on=self.accrued_on,
        )

    def base_on(self) -> date:
        return max(self.plan.due_on, self.accrued_on or self.plan.due_on)

    def accrued_to(self, terms: LedgerTerms, on: date) -> tuple[Decimal, Decimal]:
        """The unrounded late charges (compensatory, moratory) accrued through ``on``."""
        start = self.base_on()
        unpaid = self.unpaid_principal()
        if on <= start or unpaid <= 0:
            return self.late, self.moratory
        days = (on - start).days
        return (
            self.late + late_accrual(unpaid, Decimal(terms.tea), days),
            self.moratory + late_accrual(unpaid, Decimal(terms.moratory_tea), days),
        )

    def accrue(self, terms: LedgerTerms, on: date) -> None:
        if on > self.base_on() and self.unpaid_principal() > 0:
            self.late, self.moratory = self.accrued_to(terms, on)
            self.accrued_on = on

    def result(self, terms: LedgerTerms, as_of: date, is_current: bool) -> LineResult:
        late, moratory = self.accrued_to(terms, as_of) if is_current else (self.late, self.moratory)
        late_money, moratory_money = money(late), money(moratory)
        paid = self.paid
        return LineResult(
            version=self.version,
            is_current=is_current,
            plan=self.plan,
            paid_principal=paid["principal"],
            paid_interest=paid["interest"],
            paid_insurance=paid["insurance"],
            paid_fees=paid["fees"],
            paid_moratory=paid["moratory"],
            moratory_accrued=moratory_money,
            moratory_base=self.moratory,
            moratory_base_on=self.base_on(),
            paid_on=self.paid_on if self.settled() else None,
            status=_status(self, moratory_money + late_money, as_of, is_current),
            paid_late_interest=paid["late_interest"],
            late_interest_accrued=late_money,
            late_interest_base=self.late,
            paid_deferred_interest=paid["deferred_interest"],
        )


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
        self.credit_used = ZERO
        self.treatments: list[tuple[int, str]] = []
        self._current: list[_Line] | None = None

    def current(self) -> list[_Line]:
        if self._current is None:
            self._current = [line for line in self.lines if line.version == self.version]
        return self._current

    def accrue(self, on: date) -> None:
        for line in self.current():
            # Only a line past due with something unpaid accrues (``_Line.accrue`` does nothing otherwise).
            if line.plan.due_on < on and line.paid_on is None:
                line.accrue(self.terms, on)

    def record(self, entry_id: int, line: _Line, component: str, amount: Decimal, on: date) -> None:
        if amount <= 0:
            return
        line.paid[component] += amount
        self.allocations.append(AllocationResult(entry_id, line.version, line.plan.number, component, amount))
        if line.paid_on is None and line.settled():
            line.paid_on = on

    def overpay(self, entry_id: int, amount: Decimal) -> None:
        if amount <= 0:
            return
        self.unapplied += amount
        self.allocations.append(AllocationResult(entry_id, 0, 0, OVERPAYMENT, amount))

    def pay(self, entry: Entry, amount: Decimal, lines: Sequence[_Line]) -> Decimal:
        """The imputación de pagos of DOMAIN.md §3 over ``lines``; returns what is left."""
        # A line paid in full stays so (no principal left, no late charge accrues), so the allocation
        # would pass over it; and what is owed on a line is worked out only when the money reaches it.
        # A long log is replayed on every post, so this keeps each entry's cost to the lines it pays.
        lines = sorted((line for line in lines if line.paid_on is None), key=_line_order)
        by_number = {line.plan.number: line for line in lines}
        parts, left = allocate_in_order(amount, (line.due() for line in lines))
        for part in parts:
            self.record(entry.id, by_number[part.number], part.component, part.amount, entry.value_date)
        return left

    def snapshot(self, on: date) -> list[LineResult]:
        """The current lines that can still matter on ``on``: those not yet due (what was paid on them
        in advance may be credited back) and the exigible ones not settled."""
        return [
            line.result(self.terms, on, True)
            for line in self.current()
            if line.paid_on is None or line.plan.due_on > on
        ]

    def treatment(self, entry: Entry) -> str:
        """``resolve_treatment`` for ``entry`` on the current state (late charges accrued to its day).

        The payoff is at least what is exigible plus the principal not yet due, less everything paid on
        the installments not yet due (what a credit-back could return), so an amount below that bound is
        decided without working out the payoff — the common case, in one pass over the lines."""
        day = entry.value_date
        requested = PAGO_ANTICIPADO if entry.kind in (PREPAYMENT, REFINANCE) else entry.treatment
        bound = ZERO
        unpaid: list[Decimal] = []
        exigible = 0
        for line in self.current():
            if line.plan.due_on <= day:
                if line.paid_on is not None:
                    continue
                left = line.left()
                bound += left
                if left > 0:
                    unpaid.append(left)
                    exigible += 1
            else:
                paid = line.paid
                bound += line.unpaid_principal() - paid["interest"] - paid["insurance"] - paid["fees"]
                left = line.left()
                if left > 0:
                    unpaid.append(left)
        if entry.amount >= bound:
            lines = self.snapshot(day)
            return resolve_treatment(
                amount=entry.amount,
                treatment=requested,
                payoff=payoff_quote(self.terms, lines, day).total,
                threshold=adelanto_threshold(lines, day),
            )
        if requested in (PAGO_ANTICIPADO, ADELANTO):
            return requested
        threshold = sum(unpaid[: max(2, exigible + 1)], ZERO)
        return PAGO_ANTICIPADO if entry.amount > threshold else ADELANTO

    def apply(self, entry: Entry) -> None:
        if entry.kind in _PAYING:
            self.accrue(entry.value_date)
            treatment = self.treatment(entry)
            self.treatments.append((entry.id, treatment))
            if treatment == PAGO_ANTICIPADO:
                self.prepay(entry)
            else:
                self.overpay(entry.id, self.pay(entry, entry.amount, self.current()))
        elif entry.kind in (CREDIT_REFUND, CREDIT_TRANSFER):
            self.credit_used += entry.amount
        elif entry.kind == RESCHEDULE and entry.reschedule is not None:
            self.reschedule(entry, entry.reschedule)

    def reschedule(self, entry: Entry, options: RescheduleOptions) -> None:
        """A reprogramación on the entry's day (DOMAIN.md §7; see ``reschedule_split``): a new version
        carries what is exigible or already paid in part, as it stands, and rebuilds the rest with
        ``loans.schedule.reschedule_for_event``."""
        day = entry.value_date
        self.accrue(day)
        kept, rest = reschedule_split(self.current(), day)
        if not rest or not options.changes_anything:
            return
        balance = sum((line.plan.principal for line in rest), ZERO)
        first = rest[0].plan
        installment, new_plan = reschedule_for_event(
            balance=balance,
            tea=Decimal(self.terms.tea),
            period_start=date.fromordinal(first.due_on.toordinal() - first.days),
            first_due_on=first.due_on,
            installments=len(rest),
            options=options,
            insurance_monthly_rate=Decimal(self.terms.insurance_monthly_rate),
            fee_per_installment=Decimal(self.terms.fee_per_installment),
            first_number=first.number,
        )
        self.version += 1
        self._current = None
        self.versions.append(VersionInfo(self.version, day, installment, entry.id, RESCHEDULE))
        carried = [line.carried(self.version) for line in kept if not line.settled()]
        self.lines.extend([*carried, *(_Line(self.version, plan) for plan in new_plan)])

    def credit_back(self, future: list[_Line], day: date) -> list[tuple[int, Decimal]]:
        """Step 2 of a pago anticipado: take back what was paid on ``future`` lines for days after
        ``day``, from the allocations that put it there (latest first); returns ``(entry id, amount)``."""
        snapshots = [line.result(self.terms, day, True) for line in future]
        pieces: list[tuple[int, Decimal]] = []
        for index, component, amount in future_credit(self.terms, snapshots, day):
            line = future[index]
            line.paid[component] -= amount
            line.paid_on = None
            need = amount
            for position in range(len(self.allocations) - 1, -1, -1):
                if need <= 0:
                    break
                a = self.allocations[position]
                if (a.version, a.number, a.component) != (line.version, line.plan.number, component):
                    continue
                taken = min(a.amount, need)
                need -= taken
                pieces.append((a.entry_id, taken))
                if taken == a.amount:
                    del self.allocations[position]
                else:
                    self.allocations[position] = AllocationResult(
                        a.entry_id, a.version, a.number, a.component, a.amount - taken
                    )
        return pieces

    def prepay(self, entry: Entry) -> None:
        day = entry.value_date
        current = self.current()
        left = self.pay(entry, entry.amount, [line for line in current if line.plan.due_on <= day])
        future = sorted((line for line in current if line.plan.due_on > day), key=_line_order)
        if left <= 0:
            return
        if sum((line.unpaid_principal() for line in future), ZERO) <= 0:
            # Nothing left to reduce (every installment already paid in advance): what exceeds the
            # exigible is money beyond what is owed.
            self.overpay(entry.id, left)
            return
        first = future[0]
        pool = [*self.credit_back(future, day), (entry.id, left)]
        accrued = current_period_charges(self.terms, first.plan, day)
        targets: list[tuple[_Line, str, Decimal]] = [
            (first, component, max(accrued[component] - first.paid[component], ZERO))
            for component in ("interest", "insurance")
        ]
        # Interest a reprogramación deferred accrued during its holiday: owed in full before principal.
        targets += [
            (line, "deferred_interest", line.plan.deferred_interest - line.paid["deferred_interest"]) for line in future
        ]
        targets += [(line, "principal", line.unpaid_principal()) for line in future]
        to_principal = ZERO
        for entry_id, amount in pool:
            for index, (line, component, owed) in enumerate(targets):
                if amount <= 0:
                    break
                applied = min(owed, amount)
                if applied <= 0:
                    continue
                self.record(entry_id, line, component, applied, day)
                targets[index] = (line, component, owed - applied)
                amount -= applied
                if component == "principal":
                    to_principal += applied
            self.overpay(entry_id, amount)
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
        self.version += 1
        self._current = None
        self.versions.append(VersionInfo(self.version, day, installment, entry.id, mode))
        # The lines of the old version stay as history; the new version is the lines still to come.
        self.lines.extend(_Line(self.version, plan) for plan in new_plan)

    def result(self, as_of: date) -> LedgerState:
        results = [line.result(self.terms, as_of, line.version == self.version) for line in self.lines]
        results.sort(key=lambda r: (r.version, r.plan.number))
        return LedgerState(
            as_of=as_of,
            lines=tuple(results),
            allocations=tuple(self.allocations),
            versions=tuple(self.versions),
            unapplied=self.unapplied,
            terms=self.terms,
            credit_used=self.credit_used,
            treatments=tuple(self.treatments),
        )


def reschedule_split(lines: Sequence[_Line], day: date) -> tuple[list[_Line], list[_Line]]:
    """The current lines a reprogramación on ``day`` keeps and those it rebuilds.

    It keeps, as they stand, every installment due on or before ``day`` (what is exigible stays
    exigible: the arrears of a CPP loan and their days past due carry on) and every installment already
    paid in part or in full (an adelanto de cuotas stays where it was put); it rebuilds the installments
    after the last of those. Money is imputed oldest first, so the kept ones come first."""
    ordered = sorted(lines, key=_line_order)
    last_kept = -1
    for index, line in enumerate(ordered):
        if line.plan.due_on <= day or any(line.paid[c] > 0 for c in COMPONENTS):
            last_kept = index
    return ordered[: last_kept + 1], ordered[last_kept + 1 :]


def _status(line: _Line, late_charges: Decimal, as_of: date, is_current: bool) -> str:
    scheduled_left = sum((getattr(line.plan, c) - line.paid[c] for c in SCHEDULED), ZERO)
    if scheduled_left <= 0 and late_charges - line.paid["moratory"] - line.paid["late_interest"] <= 0:
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
