"""Cronograma de pagos: fixed-installment schedules over unequal periods (DOMAIN.md §3).

Rates are fractions here (``Decimal("0.40")`` for a TEA of 40%) on a 360-day year; every amount on a
line is rounded half-up to the céntimo as it is computed, so the document, the database and the tests
all see the same figures.

The cuota fija is ``C = P / Σ_k (1 + TEA)^(−DA_k/360)``; each line pays the period's interest on the
opening balance and ``C − interest`` of principal, and the last line takes whatever balance is left so
the principal column adds up to the amount lent exactly.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, localcontext
from enum import StrEnum
from itertools import pairwise
from typing import Literal

from asmcredit.money import PRECISION, ZERO, money, power
from loans import tcea as tcea_module

DAYS_IN_YEAR = Decimal(360)
# The seguro de desgravamen rate is quoted per month and prorated on 30-day months (DOMAIN.md §3).
INSURANCE_PERIOD_DAYS = Decimal(30)

PrepaymentMode = Literal["reduce_term", "reduce_installment"]
PrepaymentKind = Literal["adelanto", "anticipado"]


class ScheduleError(ValueError):
    """Terms that cannot make a schedule; ``field`` names the offending term for forms and APIs."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class GraceKind(StrEnum):
    """Periodo de gracia at the start of the loan (DOMAIN.md §3)."""

    NONE = "none"
    # Gracia parcial: the client pays interest (plus insurance and fees) but no principal.
    PARTIAL = "partial"
    # Gracia total: the client pays no principal or interest; the interest is capitalized.
    TOTAL = "total"


@dataclass(frozen=True)
class ScheduleTerms:
    """What a schedule is built from.

    ``installments`` counts every line, grace periods included. ``due_dates``, when given, replaces the
    generated fixed-day dates (an officer may move a due date off a holiday or a payday); it must hold
    ``installments`` strictly increasing dates starting at ``first_due_on``.
    """

    principal: Decimal
    tea: Decimal
    disbursed_on: date
    first_due_on: date
    installments: int
    grace_periods: int = 0
    grace_kind: GraceKind = GraceKind.NONE
    # Seguro de desgravamen: fraction of the opening balance per 30 days.
    insurance_monthly_rate: Decimal = Decimal(0)
    # A fixed comisión added to every line, grace lines included.
    fee_per_installment: Decimal = Decimal(0)
    # Deducted at disbursement: the client receives principal − upfront_fees, which drives the TCEA.
    upfront_fees: Decimal = Decimal(0)
    due_dates: tuple[date, ...] | None = None

    @property
    def net_received(self) -> Decimal:
        return self.principal - self.upfront_fees

    def schedule_dates(self) -> tuple[date, ...]:
        if self.due_dates is not None:
            return tuple(self.due_dates)
        return tuple(due_dates(self.first_due_on, self.installments))


@dataclass(frozen=True)
class ScheduleLine:
    """One row of the cronograma.

    ``total = principal + interest + insurance + fees`` is what the client pays on ``due_on``.
    ``capitalized`` is interest added to the balance instead of paid (total grace only), so that
    ``closing_balance = opening_balance − principal + capitalized`` holds on every line.
    """

    number: int
    due_on: date
    days: int
    opening_balance: Decimal
    principal: Decimal
    interest: Decimal
    insurance: Decimal
    fees: Decimal
    total: Decimal
    closing_balance: Decimal
    capitalized: Decimal = ZERO
    # Interest of a payment holiday (reprogramación), spread over the new installments in its own
    # column and never added to principal (DOMAIN.md §7).
    deferred_interest: Decimal = ZERO


@dataclass(frozen=True)
class Schedule:
    """A cronograma: its terms, the cuota fija (principal + interest), its lines and its TCEA (percent)."""

    terms: ScheduleTerms
    installment: Decimal
    lines: tuple[ScheduleLine, ...]
    tcea: Decimal

    @property
    def total_principal(self) -> Decimal:
        return sum((line.principal for line in self.lines), ZERO)

    @property
    def total_interest(self) -> Decimal:
        return sum((line.interest for line in self.lines), ZERO)

    @property
    def total_insurance(self) -> Decimal:
        return sum((line.insurance for line in self.lines), ZERO)

    @property
    def total_fees(self) -> Decimal:
        return sum((line.fees for line in self.lines), ZERO)

    @property
    def total_deferred_interest(self) -> Decimal:
        return sum((line.deferred_interest for line in self.lines), ZERO)

    @property
    def total_capitalized(self) -> Decimal:
        return sum((line.capitalized for line in self.lines), ZERO)

    @property
    def total_paid(self) -> Decimal:
        return sum((line.total for line in self.lines), ZERO)

    @property
    def flows(self) -> tuple[tuple[int, Decimal], ...]:
        """``(days from disbursement, total)`` per line, as the TCEA discounts them."""
        start = self.terms.disbursed_on
        return tuple(((line.due_on - start).days, line.total) for line in self.lines)


