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


class BookImport(models.Model):
    """One run of the migration of a lender's existing book (migración de cartera): its files, the cut-off
    date the lender declared its balances on, and what came of each loan (``BookImportLine``).

    A dry run replays every loan and rolls it back; a commit keeps the loans whose balances tie. The
    files are kept (as ``asmcredit.tabular.upload_text`` gives them) so the page can commit what the
    officer saw in the dry run, and an auditor can read what was imported."""

    class Mode(models.TextChoices):
        DRY_RUN = "dry_run", _("dry run")
        COMMIT = "commit", _("commit")

    class Status(models.TextChoices):
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("file refused")

    mode = models.CharField(_("mode"), max_length=8, choices=Mode.choices, default=Mode.DRY_RUN)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.RUNNING)
    cutoff = models.DateField(_("cut-off date"))
    file_name = models.CharField(_("file"), max_length=200, blank=True)
    loans_text = models.TextField(blank=True)
    payments_text = models.TextField(blank=True)
    schedule_text = models.TextField(blank=True)
    # The dry run a commit confirms (the page's flow); null for a command run.
    confirms = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="commits")
    job = models.ForeignKey("asmcredit.JobRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    loans = models.PositiveIntegerField(_("loans in the file"), default=0)
    tied = models.PositiveIntegerField(_("loans that tie"), default=0)
    mismatched = models.PositiveIntegerField(_("loans that do not tie"), default=0)
    skipped = models.PositiveIntegerField(_("loans already imported"), default=0)
    imported = models.PositiveIntegerField(_("loans imported"), default=0)
    # Row-level errors of the files: [{"file": "loans"|"payments"|"schedule", "row": n, "errors": [...]}].
    row_errors = models.JSONField(_("errors in the files"), default=list, blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("book import")
        verbose_name_plural = _("book imports")

    def __str__(self) -> str:
        return f"#{self.pk} {self.mode} {self.cutoff} ({self.status})"


class BookImportLine(models.Model):
    """One loan of a book import: whether its replayed balances tie with what the lender declared, the
    differences field by field, and the loan it became when it was imported (an opening loan)."""

    class Outcome(models.TextChoices):
        TIES = "ties", _("ties")
        IMPORTED = "imported", _("imported")
        MISMATCH = "mismatch", _("does not tie")
        REFUSED = "refused", _("cannot be replayed")
        SKIPPED = "skipped", _("already imported")

    batch = models.ForeignKey(BookImport, on_delete=models.CASCADE, related_name="lines")
    row = models.PositiveIntegerField(_("row"))
    lender_number = models.CharField(_("lender's loan number"), max_length=40)
    outcome = models.CharField(_("outcome"), max_length=10, choices=Outcome.choices)
    # [{"field": ..., "ours": "123.45", "theirs": "120.00", "difference": "3.45"}]
    differences = models.JSONField(_("differences"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    loan = models.OneToOneField(
        Loan, null=True, blank=True, on_delete=models.PROTECT, related_name="migration", verbose_name=_("loan")
    )

    class Meta:
        ordering = ["batch", "row", "id"]
        verbose_name = _("book import line")
        verbose_name_plural = _("book import lines")
        constraints = [
            models.CheckConstraint(
                condition=~Q(outcome="imported") | Q(loan__isnull=False), name="book_import_imported_has_loan"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.lender_number}: {self.outcome}"
