"""Cross-cutting records: the audit trail, job runs and API idempotency keys."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who changed what, when, with the state before and after. Written in the same transaction as
    the change it records, so an audited change and its audit row commit or roll back together."""

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # A readable name for non-user actors too: "buyer-key:Orex ERP", "job:rate_portfolio", "seed_demo".
    actor_label = models.CharField(_("actor"), max_length=150)
    action = models.CharField(_("action"), max_length=80, db_index=True)
    object_type = models.CharField(_("object type"), max_length=80)
    object_id = models.CharField(_("object id"), max_length=64)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_type}#{self.object_id}"


class JobRun(models.Model):
    """One run of a batch job (nightly rating, reconciliation, imports, reports)."""

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        SUCCEEDED = "succeeded", _("succeeded")
        FAILED = "failed", _("failed")

    name = models.CharField(_("job"), max_length=80)
    as_of = models.DateField(_("as of"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    rows_touched = models.PositiveIntegerField(_("rows touched"), default=0)
    progress = models.PositiveSmallIntegerField(_("progress %"), default=0)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    task_id = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["name", "as_of"])]
        constraints = [
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="jobrun_progress_le_100"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.as_of or ''} {self.status}"


class IdempotencyRecord(models.Model):
    """The first response to a POST with an Idempotency-Key, replayed for a retry with the same body.

    Unique per client, so two buyers may use the same key without seeing each other's responses.
    """

    client = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["client", "key"], name="idempotency_unique_client_key")]

    def __str__(self) -> str:
        return f"{self.client} {self.key}"


class OutboxMessage(models.Model):
    """A task to publish to the broker, written in the same transaction as the work that asks for it
    (``asmcredit.outbox.outbox_enqueue``). Committed work therefore never loses its follow-up task to
    a broker outage, and a failed publish never fails the request: the row waits for the next drain."""

    task_name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("dispatched"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("failed attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [
            # The drain reads only pending rows; dispatched ones are kept for a while, for the admin.
            models.Index(fields=["id"], condition=models.Q(dispatched_at__isnull=True), name="outbox_pending"),
        ]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self) -> str:
        return f"{self.task_name} #{self.pk} {'dispatched' if self.dispatched_at else 'pending'}"


class StaffToken(models.Model):
    """A lender user's API token (``Authorization: Token <key>``). Only a SHA-256 hash of the key is
    stored; the key itself is shown once, when issued (``asmcredit.tokens.staff_token_issue``). A token
    stops working when it expires or is revoked, whichever comes first."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_tokens")
    name = models.CharField(_("name"), max_length=100, default="default")
    # The first characters of the key, to tell tokens apart in the admin without storing the key.
    prefix = models.CharField(_("prefix"), max_length=12)
    hashed_key = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"))
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("staff API token")
        verbose_name_plural = _("staff API tokens")

    def __str__(self) -> str:
        return f"{self.user} / {self.name} ({self.prefix}…)"


class UserPreference(models.Model):
    """What a person chose for the web app and keeps from one sign-in to the next: the language of the
    pages (``asmcredit.preferences``). The session holds it while signed in; this row brings it back."""

    class Language(models.TextChoices):
        SPANISH = "es", _("Spanish")
        ENGLISH = "en", _("English")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    language = models.CharField(_("language"), max_length=5, choices=Language.choices, default=Language.SPANISH)
    updated = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("user preference")
        verbose_name_plural = _("user preferences")

    def __str__(self) -> str:
        return f"{self.user} · {self.language}"