def due_dates(first_due_on: date, count: int) -> list[date]:
    """Fixed day of the month from ``first_due_on``, clamped to the month's last day when shorter.

    The day is always taken from the first due date, never from the previous (possibly clamped) one, so
    Jan 31 → Feb 28 (29) → Mar 31.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    day = first_due_on.day
    dates = []
    for k in range(count):
        years, month_index = divmod(first_due_on.month - 1 + k, 12)
        year, month = first_due_on.year + years, month_index + 1
        dates.append(date(year, month, min(day, calendar.monthrange(year, month)[1])))
    return dates


def period_rate(tea: Decimal, days: int) -> Decimal:
    """``i_d = (1 + TEA)^(d/360) − 1`` in high precision, not rounded."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return power(1 + Decimal(tea), Decimal(days) / DAYS_IN_YEAR) - 1


def discount_factor(tea: Decimal, days: int) -> Decimal:
    """``(1 + TEA)^(−days/360)`` in high precision."""
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return power(1 + Decimal(tea), -Decimal(days) / DAYS_IN_YEAR)


def fixed_installment(balance: Decimal, tea: Decimal, start: date, dates: Sequence[date]) -> Decimal:
    """Cuota fija ``C = balance / Σ_k (1 + TEA)^(−DA_k/360)``, DA_k counted from ``start``; to the céntimo.

    With a TEA of 0 every factor is 1, so this is ``balance / n`` and needs no special case.
    """
    if not dates:
        raise ValueError("At least one due date is needed.")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        factors = sum((discount_factor(tea, (due - start).days) for due in dates), Decimal(0))
        return money(Decimal(balance) / factors)


def _insurance(rate: Decimal, balance: Decimal, days: int) -> Decimal:
    return money(Decimal(rate) * balance * days / INSURANCE_PERIOD_DAYS)


def _amortize(
    *,
    balance: Decimal,
    tea: Decimal,
    start: date,
    dates: Sequence[date],
    installment: Decimal,
    first_number: int,
    insurance_monthly_rate: Decimal,
    fee_per_installment: Decimal,
    clears_early: bool = False,
) -> list[ScheduleLine]:
    """Lines paying ``installment`` of principal + interest, the last one taking the remaining balance.

    With ``clears_early`` the schedule stops at the first line whose balance plus interest fits in the
    installment (plazo reducido), leaving later dates unused.
    """
    lines: list[ScheduleLine] = []
    previous = start
    for index, due in enumerate(dates):
        days = (due - previous).days
        interest = money(balance * period_rate(tea, days))
        last = index == len(dates) - 1 or (clears_early and balance + interest <= installment)
        # min() keeps the balance from going negative should rounding let an early line overpay.
        principal = balance if last else min(installment - interest, balance)
        insurance = _insurance(insurance_monthly_rate, balance, days)
        fees = money(fee_per_installment)
        lines.append(
            ScheduleLine(
                number=first_number + index,
                due_on=due,
                days=days,
                opening_balance=balance,
                principal=principal,
                interest=interest,
                insurance=insurance,
                fees=fees,
                total=principal + interest + insurance + fees,
                closing_balance=balance - principal,
            )
        )
        balance -= principal
        previous = due
        if last:
            break
    return lines


