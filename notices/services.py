"""Writing the miner's messages (DOMAIN.md §10): the outbox rows of an event, sending them, and the
miner's consent.

The policy, in one place:
- **Who gets what.** A miner is messaged only with consent (``MinerPreference.consent``), on every
  channel they chose, one ``Notice`` per event and channel. No preference or no consent: no rows at
  all (nothing was due to them). A channel chosen without a recipient (SMS and no phone, e-mail and no
  address, a template the lender deactivated) gets a SKIPPED row with the reason, so the officer sees
  the gap on the miner's page instead of a silence.
- **Opt-out** (``miner_opt_out``, or consent withdrawn in ``miner_preference_set``) stops collection
  messages (reminders, arrears) for good and cancels those still waiting. Receipts — withholding,
  payment, new cronograma, paid-off certificate: information about the miner's own money — still go
  after an opt-out only when ``settings.NOTICES_RECEIPTS_AFTER_OPT_OUT`` (default False: an opt-out
  stops everything, the statement link and the office remain). Giving consent again clears the opt-out.
- **When.** Receipts are due at once; collection messages at ``notices.schedule.next_allowed`` (never
  20:00–07:00 Lima time, weekends or public holidays), checked again at the moment of sending, so a
  retry pushed into the evening waits for the morning.
- **Recipients.** SMS → ``Miner.phone``; WhatsApp → the preference's WhatsApp number, else
  ``Miner.phone``; e-mail → the preference's address.
- **Sending** (``notice_send``) claims the row with a conditional UPDATE (two workers never send the
  same message), counts the attempt before calling the backend (a crash mid-send still counts), and
  records the outcome; a failure is retried with backoff until ``NOTICES_MAX_ATTEMPTS``, then FAILED.
  Nothing here raises into the caller: the event (a settlement, a payment) is already done.
- **Audit.** Consent changes and opt-outs write an audit row; making and sending messages do not — the
  ``Notice`` row, with its attempts, error, provider reference and times, is the record.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template import TemplateSyntaxError
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit.audit import audit_record, snapshot
from miners.models import Miner
from notices.backends import DeliveryError, backend_for
from notices.models import COLLECTION_EVENTS, Channel, MinerPreference, Notice
from notices.rendering import MissingTemplate, render_message
from notices.schedule import is_allowed, next_allowed

if TYPE_CHECKING:
    from notices.events import EventMessage

logger = logging.getLogger(__name__)

# A claimed message is not offered to another worker for this long: well past the gateway's timeout
# (at most 60 s), so only a worker that died mid-send leaves it to be tried again.
CLAIM_LEASE = dt.timedelta(minutes=5)
FIRST_RETRY = dt.timedelta(minutes=1)
LONGEST_RETRY = dt.timedelta(hours=1)
_PHONE = re.compile(r"^\+?[0-9]{9,15}$")
_PREFERENCE_FIELDS = ["consent", "consent_on", "channels", "whatsapp_number", "email", "language", "opted_out_at"]

# Why a message was not sent (Notice.skipped_reason; shown to the officer).
NO_RECIPIENT = "no recipient for this channel"
NO_TEMPLATE = "no active template"
TEMPLATE_ERROR = "template error"
OPTED_OUT = "miner opted out"
NO_CONSENT = "no consent"
CHANNEL_WITHDRAWN = "channel no longer chosen"


def notices_for_event(*, message: EventMessage, now: dt.datetime | None = None) -> list[Notice]:
    """The outbox rows of one event: one per channel the miner consents to, made once.

    Idempotent and safe under concurrency: the rows already made for ``message.event_key`` are
    returned as they are, and a row is inserted inside a savepoint, so when two workers race on the
    same event the loser's insert fails on the unique (event_key, channel) and it returns the winner's
    row. Nothing is sent here (``notice_send``, ``notices_send_due``)."""
    now = now or timezone.now()
    with transaction.atomic():
        existing = {n.channel: n for n in Notice.objects.filter(event_key=message.event_key)}
        preference = MinerPreference.objects.filter(miner=message.miner).first()
        refusal = _refusal(preference, message.event)
        if refusal or preference is None:
            return list(existing.values())
        not_before = next_allowed(now) if message.event in COLLECTION_EVENTS else now
        notices: list[Notice] = []
        for channel in _channels(preference):
            notice = existing.get(channel)
            if notice is None:
                notice = _notice_create(message=message, preference=preference, channel=channel, not_before=not_before)
            notices.append(notice)
        # Rows of channels since withdrawn stay in the answer: they were made, the caller may show them.
        notices += [n for c, n in existing.items() if c not in {x.channel for x in notices}]
        return notices


def notice_send(*, notice: Notice, now: dt.datetime | None = None) -> Notice:
    """Send ``notice`` if it is still pending and due; record the outcome on it and return it fresh.

    Checks again, at the moment of sending, what may have changed since the row was made: the miner's
    consent and channels (withdrawn: SKIPPED) and, for a collection message, the law's hours (outside
    them: moved to the next allowed moment, not sent). Never raises for a failed delivery."""
    now = now or timezone.now()
    notice.refresh_from_db()
    if notice.status != Notice.Status.PENDING or notice.not_before > now:
        return notice
    pending = Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING)
    preference = MinerPreference.objects.filter(miner_id=notice.miner_id).first()
    refusal = _refusal(preference, notice.event)
    if not refusal and preference is not None and notice.channel not in _channels(preference):
        refusal = CHANNEL_WITHDRAWN
    if refusal:
        pending.update(status=Notice.Status.SKIPPED, skipped_reason=refusal)
        notice.refresh_from_db()
        return notice
    if notice.event in COLLECTION_EVENTS and not is_allowed(now):
        pending.update(not_before=next_allowed(now))
        notice.refresh_from_db()
        return notice

    # The claim: only the worker whose UPDATE matched sends. The attempt is counted before sending.
    due_at = notice.not_before
    claimed = pending.filter(not_before__lte=now).update(attempts=F("attempts") + 1, not_before=now + CLAIM_LEASE)
    if not claimed:
        notice.refresh_from_db()
        return notice
    notice.refresh_from_db()
    try:
        reference = backend_for(notice.channel).send(notice)
    except DeliveryError as exc:
        _record_failure(notice, now=now, error=str(exc), permanent=exc.permanent)
    except Exception as exc:  # noqa: BLE001 - a backend bug must not fail the event: recorded, retried
        logger.exception("notices: backend failed on notice %s", notice.pk)
        _record_failure(notice, now=now, error=f"{type(exc).__name__}: {exc}", permanent=False)
    else:
        Notice.objects.filter(pk=notice.pk).update(
            status=Notice.Status.SENT,
            sent_at=now,
            not_before=due_at,
            provider_reference=reference[:120],
            last_error="",
        )
    notice.refresh_from_db()
    return notice


def notices_send_due(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Send up to ``limit`` pending messages that are due, oldest first; the number sent. Safe to run
    in several workers at once (each message is claimed by one) and to run again (sent ones are not
    pending)."""
    now = now or timezone.now()
    due = Notice.objects.filter(status=Notice.Status.PENDING, not_before__lte=now).order_by("not_before", "id")[:limit]
    sent = 0
    for notice in list(due):
        if notice_send(notice=notice, now=now).status == Notice.Status.SENT:
            sent += 1
    return sent


