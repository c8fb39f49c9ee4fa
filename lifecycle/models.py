"""A loan's life beyond the happy path (DOMAIN.md §7): what needs two people — one who asks, one who
approves — before the servicing engine moves money or classification."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField
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


class CollectionContact(models.Model):
    """One attempt to reach a borrower in arrears: a call, a visit, a message — and what came of it."""

    class Channel(models.TextChoices):
        CALL = "call", _("phone call")
        VISIT = "visit", _("visit")
        MESSAGE = "message", _("message")
        BUYER = "buyer", _("through the buyer")

    class Outcome(models.TextChoices):
        PROMISED = "promised", _("promised to pay")
        REACHED = "reached", _("reached, no promise")
        NO_ANSWER = "no_answer", _("no answer")
        REFUSED = "refused", _("refused to pay")
        UNREACHABLE = "unreachable", _("wrong number or address")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collection_contacts")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    contacted_on = models.DateField(_("contacted on"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-contacted_on", "-id"]
        verbose_name = _("collection contact")
        verbose_name_plural = _("collection contacts")
        indexes = [models.Index(fields=["loan", "-contacted_on", "-id"], name="contact_latest_per_loan")]

    def __str__(self) -> str:
        return f"{self.loan} {self.contacted_on} {self.channel}: {self.outcome}"


class PromiseToPay(models.Model):
    """The borrower's promise to pay ``amount`` by ``promised_on``. Whether it was kept is never typed in:
    ``lifecycle.selectors`` reads it from the ledger (payments and withholdings from the day it was made
    through the promised day, reversals excluded)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="promises")
    contact = models.OneToOneField(
        CollectionContact, null=True, blank=True, on_delete=models.PROTECT, related_name="promise"
    )
    made_on = models.DateField(_("made on"))
    promised_on = models.DateField(_("promised for"))
    amount = MoneyField(_("amount"))
    currency = CurrencyField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-promised_on", "-id"]
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(condition=Q(promised_on__gte=F("made_on")), name="promise_after_made"),
        ]
        indexes = [
            models.Index(fields=["promised_on"], name="promise_by_date"),
            models.Index(fields=["loan", "-promised_on"], name="promise_latest_per_loan"),
        ]

    def __str__(self) -> str:
        return f"{self.loan} {self.amount} by {self.promised_on}"


