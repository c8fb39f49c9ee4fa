"""What the miner is told (DOMAIN.md §10): the lender's message templates, each miner's consent and
channels, the outbox of messages (one per event and channel, never sent twice) and the signed links to
the miner's statement page."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import TimestampedModel
from loans.models import Loan
from miners.models import Miner


class Event(models.TextChoices):
    WITHHOLDING = "withholding", _("withholding receipt")
    PAYMENT = "payment", _("payment receipt")
    REMINDER = "reminder", _("installment reminder")
    ARREARS = "arrears", _("arrears notice")
    SCHEDULE = "schedule", _("new cronograma")
    RESCHEDULE = "reschedule", _("reprogramación (new cronograma)")
    PAID_OFF = "paid_off", _("paid-off certificate")
    LINK = "link", _("statement link")


# Collection messages wait for an allowed moment (Código de Protección al Consumidor art. 62); receipts,
# the new cronograma and the paid-off certificate go at once.
COLLECTION_EVENTS = frozenset({Event.REMINDER, Event.ARREARS})


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("e-mail")


class MessageTemplate(TimestampedModel):
    """The lender's wording of one event on one channel in one language (Django template syntax over
    the event's context; ``subject`` for e-mail only). Data, edited in the admin with a preview."""

    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="es")
    subject = models.CharField(_("subject"), max_length=160, blank=True)
    body = models.TextField(_("body"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["event", "channel", "language"]
        verbose_name = _("message template")
        verbose_name_plural = _("message templates")
        constraints = [
            models.UniqueConstraint(fields=["event", "channel", "language"], name="template_one_per_event_channel")
        ]

    def __str__(self) -> str:
        return f"{self.event} · {self.channel} · {self.language}"


class MinerPreference(TimestampedModel):
    """A miner's consent to be messaged and the channels chosen, opt-out included (audited)."""

    miner = models.OneToOneField(Miner, on_delete=models.CASCADE, related_name="notice_preference")
    consent = models.BooleanField(_("consents to messages"), default=False)
    consent_on = models.DateField(_("consent given on"), null=True, blank=True)
    channels = models.JSONField(_("channels"), default=list, blank=True, help_text=_("In order of preference."))
    whatsapp_number = models.CharField(_("WhatsApp number"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    language = models.CharField(_("language"), max_length=5, choices=settings.LANGUAGES, default="es")
    opted_out_at = models.DateTimeField(_("opted out at"), null=True, blank=True)

    class Meta:
        verbose_name = _("miner's message preference")
        verbose_name_plural = _("miners' message preferences")

    def __str__(self) -> str:
        return f"{self.miner}: {', '.join(self.channels) or '—'}"


class Notice(TimestampedModel):
    """One message of one event on one channel: the outbox row. ``event_key`` names the event (e.g.
    ``withholding:123``, ``reminder:45:2026-12-15``); unique with the channel, so a replay, a retried task
    or a re-run never makes a second message."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        SENT = "sent", _("sent")
        DELIVERED = "delivered", _("delivered")
        FAILED = "failed", _("failed")
        SKIPPED = "skipped", _("not sent")

    event = models.CharField(_("event"), max_length=16, choices=Event.choices)
    event_key = models.CharField(_("event key"), max_length=80)
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    miner = models.ForeignKey(Miner, on_delete=models.PROTECT, related_name="notices")
    loan = models.ForeignKey(Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="notices")
    language = models.CharField(_("language"), max_length=5, default="es")
    recipient = models.CharField(_("recipient"), max_length=254)
    subject = models.CharField(_("subject"), max_length=160, blank=True)
    body = models.TextField(_("body"))
    # Collection messages are held until an allowed moment; receipts are due at once.
    not_before = models.DateTimeField(_("not before"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.CharField(_("last error"), max_length=255, blank=True)
    provider_reference = models.CharField(_("provider reference"), max_length=120, blank=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    skipped_reason = models.CharField(_("why not sent"), max_length=120, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("message to a miner")
        verbose_name_plural = _("messages to miners")
        constraints = [
            models.UniqueConstraint(fields=["event_key", "channel"], name="notice_one_per_event_channel"),
        ]
        indexes = [
            models.Index(fields=["not_before"], condition=Q(status="pending"), name="notice_pending_due"),
            models.Index(fields=["miner", "-created"]),
            models.Index(fields=["loan", "-created"]),
        ]

    def __str__(self) -> str:
        return f"{self.event_key} · {self.channel} · {self.status}"


class StatementLink(TimestampedModel):
    """A signed, expiring link to a miner's statement page (no password). The URL carries a signed
    token naming this row; revoking the row kills the link before it expires."""

    miner = models.ForeignKey(Miner, on_delete=models.CASCADE, related_name="statement_links")
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    last_opened_at = models.DateTimeField(_("last opened at"), null=True, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = _("statement link")
        verbose_name_plural = _("statement links")

    def __str__(self) -> str:
        return f"{self.miner} until {self.expires_at:%Y-%m-%d}"
