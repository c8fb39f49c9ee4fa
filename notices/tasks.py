"""Celery tasks: loan events become messages to the miner (DOMAIN.md §10).

The servicing writes queue these by name through the transactional outbox
(``asmcredit.outbox.outbox_enqueue``), so a message exists only if the event committed, and the
servicing layer never imports this one. Every task is idempotent: the message of an event and channel
is unique (``Notice.event_key``), so a replayed settlement, a retried task or a second run of the daily
job never makes a second message, and sending only picks what is still pending. A failing gateway is
recorded on the message and retried later; it never fails the event's own work.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from celery import shared_task
from django.conf import settings
from django.utils import timezone

logger = logging.getLogger(__name__)


def _deliver_due(notices: list[Any]) -> None:
    """Send at once what may go now (receipts); collection messages wait for ``send_due``."""
    from notices.services import notice_send

    now = timezone.now()
    for notice in notices:
        if notice.status == notice.Status.PENDING and notice.not_before <= now:
            notice_send(notice=notice)


def _notify(build: Callable[[], Any]) -> int:
    """Make (idempotently) and send the event's messages. A message is a courtesy to the miner: when it
    cannot be made, the event stays done and the failure is logged for the operators."""
    from notices.services import notices_for_event

    try:
        message = build()
        if message is None:
            return 0
        notices = notices_for_event(message=message)
        _deliver_due(notices)
    except Exception:
        logger.exception("notices: could not make the messages of an event")
        return 0
    return len(notices)


@shared_task(acks_late=True, name="notices.tasks.on_withholdings")
def on_withholdings(withholding_ids: list[int]) -> int:
    """The receipts of a settlement post (one or a batch): one per withholding still standing."""
    from installments.models import Withholding
    from notices.events import withholding_event
    from notices.services import miners_to_message

    withholdings = list(
        Withholding.objects.filter(pk__in=withholding_ids)
        .exclude(status=Withholding.Status.REVERSED)
        .select_related("settlement__buyer", "loan__miner")
        .order_by("pk")
    )
    # Most miners of a bulk post may not be messaged: their figures are never worked out.
    allowed = miners_to_message(miner_ids=[w.loan.miner_id for w in withholdings], event="withholding")
    return sum(
        _notify(partial(withholding_event, withholding))
        for withholding in withholdings
        if withholding.loan.miner_id in allowed
    )


@shared_task(acks_late=True, name="notices.tasks.on_payment")
def on_payment(transaction_id: int) -> int:
    from installments.models import LoanTransaction
    from notices.events import payment_event

    payment = LoanTransaction.objects.filter(pk=transaction_id, reversed_by__isnull=True).first()
    return 0 if payment is None else _notify(lambda: payment_event(payment))


@shared_task(acks_late=True, name="notices.tasks.on_schedule")
def on_schedule(loan_id: int, version: int) -> int:
    from loans.models import Loan
    from notices.events import schedule_event

    loan = Loan.objects.filter(pk=loan_id, schedule_version=version).first()
    return 0 if loan is None else _notify(lambda: schedule_event(loan, version))


@shared_task(acks_late=True, name="notices.tasks.on_reschedules")
def on_reschedules(loan_versions: list[list[int]]) -> int:
    """The new cronograma of each loan a reprogramación rescheduled (``[loan id, version]`` pairs), unless
    the loan's cronograma changed again since."""
    from loans.models import Loan
    from notices.events import schedule_event

    wanted: dict[int, int] = {int(pair[0]): int(pair[1]) for pair in loan_versions}
    sent = 0
    for loan in Loan.objects.filter(pk__in=list(wanted)).select_related("miner").order_by("id"):
        if loan.schedule_version == wanted[loan.pk]:
            sent += _notify(partial(schedule_event, loan, wanted[loan.pk], rescheduled=True))
    return sent


@shared_task(acks_late=True, name="notices.tasks.on_paid_off")
def on_paid_off(loan_id: int) -> int:
    from loans.models import Loan
    from notices.events import paid_off_event

    loan = Loan.objects.filter(pk=loan_id, status=Loan.Status.PAID_OFF).first()
    return 0 if loan is None else _notify(lambda: paid_off_event(loan))


def collection_messages(*, as_of: dt.date) -> int:
    """Reminders ``NOTICES_REMINDER_DAYS`` before each due date and arrears notices when a loan has
    reached one of ``NOTICES_ARREARS_DAYS`` days past due, for the active loans, as of ``as_of``. Created now,
    sent when the law allows (``notices.schedule.next_allowed``)."""
    from installments.models import ScheduleLine
    from loans.models import Loan
    from notices.events import arrears_event, reminder_event

    made = 0
    due_on = as_of + dt.timedelta(days=settings.NOTICES_REMINDER_DAYS)
    lines = (
        ScheduleLine.objects.filter(
            is_current=True, due_on=due_on, loan__status=Loan.Status.ACTIVE, status__in=["pending", "partial"]
        )
        .select_related("loan__miner")
        .order_by("loan_id")
    )
    for line in lines.iterator(chunk_size=500):
        made += _notify(partial(reminder_event, line.loan, line))
    milestones = sorted(settings.NOTICES_ARREARS_DAYS)
    for loan in (
        # Every loan past the first milestone: the message is keyed by the highest milestone reached, so
        # each milestone makes one notice even when the daily job missed the exact day.
        Loan.objects.filter(status=Loan.Status.ACTIVE, days_past_due__gte=milestones[0])
        .select_related("miner")
        .order_by("pk")
        .iterator(chunk_size=500)
    ):
        made += _notify(partial(arrears_event, loan, as_of))
    return made


@shared_task(acks_late=True, name="notices.tasks.collection_messages")
def collection_messages_task(as_of: str | None = None) -> int:
    return collection_messages(as_of=dt.date.fromisoformat(as_of) if as_of else timezone.localdate())


@shared_task(acks_late=True, name="notices.tasks.send_due")
def send_due() -> int:
    from notices.services import notices_send_due

    return notices_send_due()