def _validate(terms: ScheduleTerms) -> tuple[date, ...]:
    if terms.principal <= 0:
        raise ScheduleError("principal", "The amount must be positive.")
    if money(terms.principal) != terms.principal:
        raise ScheduleError("principal", "The amount must be in whole céntimos.")
    if terms.tea < 0:
        raise ScheduleError("tea", "The TEA must not be negative.")
    if terms.installments < 1:
        raise ScheduleError("installments", "At least one installment is needed.")
    if terms.grace_periods < 0 or terms.grace_periods >= terms.installments:
        raise ScheduleError("grace_periods", "Grace must leave at least one installment that pays principal.")
    if terms.grace_periods and terms.grace_kind is GraceKind.NONE:
        raise ScheduleError("grace_kind", "Choose partial or total grace for grace periods.")
    if terms.first_due_on <= terms.disbursed_on:
        raise ScheduleError("first_due_on", "The first due date must come after disbursement.")
    if terms.insurance_monthly_rate < 0:
        raise ScheduleError("insurance_monthly_rate", "The insurance rate must not be negative.")
    if terms.fee_per_installment < 0 or money(terms.fee_per_installment) != terms.fee_per_installment:
        raise ScheduleError("fee_per_installment", "The fee must be a non-negative amount in céntimos.")
    if terms.upfront_fees < 0 or money(terms.upfront_fees) != terms.upfront_fees:
        raise ScheduleError("upfront_fees", "Upfront fees must be a non-negative amount in céntimos.")
    if terms.upfront_fees >= terms.principal:
        raise ScheduleError("upfront_fees", "Upfront fees must be less than the amount lent.")
    dates = terms.schedule_dates()
    if terms.due_dates is not None:
        if len(dates) != terms.installments:
            raise ScheduleError("due_dates", "There must be one due date per installment.")
        if dates[0] != terms.first_due_on:
            raise ScheduleError("due_dates", "The due dates must start at the first due date.")
        if any(later <= earlier for earlier, later in pairwise(dates)):
            raise ScheduleError("due_dates", "Due dates must be strictly increasing.")
    return dates


def build_schedule(terms: ScheduleTerms) -> Schedule:
    """Build the cronograma for ``terms`` (DOMAIN.md §3).

    Grace comes first. In partial grace a line pays the period's interest, insurance and fees and the
    balance stays put. In total grace the interest is capitalized (added to the balance, shown in
    ``capitalized``), but insurance and fees are still charged on each grace line: the insurer covers
    the client from disbursement and the fee pays for a service that does not pause. After grace the
    cuota fija is computed on the balance then outstanding over the remaining dates, DA counted from the
    last grace due date (from disbursement when there is no grace). The TCEA discounts every line's
    total to the net amount received (principal − upfront fees).

    The formula is applied as written: a first period much longer than the rest at a high TEA over many
    installments (e.g. 45 days at 100% over 36) can owe more interest than the cuota, so that line's
    principal is negative and the balance grows; the schedule still repays exactly.
    """
    dates = _validate(terms)
    tea = Decimal(terms.tea)
    balance = money(terms.principal)
    grace = terms.grace_periods
    lines: list[ScheduleLine] = []
    previous = terms.disbursed_on
    for number, due in enumerate(dates[:grace], start=1):
        days = (due - previous).days
        accrued = money(balance * period_rate(tea, days))
        capitalizing = terms.grace_kind is GraceKind.TOTAL
        interest = ZERO if capitalizing else accrued
        capitalized = accrued if capitalizing else ZERO
        insurance = _insurance(terms.insurance_monthly_rate, balance, days)
        fees = money(terms.fee_per_installment)
        lines.append(
            ScheduleLine(
                number=number,
                due_on=due,
                days=days,
                opening_balance=balance,
                principal=ZERO,
                interest=interest,
                insurance=insurance,
                fees=fees,
                total=interest + insurance + fees,
                closing_balance=balance + capitalized,
                capitalized=capitalized,
            )
        )
        balance += capitalized
        previous = due

    installment = fixed_installment(balance, tea, previous, dates[grace:])
    lines += _amortize(
        balance=balance,
        tea=tea,
        start=previous,
        dates=dates[grace:],
        installment=installment,
        first_number=grace + 1,
        insurance_monthly_rate=terms.insurance_monthly_rate,
        fee_per_installment=terms.fee_per_installment,
    )
    flows = [((line.due_on - terms.disbursed_on).days, line.total) for line in lines]
    return Schedule(
        terms=terms,
        installment=installment,
        lines=tuple(lines),
        tcea=tcea_module.tcea(terms.net_received, flows),
    )


