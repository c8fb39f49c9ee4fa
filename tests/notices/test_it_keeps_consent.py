"""Consent and opt-out (DOMAIN.md §10): one message per consenting channel, made once; nothing without
consent; an opt-out stops collection messages for good and receipts unless the lender's policy keeps
them (NOTICES_RECEIPTS_AFTER_OPT_OUT, default off); every consent change is audited."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from asmcredit.models import AuditEvent
from notices.models import MinerPreference, Notice
from notices.services import (
    NO_RECIPIENT,
    OPTED_OUT,
    miner_opt_out,
    miner_preference_set,
    notice_send,
    notices_for_event,
    notices_send_due,
)
from tests.factories import MinerFactory

from .support_outbox import consenting_miner, event, lima, templates

WEDNESDAY_NOON = lima(2026, 6, 24, 12, 0)
pytestmark = pytest.mark.django_db


def test_it_makes_one_message_per_consenting_channel_with_its_recipient() -> None:
    templates("withholding")
    miner = consenting_miner(["whatsapp", "sms", "email"], email="juan@example.pe", whatsapp="+51911222333")

    notices = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    assert [(n.channel, n.recipient, n.status) for n in notices] == [
        ("whatsapp", "+51911222333", "pending"),
        ("sms", "987654321", "pending"),
        ("email", "juan@example.pe", "pending"),
    ]
    sms = notices[1]
    assert sms.body == "Hola Juan. Retuvimos S/ 1,234.50."
    assert notices[2].subject == "Aviso L-0042"
    assert sms.not_before == WEDNESDAY_NOON


def test_it_never_makes_a_second_message_for_a_replayed_event() -> None:
    templates("withholding")
    miner = consenting_miner(["sms", "whatsapp"])
    first = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)
    assert notices_send_due(now=WEDNESDAY_NOON) == 2

    again = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    assert [n.pk for n in again] == [n.pk for n in first]
    assert Notice.objects.count() == 2
    assert notices_send_due(now=WEDNESDAY_NOON) == 0  # sent ones are not pending: nothing goes twice


def test_it_uses_the_phone_for_whatsapp_without_its_own_number() -> None:
    templates("withholding")
    miner = consenting_miner(["whatsapp"])
    (notice,) = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)
    assert notice.recipient == "987654321"


def test_it_records_a_chosen_channel_without_recipient_as_not_sent() -> None:
    templates("withholding")
    miner = consenting_miner(["sms", "email"], phone="")  # the phone was removed after consent was given

    sms, email = notices_for_event(message=event(miner), now=WEDNESDAY_NOON)

    assert (sms.status, sms.skipped_reason, sms.recipient) == ("skipped", NO_RECIPIENT, "")
    assert (email.status, email.skipped_reason) == ("skipped", NO_RECIPIENT)
    assert notices_send_due(now=WEDNESDAY_NOON) == 0


def test_it_messages_no_one_without_consent() -> None:
    templates("withholding")
    no_preference = MinerFactory(phone="987654321")
    declined = MinerFactory(phone="987654322")
    MinerPreference.objects.create(miner=declined, consent=False, channels=["sms"])

    assert notices_for_event(message=event(no_preference), now=WEDNESDAY_NOON) == []
    assert notices_for_event(message=event(declined), now=WEDNESDAY_NOON) == []
    assert Notice.objects.count() == 0


def test_it_sends_an_opted_out_miner_nothing_by_default(officer) -> None:  # type: ignore[no-untyped-def]
    templates("withholding", "reminder")
    miner = consenting_miner(["sms"])
    miner_opt_out(miner=miner, actor=officer)

    assert notices_for_event(message=event(miner, "withholding"), now=WEDNESDAY_NOON) == []
    assert notices_for_event(message=event(miner, "reminder"), now=WEDNESDAY_NOON) == []


def test_it_sends_an_opted_out_miner_receipts_only_when_the_policy_says_so(officer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.NOTICES_RECEIPTS_AFTER_OPT_OUT = True
    templates("withholding", "reminder")
    miner = consenting_miner(["sms"])
    miner_opt_out(miner=miner, actor=officer)

    (receipt,) = notices_for_event(message=event(miner, "withholding"), now=WEDNESDAY_NOON)
    assert notices_for_event(message=event(miner, "reminder"), now=WEDNESDAY_NOON) == []
    assert notice_send(notice=receipt, now=WEDNESDAY_NOON).status == "sent"


def test_it_cancels_the_waiting_reminder_when_the_miner_opts_out(officer) -> None:  # type: ignore[no-untyped-def]
    templates("reminder")
    miner = consenting_miner(["sms"])
    (reminder,) = notices_for_event(message=event(miner, "reminder"), now=lima(2026, 6, 27, 21, 30))

    miner_opt_out(miner=miner, actor=officer)

    reminder.refresh_from_db()
    assert (reminder.status, reminder.skipped_reason) == ("skipped", OPTED_OUT)
    assert notices_send_due(now=lima(2026, 6, 30, 7, 0)) == 0


def test_it_audits_consent_and_the_opt_out_once(officer) -> None:  # type: ignore[no-untyped-def]
    miner = MinerFactory(phone="987654321")

    preference = miner_preference_set(
        miner=miner, actor=officer, consent=True, channels=["sms", "email"], email="juan@example.pe"
    )
    assert preference.consent and preference.consent_on is not None and preference.opted_out_at is None
    miner_opt_out(miner=miner, actor=officer)
    miner_opt_out(miner=miner, actor=officer)  # said twice: recorded once

    rows = list(AuditEvent.objects.filter(object_type="notices.MinerPreference").order_by("id"))
    assert [(r.action, r.actor_label) for r in rows] == [
        ("notice_preference.set", "olga.officer"),
        ("notice_preference.opt_out", "olga.officer"),
    ]
    first_after, opt_out_before, opt_out_after = rows[0].after or {}, rows[1].before or {}, rows[1].after or {}
    assert rows[0].before is None and first_after["channels"] == ["sms", "email"]
    assert opt_out_before["consent"] is True and opt_out_after["consent"] is False
    preference.refresh_from_db()
    assert preference.channels == ["sms", "email"] and preference.opted_out_at is not None

    # Consent given again clears the opt-out; withdrawing it through the form is an opt-out again.
    again = miner_preference_set(miner=miner, actor=officer, consent=True, channels=["sms"])
    assert again.opted_out_at is None and again.consent
    withdrawn = miner_preference_set(miner=miner, actor=officer, consent=False, channels=["sms"])
    assert withdrawn.opted_out_at is not None


def test_it_refuses_a_channel_without_its_recipient(officer) -> None:  # type: ignore[no-untyped-def]
    miner = MinerFactory(phone="")
    with pytest.raises(ValidationError) as sms:
        miner_preference_set(miner=miner, actor=officer, consent=True, channels=["sms"])
    assert "channels" in sms.value.message_dict
    with pytest.raises(ValidationError) as email:
        miner_preference_set(miner=miner, actor=officer, consent=True, channels=["email"], email="not-an-address")
    assert "email" in email.value.message_dict
    with pytest.raises(ValidationError) as nothing:
        miner_preference_set(miner=miner, actor=officer, consent=True, channels=[])
    assert "channels" in nothing.value.message_dict
    with pytest.raises(ValidationError) as unknown:
        miner_preference_set(miner=miner, actor=officer, consent=True, channels=["fax"])
    assert "channels" in unknown.value.message_dict
    assert not MinerPreference.objects.exists()
    assert not AuditEvent.objects.filter(object_type="notices.MinerPreference").exists()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_makes_one_message_when_two_workers_race_on_the_same_event() -> None:
    templates("withholding")
    miner = consenting_miner(["sms", "whatsapp"])
    barrier = threading.Barrier(4)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(sorted(n.pk for n in notices_for_event(message=event(miner), now=WEDNESDAY_NOON)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert Notice.objects.count() == 2
    assert len(results) == 4 and all(r == results[0] for r in results)