def notice_delivery_record(*, provider_reference: str, delivered: bool, error: str = "") -> Notice | None:
    """What the provider later reports of a sent message (a gateway's delivery receipt, for the
    webhook that receives it): DELIVERED, or FAILED with the provider's reason. Only a SENT message
    changes (a repeated or late report changes nothing); an unknown reference is None. Not audited:
    the row is the record."""
    if not provider_reference:
        return None
    notice = Notice.objects.filter(provider_reference=provider_reference).order_by("-id").first()
    if notice is None:
        return None
    changes: dict[str, Any] = (
        {"status": Notice.Status.DELIVERED}
        if delivered
        else {"status": Notice.Status.FAILED, "last_error": (error or "reported undelivered")[:255]}
    )
    Notice.objects.filter(pk=notice.pk, status=Notice.Status.SENT).update(**changes)
    notice.refresh_from_db()
    return notice


def miner_preference_set(
    *,
    miner: Miner,
    actor: Any,
    consent: bool,
    channels: list[str],
    whatsapp_number: str = "",
    email: str = "",
    language: str = "es",
) -> MinerPreference:
    """Record the miner's consent and chosen channels (in order of preference), audited.

    Consent needs at least one channel, and each channel needs its recipient (SMS the miner's phone,
    WhatsApp a WhatsApp number or the phone, e-mail an address). Giving consent dates it today and
    clears a past opt-out; withdrawing it is an opt-out (``miner_opt_out``'s effects)."""
    whatsapp_number = re.sub(r"[\s\-()]", "", whatsapp_number or "")
    email = (email or "").strip()
    channels = _clean_channels(channels)
    _validate_preference(
        miner=miner,
        consent=consent,
        channels=channels,
        whatsapp_number=whatsapp_number,
        email=email,
        language=language,
    )
    with transaction.atomic():
        preference = _preference_locked(miner)
        before = snapshot(preference, _PREFERENCE_FIELDS) if preference.pk else None
        withdrawing = preference.consent and not consent
        if consent and not (preference.consent and preference.opted_out_at is None):
            preference.consent_on = timezone.localdate()
            preference.opted_out_at = None
        preference.consent = consent
        preference.channels = channels
        preference.whatsapp_number = whatsapp_number
        preference.email = email
        preference.language = language
        if withdrawing:
            preference.opted_out_at = timezone.now()
        preference.save()
        _sync_miner_flag(miner, preference)
        if withdrawing:
            _cancel_pending(miner)
        audit_record(
            actor=actor,
            action="notice_preference.set",
            obj=preference,
            before=before,
            after=snapshot(preference, _PREFERENCE_FIELDS),
        )
    return preference