def reschedule_after_prepayment(
    *,
    balance: Decimal,
    tea: Decimal,
    paid_on: date,
    remaining_due_dates: Sequence[date],
    current_installment: Decimal,
    mode: PrepaymentMode = "reduce_term",
    insurance_monthly_rate: Decimal = Decimal(0),
    fee_per_installment: Decimal = Decimal(0),
    first_number: int = 1,
) -> tuple[ScheduleLine, ...]:
    """The remaining cronograma after a pago anticipado (DOMAIN.md §3; never a prepayment fee).

    ``balance`` is the principal still owed once the prepayment has been applied on ``paid_on`` (interest
    accrued up to ``paid_on`` is settled by the prepayment itself), and the first new period runs from
    ``paid_on`` to the first remaining due date. ``first_number`` numbers the first new line, so the
    caller can keep the original installment numbers.

    - ``reduce_installment`` (cuota reducida): same due dates, a new cuota fija over all of them.
    - ``reduce_term`` (plazo reducido, the default): the same ``current_installment`` on the fewest
      remaining dates that clear the balance; the last line takes the remainder, which is at most the
      installment. If even every remaining date cannot clear it, the last date takes the excess.
    """
    if balance < 0 or money(balance) != balance:
        raise ScheduleError("balance", "The balance must be a non-negative amount in céntimos.")
    if tea < 0:
        raise ScheduleError("tea", "The TEA must not be negative.")
    if balance == 0:
        return ()
    if not remaining_due_dates:
        raise ScheduleError("remaining_due_dates", "A balance is left but no due date remains.")
    if remaining_due_dates[0] <= paid_on:
        raise ScheduleError("remaining_due_dates", "The remaining due dates must come after the payment.")
    if any(later <= earlier for earlier, later in pairwise(remaining_due_dates)):
        raise ScheduleError("remaining_due_dates", "Due dates must be strictly increasing.")
    if mode == "reduce_installment":
        installment = fixed_installment(balance, tea, paid_on, remaining_due_dates)
        clears_early = False
    elif mode == "reduce_term":
        if current_installment <= 0:
            raise ScheduleError("current_installment", "The current installment must be positive.")
        installment = money(current_installment)
        clears_early = True
    else:
        raise ScheduleError("mode", f"Unknown prepayment mode {mode!r}.")
    return tuple(
        _amortize(
            balance=balance,
            tea=Decimal(tea),
            start=paid_on,
            dates=remaining_due_dates,
            installment=installment,
            first_number=first_number,
            insurance_monthly_rate=insurance_monthly_rate,
            fee_per_installment=fee_per_installment,
            clears_early=clears_early,
        )
    )


@dataclass(frozen=True)
class RescheduleOptions:
    """One option of a reprogramación (DOMAIN.md §7); they combine.

    ``extra_installments`` adds installments to the term (a lower cuota), ``holiday_periods`` is a payment
    holiday of that many monthly periods (no installment falls due in them; their interest is deferred),
    ``due_day`` moves the due dates to that day of the month (``None`` keeps the current day)."""

    extra_installments: int = 0
    holiday_periods: int = 0
    due_day: int | None = None

    def as_dict(self) -> dict[str, int | None]:
        return {
            "extra_installments": self.extra_installments,
            "holiday_periods": self.holiday_periods,
            "due_day": self.due_day,
        }

    @classmethod
    def from_dict(cls, values: dict[str, object]) -> RescheduleOptions:
        due_day = values.get("due_day")
        return cls(
            extra_installments=int(values.get("extra_installments") or 0),  # type: ignore[call-overload]
            holiday_periods=int(values.get("holiday_periods") or 0),  # type: ignore[call-overload]
            due_day=int(due_day) if due_day not in (None, "", 0) else None,  # type: ignore[call-overload]
        )

    @property
    def changes_anything(self) -> bool:
        return bool(self.extra_installments or self.holiday_periods or self.due_day)


def _on_day(year: int, month: int, day: int) -> date:
    """``day`` of the month (the month's last day when it is shorter), months counted past December."""
    years, month_index = divmod(month - 1, 12)
    year, month = year + years, month_index + 1
    return date(year, month, min(day, calendar.monthrange(year, month)[1]))


