"""Loan events become messages to the miner (issue 15): one per event and consenting channel, never two
when the work is replayed or the task retried, and a message never fails the event's own write."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from installments.models import Withholding
from installments.services import payment_record, payoff_quote, settlement_post
from notices import tasks
from notices.models import Notice
from notices.services import miner_preference_set
from tests.installments.conftest import DOMAIN_LOT, disburse

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def loan(officer, orex, rosa, product):  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=20)
    rosa.phone = "987654321"
    rosa.save(update_fields=["phone"])
    miner_preference_set(
        miner=rosa, actor=officer, consent=True, channels=["sms", "whatsapp"], whatsapp_number="987654321"
    )
    return disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def post(buyer, miner, lot_code, settled_on):  # type: ignore[no-untyped-def]
    return settlement_post(
        buyer=buyer,
        miner=miner,
        actor="test",
        lot_code=lot_code,
        settled_on=settled_on,
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )


def test_it_sends_one_receipt_per_channel_after_a_withholding_and_never_two(
    loan, orex, rosa, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        outcome = post(orex, rosa, "R-1", TODAY)
    [withholding] = outcome.withholdings

    receipts = Notice.objects.filter(event="withholding", event_key=f"withholding:{withholding.pk}")
    assert sorted(receipts.values_list("channel", flat=True)) == ["sms", "whatsapp"]
    assert all(notice.status == Notice.Status.SENT for notice in receipts)  # receipts go at once
    sms = receipts.get(channel="sms")
    assert "R-1" in sms.body and sms.recipient == "987654321"

    # The task retried (a redelivered message, a re-run): nothing new, nothing sent twice.
    tasks.on_withholdings([withholding.pk])
    tasks.on_withholdings([withholding.pk])
    assert Notice.objects.filter(event="withholding").count() == 2


def test_it_sends_a_receipt_for_a_counter_payment_and_the_new_cronograma(
    loan, officer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        payment = payment_record(
            loan=loan, amount=D("5000.00"), paid_on=TODAY, actor=officer, treatment="pago_anticipado"
        )

    assert Notice.objects.filter(event="payment", event_key=f"payment:{payment.pk}").count() == 2
    loan.refresh_from_db()
    assert loan.schedule_version == 2
    assert Notice.objects.filter(event="schedule", event_key=f"schedule:{loan.pk}:2").count() == 2


def test_it_sends_the_paid_off_certificate_when_the_loan_closes(
    loan, officer, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=True):
        payment_record(loan=loan, amount=payoff_quote(loan=loan, on=TODAY).total, paid_on=TODAY, actor=officer)

    loan.refresh_from_db()
    assert loan.status == "paid_off"
    assert Notice.objects.filter(event="paid_off", event_key=f"paid_off:{loan.pk}").count() == 2


def test_it_makes_each_reminder_once_however_often_the_daily_job_runs(loan, settings) -> None:  # type: ignore[no-untyped-def]
    first_due = loan.schedule_lines.get(number=1).due_on
    as_of = first_due - dt.timedelta(days=settings.NOTICES_REMINDER_DAYS)

    tasks.collection_messages(as_of=as_of)
    tasks.collection_messages(as_of=as_of)

    reminders = Notice.objects.filter(event="reminder", event_key=f"reminder:{loan.pk}:{first_due.isoformat()}")
    assert reminders.count() == 2  # sms and whatsapp, once each


def test_a_miner_without_consent_gets_no_message_and_the_settlement_still_posts(
    officer, orex, product, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import MinerFactory

    miner = MinerFactory.create()
    disbursed = TODAY - dt.timedelta(days=20)
    disburse(
        miner=miner,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    with django_capture_on_commit_callbacks(execute=True):
        outcome = post(orex, miner, "N-1", TODAY)

    assert outcome.withholdings and Withholding.objects.filter(settlement=outcome.settlement).exists()
    assert not Notice.objects.filter(miner=miner).exclude(status=Notice.Status.SKIPPED).exists()


def test_an_officer_sends_a_new_statement_link_to_the_miner(client, loan, officer, rosa) -> None:  # type: ignore[no-untyped-def]
    from django.urls import reverse

    client.force_login(officer)
    response = client.post(reverse("notices:statement-link-new", args=[rosa.pk]), follow=True)

    assert response.status_code == 200
    sent = Notice.objects.filter(event="link", miner=rosa)
    assert sorted(sent.values_list("channel", flat=True)) == ["sms", "whatsapp"]
    assert all(notice.status == Notice.Status.SENT and "/s/" in notice.body for notice in sent)
