"""A loan's life beyond the happy path (DOMAIN.md §7): what needs two people — one who asks, one who
approves — before the servicing engine moves money or classification."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from installments.models import LoanTransaction
from loans.models import Loan


class ReversalRequest(models.Model):
    """A counter payment or withholding recorded by mistake, to be reversed once a second person agrees.

    The approver is never the person who asked; on approval the servicing engine records the REVERSAL
    transaction (``installments.services.transaction_reverse``) and the loan replays."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved and reversed")
        REJECTED = "rejected", _("rejected")
        WITHDRAWN = "withdrawn", _("withdrawn")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="reversal_requests")
    original = models.ForeignKey(
        LoanTransaction,
        on_delete=models.PROTECT,
        related_name="reversal_requests",
        verbose_name=_("payment to reverse"),
    )
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    reversal = models.OneToOneField(
        LoanTransaction,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reversal_request",
        verbose_name=_("reversal"),
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("payment reversal request")
        verbose_name_plural = _("payment reversal requests")
        constraints = [
            models.UniqueConstraint(
                fields=["original"], condition=Q(status="pending"), name="reversal_one_pending_per_payment"
            ),
            # The two-person rule, kept by the database too.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="reversal_decider_is_not_requester",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(reversal__isnull=False, decided_by__isnull=False),
                name="reversal_approved_has_reversal",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="reversal_by_status")]

    def __str__(self) -> str:
        return f"{self.loan} #{self.original_id} ({self.status})"