class WriteOff(models.Model):
    """Castigo: a loan rated Pérdida, fully provisioned, with its collection efforts on record, taken out
    of the active book by a preparer and an approver who is someone else. The debt is still owed: what
    the loan receives afterwards is a recovery."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("written off")
        REJECTED = "rejected", _("rejected")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="write_offs")
    reason = models.TextField(_("reason"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("prepared at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # What left the active book, as it stood on the day of the approval.
    written_off_on = models.DateField(_("written off on"), null=True, blank=True)
    principal = MoneyField(_("principal written off"), default=0)
    interest_and_charges = MoneyField(_("interest and charges written off"), default=0)
    provision = MoneyField(_("provision held"), default=0)
    rating_as_of = models.DateField(_("rating date"), null=True, blank=True)
    contacts = models.PositiveIntegerField(_("collection contacts on record"), default=0)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("write-off")
        verbose_name_plural = _("write-offs")
        constraints = [
            models.UniqueConstraint(fields=["loan"], condition=Q(status="pending"), name="writeoff_one_pending"),
            models.UniqueConstraint(fields=["loan"], condition=Q(status="approved"), name="writeoff_once"),
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="writeoff_decider_is_not_preparer",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(written_off_on__isnull=False, decided_by__isnull=False),
                name="writeoff_approved_is_dated",
            ),
        ]
        indexes = [models.Index(fields=["status", "written_off_on"], name="writeoff_by_status_date")]

    def __str__(self) -> str:
        return f"{self.loan} ({self.status})"


class RescheduleProposal(models.Model):
    """Reprogramación (DOMAIN.md §7): new due dates, term or a payment holiday for one loan, or for every
    eligible loan of a buyer or a region at once ("all Orex suppliers, two months, rainy season"), for an
    event — not because the borrower cannot pay. The borrower is offered more than one option and
    answered within ``RESCHEDULE_ANSWER_DAYS`` days (Res. SBS 1870-2020): ``options`` records what was
    offered and ``chosen`` the one taken, whose terms are copied into the three columns below. A second
    person approves once for all its loans; each then gets a new cronograma version."""

    class Scope(models.TextChoices):
        LOAN = "loan", _("one loan")
        BUYER = "buyer", _("the loans of a buyer")
        REGION = "region", _("the loans of a region")

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved and applied")
        REJECTED = "rejected", _("rejected")

    scope = models.CharField(_("scope"), max_length=8, choices=Scope.choices)
    buyer = models.ForeignKey(
        "buyers.Buyer", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("buyer")
    )
    # A department code (the first two digits of the miners' ubigeo).
    region = models.CharField(_("region"), max_length=2, blank=True)
    reason = models.TextField(_("event"))
    options = models.JSONField(_("options offered"), default=list)
    chosen = models.PositiveSmallIntegerField(_("option chosen"), default=0)
    extra_installments = models.PositiveSmallIntegerField(_("extra installments"), default=0)
    holiday_periods = models.PositiveSmallIntegerField(_("payment holiday (periods)"), default=0)
    due_day = models.PositiveSmallIntegerField(_("new due day"), null=True, blank=True)
    effective_on = models.DateField(_("effective on"))
    answer_by = models.DateField(_("answer the borrower by"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("requested at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("reprogramación")
        verbose_name_plural = _("reprogramaciones")
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="reschedule_decider_is_not_requester",
            ),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(decided_by__isnull=False), name="reschedule_approved_is_decided"
            ),
            models.CheckConstraint(
                condition=(Q(scope="buyer") & Q(buyer__isnull=False)) | ~Q(scope="buyer"),
                name="reschedule_buyer_scope_names_buyer",
            ),
            models.CheckConstraint(
                condition=(Q(scope="region") & ~Q(region="")) | ~Q(scope="region"),
                name="reschedule_region_scope_names_region",
            ),
            models.CheckConstraint(
                condition=Q(due_day__isnull=True) | Q(due_day__gte=1, due_day__lte=31),
                name="reschedule_due_day_in_month",
            ),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="reschedule_by_status")]

    def __str__(self) -> str:
        return f"{self.get_scope_display()} {self.effective_on} ({self.status})"


class RescheduleItem(models.Model):
    """One loan of a reprogramación: its installment before and after (as previewed when asked), and,
    once applied, the ledger entry that made its new cronograma version."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPLIED = "applied", _("applied")
        SKIPPED = "skipped", _("not applied")
        REJECTED = "rejected", _("rejected")

    proposal = models.ForeignKey(RescheduleProposal, on_delete=models.CASCADE, related_name="items")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="reschedule_items")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    installment_before = MoneyField(_("installment before"))
    installment_after = MoneyField(_("installment after"))
    deferred_interest = MoneyField(_("deferred interest"), default=0)
    last_due_before = models.DateField(_("last due date before"), null=True, blank=True)
    last_due_after = models.DateField(_("last due date after"), null=True, blank=True)
    # Why a loan eligible when asked was not rescheduled at approval (it fell behind meanwhile).
    skip_reason = models.CharField(_("reason not applied"), max_length=255, blank=True)
    transaction = models.OneToOneField(
        LoanTransaction, null=True, blank=True, on_delete=models.PROTECT, related_name="reschedule_item"
    )
    schedule_version = models.PositiveSmallIntegerField(_("cronograma version"), null=True, blank=True)

    class Meta:
        ordering = ["proposal", "id"]
        verbose_name = _("loan of a reprogramación")
        verbose_name_plural = _("loans of a reprogramación")
        constraints = [
            models.UniqueConstraint(fields=["proposal", "loan"], name="reschedule_item_once_per_proposal"),
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="pending"), name="reschedule_one_pending_per_loan"
            ),
            models.CheckConstraint(
                condition=~Q(status="applied") | Q(transaction__isnull=False), name="reschedule_applied_has_entry"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.loan} ({self.status})"
