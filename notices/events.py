"""Loan events as messages: each builder reads what happened and the loan's state after it, and gives
the template context every figure the miner is owed (DOMAIN.md §10), already formatted — amounts as
``S/ 1,234.50`` (``US$`` for dollar loans), dates as ``dd/mm/aaaa``, the fair-price share in a phrase.

``CONTEXT_KEYS`` declares each event's variables: the admin checks a template against them and the
tests check that every builder gives exactly them. ``event_key`` names the event once and for all
(``withholding:<id>``, ``payment:<id>``, ``reminder:<loan>:<due date>``, ``arrears:<loan>:<milestone>``,
``schedule:<loan>:<version>``, ``reschedule:<loan>:<version>``, ``paid_off:<loan>``,
``link:<statement link>``), so a replay never makes a second message.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from asmcredit.money import ZERO, round_half_up
from buyers.valuation import convert
from installments import ledger
from installments.models import Allocation, LoanTransaction, ScheduleLine, Withholding
from installments.selectors import loan_state_on
from installments.services import payoff_quote
from loans.models import Loan
from miners.models import Miner
from notices.models import Event
from notices.rendering import Phrase, day_es, money_es

# Every event's context starts with these.
COMMON_KEYS = (
    "lender_name",
    "lender_phone",
    "miner_name",
    "loan_code",
    "statement_url",
    "outstanding_principal",
    "next_due_date",
    "next_due_amount",
    "payoff_today",
    "overpayment_credit",
)
# What a payment-like entry (withholding, counter payment) paid.
PAID_KEYS = (
    "paid_installments",
    "paid_interest",
    "paid_principal",
    "paid_late_charges",
    "paid_other",
    "paid_to_credit",
)
CONTEXT_KEYS: dict[str, tuple[str, ...]] = {
    Event.WITHHOLDING: COMMON_KEYS
    + PAID_KEYS
    + (
        "buyer_name",
        "lot_code",
        "settled_on",
        "gross_payable",
        "withheld",
        "withheld_loan_currency",
        "net_paid",
        "price_share",
        "price_phrase",
    ),
    Event.PAYMENT: COMMON_KEYS + PAID_KEYS + ("paid_amount", "paid_on"),
    Event.REMINDER: COMMON_KEYS + ("installment_number", "due_date", "due_amount"),
    Event.ARREARS: COMMON_KEYS + ("days_past_due", "overdue_amount", "overdue_since"),
    Event.SCHEDULE: COMMON_KEYS + ("installments_left", "installment_amount", "last_due_date", "schedule_version"),
    Event.RESCHEDULE: COMMON_KEYS
    + ("installments_left", "installment_amount", "last_due_date", "schedule_version", "deferred_interest"),
    Event.PAID_OFF: COMMON_KEYS + ("paid_off_on", "loan_principal"),
    # A new link an officer sends (no loan figures: the page has them).
    Event.LINK: ("lender_name", "lender_phone", "miner_name", "statement_url", "expires_on"),
}


@dataclass
class EventMessage:
    """One event, ready to become one message per channel the miner chose (``notices.services``)."""

    event: str
    event_key: str
    miner: Miner
    loan: Loan | None
    context: dict[str, Any] = field(default_factory=dict)


def _statement_url(miner: Miner, given: str | None) -> str:
    if given is not None:
        return given
    from notices.links import statement_link_url

    return statement_link_url(miner=miner)


def _first_name(miner: Miner) -> str:
    return (miner.first_names or "").split(" ")[0] or str(miner)


def _next_due(state: ledger.LedgerState) -> tuple[dt.date | None, Decimal]:
    """The next installment not fully paid and what to pay by its date (what is overdue included)."""
    unpaid = sorted((line for line in state.current_lines if line.remaining > 0), key=lambda line: line.due_on)
    if not unpaid:
        return None, ZERO
    due_on = unpaid[0].due_on
    return due_on, sum((line.remaining for line in unpaid if line.due_on <= due_on), ZERO)


def _common(loan: Loan, *, on: dt.date, statement_url: str | None) -> tuple[dict[str, Any], ledger.LedgerState]:
    """The loan as it stood on ``on`` after everything dated up to that day, and what closes it today."""
    state = loan_state_on(loan=loan, on=on)
    cur = loan.currency
    next_on, next_amount = _next_due(state)
    today = max(timezone.localdate(), on)
    payoff = ZERO
    if loan.status == Loan.Status.ACTIVE:
        # The state just replayed is today's when the event is (no second replay for the payoff).
        payoff = state.payoff().total if on == today else payoff_quote(loan=loan, on=today).total
    context = {
        "lender_name": settings.LENDER_NAME,
        "lender_phone": getattr(settings, "LENDER_CONTACT_PHONE", ""),
        "miner_name": _first_name(loan.miner),
        "loan_code": loan.code,
        "statement_url": _statement_url(loan.miner, statement_url),
        "outstanding_principal": money_es(state.outstanding_principal, cur),
        "next_due_date": day_es(next_on),
        "next_due_amount": money_es(next_amount, cur) if next_on else "",
        "payoff_today": money_es(payoff, cur),
        "overpayment_credit": money_es(loan.overpayment_credit, cur) if loan.overpayment_credit > 0 else "",
    }
    return context, state


def _numbers(numbers: list[int]) -> Phrase:
    """The installments a payment reached, noun included: "la cuota 3", "las cuotas 1, 2 y 3"."""
    text = [str(n) for n in numbers]
    if not text:
        return Phrase(es="", en="")
    if len(text) == 1:
        return Phrase(es=f"la cuota {text[0]}", en=f"installment {text[0]}")
    head = ", ".join(text[:-1])
    return Phrase(es=f"las cuotas {head} y {text[-1]}", en=f"installments {head} and {text[-1]}")


def _paid(transaction: LoanTransaction) -> dict[str, Any]:
    """What ``transaction`` paid, by component, from its allocations (installment numbers in order)."""
    sums = dict.fromkeys(
        ["moratory", "late_interest", "interest", "deferred_interest", "insurance", "fees", "principal", "overpayment"],
        ZERO,
    )
    numbers: list[int] = []
    for allocation in (
        Allocation.objects.filter(transaction=transaction)
        .select_related("schedule_line")
        .order_by("schedule_line__due_on", "schedule_line__number", "id")
    ):
        sums[allocation.component] += allocation.amount
        line = allocation.schedule_line
        if line is not None and line.number not in numbers:
            numbers.append(line.number)
    cur = transaction.loan.currency
    return {
        "paid_installments": _numbers(numbers),
        "paid_interest": money_es(sums["interest"] + sums["deferred_interest"], cur),
        "paid_principal": money_es(sums["principal"], cur),
        "paid_late_charges": money_es(sums["moratory"] + sums["late_interest"], cur)
        if sums["moratory"] + sums["late_interest"] > 0
        else "",
        "paid_other": money_es(sums["insurance"] + sums["fees"], cur) if sums["insurance"] + sums["fees"] > 0 else "",
        "paid_to_credit": money_es(sums["overpayment"], cur) if sums["overpayment"] > 0 else "",
    }


def share_pct(share: Decimal) -> str:
    """A fraction as a percentage with one decimal, half-up: 0.9759 → "97.6%"."""
    return f"{round_half_up(Decimal(share) * 100, 1)}%"


def price_phrase(share: Decimal) -> Phrase:
    """The fair-price share of a settlement in one sentence: (INTER − RC) / INTER as a percentage with
    one decimal (DOMAIN.md §4), e.g. "Le pagaron el 97.6% del precio internacional del oro."."""
    pct = share_pct(share)
    return Phrase(
        es=f"Le pagaron el {pct} del precio internacional del oro.",
        en=f"You were paid {pct} of the international gold price.",
    )


def withholding_event(withholding: Withholding, *, statement_url: str | None = None) -> EventMessage:
    """After a withholding: the buyer, the lot and its date, what the lot was worth, what the buyer kept
    and paid (in the settlement's currency), what the withholding paid on the loan and what is left."""
    settlement = withholding.settlement
    loan = withholding.loan
    cur = settlement.currency
    gross = settlement.payable_usd if cur == "USD" else convert(settlement.payable_usd, settlement.exchange_rate)
    kept = sum(
        (
            w.amount_settlement_currency
            for w in Withholding.objects.filter(settlement=settlement).exclude(status=Withholding.Status.REVERSED)
        ),
        ZERO,
    )
    context, _state = _common(loan, on=withholding.withheld_on, statement_url=statement_url)
    context.update(_paid(withholding.transaction))
    context.update(
        {
            "buyer_name": withholding.buyer.name,
            "lot_code": settlement.lot_code,
            "settled_on": day_es(settlement.settled_on),
            "gross_payable": money_es(gross, cur),
            "withheld": money_es(withholding.amount_settlement_currency, cur),
            "withheld_loan_currency": money_es(withholding.amount, loan.currency),
            "net_paid": money_es(gross - kept, cur),
            "price_share": share_pct(settlement.price_share),
            "price_phrase": price_phrase(settlement.price_share),
        }
    )
    return EventMessage(
        event=Event.WITHHOLDING, event_key=f"withholding:{withholding.pk}", miner=loan.miner, loan=loan, context=context
    )


def payment_event(transaction: LoanTransaction, *, statement_url: str | None = None) -> EventMessage:
    """A receipt for a payment at the counter (or a prepayment): what came in and what it paid."""
    loan = transaction.loan
    context, _state = _common(loan, on=transaction.value_date, statement_url=statement_url)
    context.update(_paid(transaction))
    context.update(
        {"paid_amount": money_es(transaction.amount, loan.currency), "paid_on": day_es(transaction.value_date)}
    )
    return EventMessage(
        event=Event.PAYMENT, event_key=f"payment:{transaction.pk}", miner=loan.miner, loan=loan, context=context
    )


def reminder_event(loan: Loan, line: ScheduleLine, *, statement_url: str | None = None) -> EventMessage:
    """Before ``line`` falls due: what is left to pay of it (and of anything overdue) by its date."""
    today = timezone.localdate()
    on = min(today, line.due_on)
    context, state = _common(loan, on=on, statement_url=statement_url)
    due = sum(
        (x.remaining for x in state.current_lines if x.due_on <= line.due_on and x.remaining > 0),
        ZERO,
    )
    context.update(
        {
            "installment_number": str(line.number),
            "due_date": day_es(line.due_on),
            "due_amount": money_es(due, loan.currency),
        }
    )
    return EventMessage(
        event=Event.REMINDER,
        event_key=f"reminder:{loan.pk}:{line.due_on.isoformat()}",
        miner=loan.miner,
        loan=loan,
        context=context,
    )


def arrears_milestone(days_past_due: int) -> int:
    """The arrears notice a loan ``days_past_due`` days late has reached (``NOTICES_ARREARS_DAYS``): one
    message per milestone, so a loan late for weeks is not told every night."""
    reached = [m for m in settings.NOTICES_ARREARS_DAYS if m <= days_past_due]
    return max(reached, default=days_past_due)


def arrears_event(loan: Loan, on: dt.date, *, statement_url: str | None = None) -> EventMessage:
    """The loan is late on ``on``: since when, how many days, and what makes it current again."""
    context, state = _common(loan, on=on, statement_url=statement_url)
    dpd = state.days_past_due
    context.update(
        {
            "days_past_due": str(dpd),
            "overdue_amount": money_es(state.overdue_amount, loan.currency),
            "overdue_since": day_es(on - dt.timedelta(days=dpd)) if dpd else "",
        }
    )
    return EventMessage(
        event=Event.ARREARS,
        event_key=f"arrears:{loan.pk}:{arrears_milestone(dpd)}",
        miner=loan.miner,
        loan=loan,
        context=context,
    )


def schedule_event(
    loan: Loan, version: int, *, statement_url: str | None = None, rescheduled: bool = False
) -> EventMessage:
    """A new cronograma (after a pago anticipado or, ``rescheduled``, a reprogramación — its own wording,
    with the interest deferred): how many installments are left, of how much, and until when; the full
    cronograma is on the statement page."""
    context, state = _common(loan, on=timezone.localdate(), statement_url=statement_url)
    left = [line for line in state.current_lines if line.remaining > 0]
    lines = ScheduleLine.objects.filter(loan=loan, version=version).order_by("number")
    last = lines.last()
    context.update(
        {
            "installments_left": str(len(left)),
            "installment_amount": money_es(state.installment, loan.currency),
            "last_due_date": day_es(last.due_on if last is not None else None),
            "schedule_version": str(version),
        }
    )
    if rescheduled:
        deferred = sum((line.deferred_interest for line in lines), ZERO)
        context["deferred_interest"] = money_es(deferred, loan.currency) if deferred > 0 else ""
        return EventMessage(
            event=Event.RESCHEDULE,
            event_key=f"reschedule:{loan.pk}:{version}",
            miner=loan.miner,
            loan=loan,
            context=context,
        )
    return EventMessage(
        event=Event.SCHEDULE, event_key=f"schedule:{loan.pk}:{version}", miner=loan.miner, loan=loan, context=context
    )


def paid_off_event(loan: Loan, *, statement_url: str | None = None) -> EventMessage:
    """The loan is paid: the constancia de no adeudo (its day, the loan) and any credit in the miner's
    favour still to be refunded."""
    last_payment = (
        LoanTransaction.objects.filter(
            loan=loan,
            kind__in=[LoanTransaction.Kind.PAYMENT, LoanTransaction.Kind.PREPAYMENT, LoanTransaction.Kind.WITHHOLDING],
            reversed_by__isnull=True,
        )
        .order_by("-value_date", "-id")
        .values_list("value_date", flat=True)
        .first()
    )
    on = last_payment or timezone.localdate()
    context, _state = _common(loan, on=on, statement_url=statement_url)
    context.update({"paid_off_on": day_es(on), "loan_principal": money_es(loan.principal, loan.currency)})
    return EventMessage(
        event=Event.PAID_OFF, event_key=f"paid_off:{loan.pk}", miner=loan.miner, loan=loan, context=context
    )


def link_event(link: Any, url: str) -> EventMessage:
    """The message carrying a new statement link an officer made (``notices.links``): ``link:<id>``."""
    miner = link.miner
    return EventMessage(
        event=Event.LINK,
        event_key=f"link:{link.pk}",
        miner=miner,
        loan=None,
        context={
            "lender_name": settings.LENDER_NAME,
            "lender_phone": getattr(settings, "LENDER_CONTACT_PHONE", ""),
            "miner_name": _first_name(miner),
            "statement_url": url,
            "expires_on": day_es(timezone.localdate(link.expires_at)),
        },
    )