def reschedule_dates(*, first_due_on: date, count: int, options: RescheduleOptions) -> tuple[date | None, list[date]]:
    """The due dates of a reprogramación's new installments and the day the holiday ends.

    The first new installment falls ``holiday_periods`` months after ``first_due_on`` (the first
    installment being rescheduled), on ``due_day`` when given, never earlier than that; the rest follow
    monthly on the same day. Returns ``(holiday_end, dates)``: the holiday ends one month before the first
    new due date (``None`` without a holiday)."""
    day = options.due_day or first_due_on.day
    shifted = _on_day(first_due_on.year, first_due_on.month + options.holiday_periods, first_due_on.day)
    month = first_due_on.month + options.holiday_periods
    first = _on_day(first_due_on.year, month, day)
    if first < shifted:
        month += 1
        first = _on_day(first_due_on.year, month, day)
    dates = [_on_day(first_due_on.year, month + k, day) for k in range(count)]
    holiday_end = _on_day(first_due_on.year, month - 1, day) if options.holiday_periods else None
    return holiday_end, dates


def reschedule_for_event(
    *,
    balance: Decimal,
    tea: Decimal,
    period_start: date,
    first_due_on: date,
    installments: int,
    options: RescheduleOptions,
    insurance_monthly_rate: Decimal = Decimal(0),
    fee_per_installment: Decimal = Decimal(0),
    first_number: int = 1,
) -> tuple[Decimal, tuple[ScheduleLine, ...]]:
    """The new cronograma of a reprogramación (DOMAIN.md §7): ``balance`` of principal that was to be
    repaid in ``installments`` installments from ``first_due_on``, its current period running from
    ``period_start``. Returns the new cuota fija (principal + interest) and the lines.

    - the new term is ``installments + extra_installments`` installments on the dates of
      ``reschedule_dates``;
    - the interest of the payment holiday (``period_start`` to the end of the holiday, on ``balance``) is
      *deferred*: spread evenly over the new installments in the ``deferred_interest`` column (the last
      takes the remainder), never added to principal; the holiday's insurance goes on the first one;
    - after the holiday a cuota fija is computed on ``balance`` over the new dates, so the principal
      column still adds up to ``balance`` exactly.
    """
    if balance <= 0 or money(balance) != balance:
        raise ScheduleError("balance", "The balance must be a positive amount in céntimos.")
    if installments < 1:
        raise ScheduleError("installments", "At least one installment must be left to reschedule.")
    if options.extra_installments < 0 or options.holiday_periods < 0:
        raise ScheduleError("options", "Extra installments and holiday periods must not be negative.")
    if options.due_day is not None and not 1 <= options.due_day <= 31:
        raise ScheduleError("due_day", "The due day must be between 1 and 31.")
    count = installments + options.extra_installments
    holiday_end, dates = reschedule_dates(first_due_on=first_due_on, count=count, options=options)
    start = max(holiday_end, period_start) if holiday_end is not None else period_start
    tea = Decimal(tea)
    held = (start - period_start).days
    deferred = money(balance * period_rate(tea, held)) if held > 0 else ZERO
    holiday_insurance = _insurance(insurance_monthly_rate, balance, held) if held > 0 else ZERO
    installment = fixed_installment(balance, tea, start, dates)
    lines = _amortize(
        balance=balance,
        tea=tea,
        start=start,
        dates=dates,
        installment=installment,
        first_number=first_number,
        insurance_monthly_rate=insurance_monthly_rate,
        fee_per_installment=fee_per_installment,
    )
    share = money(deferred / len(lines))
    spread: list[ScheduleLine] = []
    for index, line in enumerate(lines):
        part = deferred - share * (len(lines) - 1) if index == len(lines) - 1 else share
        extra_insurance = holiday_insurance if index == 0 else ZERO
        spread.append(
            replace(
                line,
                insurance=line.insurance + extra_insurance,
                deferred_interest=part,
                total=line.total + part + extra_insurance,
            )
        )
    return installment, tuple(spread)


def classify_prepayment(amount: Decimal, next_installments_totals: Sequence[Decimal]) -> PrepaymentKind:
    """Pago anticipado when ``amount`` exceeds the next two installments' totals, else adelanto de cuotas.

    Per DOMAIN.md §3 more than 2 installments' worth goes to principal (``"anticipado"``); up to that it
    pays the next installments in advance (``"adelanto"``). With fewer than two installments left, their
    sum is the threshold.
    """
    threshold = sum(next_installments_totals[:2], ZERO)
    return "anticipado" if amount > threshold else "adelanto"
