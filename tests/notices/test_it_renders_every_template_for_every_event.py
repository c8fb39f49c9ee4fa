"""Every active template renders for every event, channel and language on a book built like the demo,
with no variable the event lacks; every SMS is GSM-7 and fits one 160-character message — except the
withholding receipt: the buyer, lot and date, the lot's value, what was withheld and paid, the price
share, the installments paid, the principal left, the next due date and amount and the statement link
need two parts (≤ 306 septets); cut to 160 it would drop figures DOMAIN.md §10 says the miner is owed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from installments.models import ScheduleLine
from installments.services import payment_record, payoff_quote
from notices.events import (
    CONTEXT_KEYS,
    EventMessage,
    arrears_event,
    link_event,
    paid_off_event,
    payment_event,
    reminder_event,
    schedule_event,
    withholding_event,
)
from notices.links import statement_link_create
from notices.models import Channel, Event, MessageTemplate
from notices.rendering import render_message, sms_size, unknown_variables

# The SMS parts each event's message may take on the demo book (see the module docstring).
SMS_PARTS = {Event.WITHHOLDING: 2}


@pytest.fixture
def messages(demo_book, officer, default_templates) -> dict[str, EventMessage]:  # type: ignore[no-untyped-def]
    loan = demo_book.loan
    today = timezone.localdate()
    built: dict[str, EventMessage] = {Event.WITHHOLDING: withholding_event(demo_book.withholding)}
    # The first installment the withholding left unpaid (it paid the overdue ones and the next).
    line = (
        ScheduleLine.objects.filter(loan=loan, is_current=True, due_on__gt=today, status="pending")
        .order_by("due_on")
        .first()
    )
    assert line is not None
    built[Event.REMINDER] = reminder_event(loan, line)
    built[Event.ARREARS] = arrears_event(loan, line.due_on + dt.timedelta(days=8))
    payment = payment_record(loan=loan, amount=loan.installment_amount, paid_on=today, actor=officer)
    built[Event.PAYMENT] = payment_event(payment)
    loan.refresh_from_db()
    built[Event.SCHEDULE] = schedule_event(loan, loan.schedule_version)
    built[Event.RESCHEDULE] = schedule_event(loan, loan.schedule_version, rescheduled=True)
    payment_record(loan=loan, amount=payoff_quote(loan=loan, on=today).total, paid_on=today, actor=officer)
    loan.refresh_from_db()
    assert loan.status == loan.Status.PAID_OFF
    built[Event.PAID_OFF] = paid_off_event(loan)
    link, url = statement_link_create(miner=loan.miner)
    built[Event.LINK] = link_event(link, url)
    return built


def test_it_seeds_an_active_template_for_every_event_channel_and_language(default_templates) -> None:  # type: ignore[no-untyped-def]
    seeded = set(MessageTemplate.objects.filter(is_active=True).values_list("event", "channel", "language"))
    assert seeded == {(e, c, lang) for e in Event.values for c in Channel.values for lang in ("es", "en")}


def test_every_builder_gives_exactly_its_declared_context(messages) -> None:  # type: ignore[no-untyped-def]
    for event, message in messages.items():
        assert message.event == event
        assert set(message.context) == set(CONTEXT_KEYS[event]), event
        assert all(isinstance(value, str) for value in message.context.values()), event


def test_it_renders_every_template_for_every_event(messages) -> None:  # type: ignore[no-untyped-def]
    for template in MessageTemplate.objects.filter(is_active=True):
        message = messages[template.event]
        assert unknown_variables(subject=template.subject, body=template.body, context=message.context) == [], str(
            template
        )
        subject, body = render_message(
            event=template.event, channel=template.channel, language=template.language, context=message.context
        )
        assert body.strip(), str(template)
        assert "{{" not in body and "{%" not in body
        assert message.context["statement_url"] in body, str(template)
        if template.channel == Channel.EMAIL:
            assert subject.strip() and "\n" not in subject, str(template)
        else:
            assert subject == ""


def test_every_sms_fits_its_budget_in_gsm7_on_the_demo_book(messages) -> None:  # type: ignore[no-untyped-def]
    url = messages[Event.WITHHOLDING].context["statement_url"]
    assert 55 <= len(url) <= 70, url  # a real signed link on a short production host
    # The longest variants too: a paid-off loan that left a credit in the miner's favour, a miner's longer
    # name, arrears past 31 days.
    variants = [(event, message.context) for event, message in messages.items()]
    variants.append((Event.PAID_OFF, {**messages[Event.PAID_OFF].context, "overpayment_credit": "S/ 12,345.67"}))
    variants += [(event, {**context, "miner_name": "Wilfredo"}) for event, context in variants]
    variants.append((Event.ARREARS, {**messages[Event.ARREARS].context, "days_past_due": "120"}))
    for event, context in variants:
        for language in ("es", "en"):
            _, body = render_message(event=event, channel=Channel.SMS, language=language, context=context)
            size = sms_size(body)
            assert size.encoding == "GSM-7", (event, language, body)
            assert size.segments <= SMS_PARTS.get(event, 1), (event, language, size.length, body)