def miner_opt_out(*, miner: Miner, actor: Any) -> MinerPreference:
    """The miner asked to receive no more messages: consent off, the moment recorded, collection
    messages still waiting cancelled (receipts too unless ``NOTICES_RECEIPTS_AFTER_OPT_OUT``), audited.
    The chosen channels are kept, for the receipts the lender's policy may still send. Opting out
    twice changes nothing the second time (no second audit row)."""
    with transaction.atomic():
        preference = _preference_locked(miner)
        if preference.pk and preference.opted_out_at is not None:
            return preference
        before = snapshot(preference, _PREFERENCE_FIELDS) if preference.pk else None
        preference.consent = False
        preference.opted_out_at = timezone.now()
        preference.save()
        _sync_miner_flag(miner, preference)
        _cancel_pending(miner)
        audit_record(
            actor=actor,
            action="notice_preference.opt_out",
            obj=preference,
            before=before,
            after=snapshot(preference, _PREFERENCE_FIELDS),
        )
    return preference


# --- helpers ---------------------------------------------------------------------------------------


def _sync_miner_flag(miner: Miner, preference: MinerPreference) -> None:
    """``Miner.accepts_messages``: whether servicing should queue this miner's events at all (consent,
    or an opt-out the receipts policy may still serve; the policy itself is applied per message)."""
    accepts = bool(preference.consent or preference.opted_out_at is not None)
    Miner.objects.filter(pk=miner.pk).update(accepts_messages=accepts)
    miner.accepts_messages = accepts


def miners_to_message(*, miner_ids: Iterable[int], event: str) -> set[int]:
    """Which of ``miner_ids`` may get a message of ``event`` now (one query): the tasks skip building an
    event's figures for a miner who would get nothing."""
    preferences = MinerPreference.objects.filter(miner_id__in=set(miner_ids))
    return {p.miner_id for p in preferences if not _refusal(p, event)}


def _refusal(preference: MinerPreference | None, event: str) -> str:
    """Why ``event`` may not be sent to the miner of ``preference`` ("" when it may)."""
    if preference is None:
        return NO_CONSENT
    if preference.opted_out_at is not None:
        if event in COLLECTION_EVENTS or not settings.NOTICES_RECEIPTS_AFTER_OPT_OUT:
            return OPTED_OUT
        return ""
    return "" if preference.consent else NO_CONSENT


def _channels(preference: MinerPreference) -> list[str]:
    valid = set(Channel.values)
    return [c for c in dict.fromkeys(preference.channels or []) if c in valid]


def _recipient(channel: str, miner: Miner, preference: MinerPreference) -> str:
    if channel == Channel.SMS:
        return miner.phone or ""
    if channel == Channel.WHATSAPP:
        return preference.whatsapp_number or miner.phone or ""
    return preference.email or ""


def _notice_create(*, message: EventMessage, preference: MinerPreference, channel: str, not_before: Any) -> Notice:
    fields: dict[str, Any] = {
        "event": message.event,
        "miner": message.miner,
        "loan": message.loan,
        "language": preference.language,
        "recipient": _recipient(channel, message.miner, preference),
        "not_before": not_before,
    }
    if not fields["recipient"]:
        fields.update(status=Notice.Status.SKIPPED, skipped_reason=NO_RECIPIENT, body="")
    else:
        try:
            fields["subject"], fields["body"] = render_message(
                event=message.event, channel=channel, language=preference.language, context=message.context
            )
        except MissingTemplate:
            fields.update(status=Notice.Status.SKIPPED, skipped_reason=NO_TEMPLATE, body="")
        except TemplateSyntaxError:
            logger.exception("notices: the %s template for %s does not render", channel, message.event)
            fields.update(status=Notice.Status.SKIPPED, skipped_reason=TEMPLATE_ERROR, body="")
    fields["subject"] = (fields.get("subject") or "")[:160]
    try:
        with transaction.atomic():  # a savepoint: losing the race must not break the outer transaction
            return Notice.objects.create(event_key=message.event_key, channel=channel, **fields)
    except IntegrityError:
        return Notice.objects.get(event_key=message.event_key, channel=channel)


def _record_failure(notice: Notice, *, now: dt.datetime, error: str, permanent: bool) -> None:
    error = error[:255]
    row = Notice.objects.filter(pk=notice.pk, status=Notice.Status.PENDING)
    if permanent or notice.attempts >= settings.NOTICES_MAX_ATTEMPTS:
        logger.warning("notices: notice %s failed after %d attempt(s): %s", notice.pk, notice.attempts, error)
        row.update(status=Notice.Status.FAILED, last_error=error)
        return
    retry_at = now + retry_delay(notice.attempts)
    if notice.event in COLLECTION_EVENTS:
        retry_at = next_allowed(retry_at)
    row.update(not_before=retry_at, last_error=error)


def retry_delay(attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed try: 1, 2, 4, 8… minutes, at most an hour."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LONGEST_RETRY)


def _cancel_pending(miner: Miner) -> None:
    """An opt-out cancels what is still waiting: collection messages always, receipts unless the
    lender's policy sends them after an opt-out."""
    pending = Notice.objects.filter(miner=miner, status=Notice.Status.PENDING)
    if settings.NOTICES_RECEIPTS_AFTER_OPT_OUT:
        pending = pending.filter(event__in=list(COLLECTION_EVENTS))
    pending.update(status=Notice.Status.SKIPPED, skipped_reason=OPTED_OUT)


def _preference_locked(miner: Miner) -> MinerPreference:
    """The miner's preference row locked for update, or a new unsaved one (the one-to-one's unique
    index makes a concurrent first save fail rather than make two)."""
    found = MinerPreference.objects.select_for_update().filter(miner=miner).first()
    return found if found is not None else MinerPreference(miner=miner)


def _clean_channels(channels: list[str] | tuple[str, ...] | None) -> list[str]:
    return list(dict.fromkeys(str(c).strip() for c in (channels or []) if str(c).strip()))


def _validate_preference(
    *, miner: Miner, consent: bool, channels: list[str], whatsapp_number: str, email: str, language: str
) -> None:
    errors: dict[str, str] = {}
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        errors["channels"] = _("Unknown channel: %(channels)s.") % {"channels": ", ".join(unknown)}
    elif consent and not channels:
        errors["channels"] = _("Choose at least one channel to message the miner.")
    elif Channel.SMS in channels and not miner.phone:
        errors["channels"] = _("SMS needs the miner's phone number.")
    elif Channel.WHATSAPP in channels and not (whatsapp_number or miner.phone):
        errors["whatsapp_number"] = _("WhatsApp needs a number (or the miner's phone).")
    elif Channel.EMAIL in channels and not email:
        errors["email"] = _("E-mail needs an address.")
    if whatsapp_number and not _PHONE.match(whatsapp_number):
        errors["whatsapp_number"] = _("Enter the number with 9 to 15 digits, optionally starting with +.")
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = _("Enter a valid e-mail address.")
    if language not in dict(settings.LANGUAGES):
        errors["language"] = _("Unknown language: %(language)s.") % {"language": language}
    if errors:
        raise ValidationError(errors)
