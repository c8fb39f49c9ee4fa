"""A loan's life beyond the happy path (DOMAIN.md §7): what needs two people — one who asks, one who
approves — before the servicing engine moves money or classification."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField, PercentField
from installments.models import LoanTransaction
from loans.models import Loan, LoanProduct


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


# --- Guarantee funds (DOMAIN.md §6, §7) --------------------------------------------------------------


class GuaranteeFund(models.Model):
    """A guarantee fund (CRECER-like) that covers part of the principal of the loans enrolled in it.

    The fund covers the loans of the products linked to it (``GuaranteedProduct``), at the share its
    coverage rules give for the loan's term and type on its disbursement day. A claim is filed once a
    covered loan reaches ``claim_threshold_dpd`` days past due."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=200)
    claim_threshold_dpd = models.PositiveSmallIntegerField(
        _("claim threshold (days past due)"),
        default=90,
        help_text=_("A claim can be filed once a covered loan is this many days past due."),
    )
    is_active = models.BooleanField(
        _("active"), default=True, help_text=_("An inactive fund enrols no new loans; its claims go on.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("guarantee fund")
        verbose_name_plural = _("guarantee funds")
        constraints = [
            models.CheckConstraint(condition=Q(claim_threshold_dpd__gte=1), name="fund_threshold_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class GuaranteedProduct(models.Model):
    """The product says so: its loans join ``fund`` at disbursement. A product belongs to one fund at most."""

    fund = models.ForeignKey(GuaranteeFund, on_delete=models.PROTECT, related_name="products")
    product = models.OneToOneField(
        LoanProduct, on_delete=models.PROTECT, related_name="guarantee_fund_link", verbose_name=_("product")
    )

    class Meta:
        verbose_name = _("product covered by a guarantee fund")
        verbose_name_plural = _("products covered by a guarantee fund")

    def __str__(self) -> str:
        return f"{self.product} → {self.fund}"


class GuaranteeCoverageRule(models.Model):
    """The share of the principal a fund covers, by term band (months) and optionally for one product or
    one type of loan, in force from ``effective_from``.

    Rules in force on a day: for the most specific scope that has any (this product, else this type of
    loan, else the whole fund), the rules of its latest ``effective_from`` on or before that day — a new
    date replaces the scope's whole table of bands. The band holding the loan's term gives the coverage."""

    fund = models.ForeignKey(GuaranteeFund, on_delete=models.PROTECT, related_name="rules")
    product = models.ForeignKey(
        LoanProduct,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("product"),
        help_text=_("Only this product's loans (empty: any)."),
    )
    purpose = models.CharField(
        _("type of loan"),
        max_length=30,
        blank=True,
        choices=LoanProduct.Purpose.choices,
        help_text=_("Only loans of this type (empty: any)."),
    )
    min_term_months = models.PositiveSmallIntegerField(_("from term (months)"), default=1)
    max_term_months = models.PositiveSmallIntegerField(
        _("to term (months)"), null=True, blank=True, help_text=_("Empty: no upper limit.")
    )
    coverage_pct = PercentField(_("coverage (%)"))
    effective_from = models.DateField(_("in force from"))

    class Meta:
        ordering = ["fund", "-effective_from", "min_term_months"]
        verbose_name = _("guarantee coverage rule")
        verbose_name_plural = _("guarantee coverage rules")
        constraints = [
            models.CheckConstraint(
                condition=Q(coverage_pct__gt=0, coverage_pct__lte=100), name="coverage_rule_pct_range"
            ),
            models.CheckConstraint(
                condition=Q(min_term_months__gte=1)
                & (Q(max_term_months__isnull=True) | Q(max_term_months__gte=F("min_term_months"))),
                name="coverage_rule_term_band",
            ),
            models.CheckConstraint(condition=Q(product__isnull=True) | Q(purpose=""), name="coverage_rule_one_scope"),
            # One band starting at a term per scope and date (two constraints: a NULL product is a scope too).
            models.UniqueConstraint(
                fields=["fund", "product", "effective_from", "min_term_months"],
                condition=Q(product__isnull=False),
                name="coverage_rule_unique_product_band",
            ),
            models.UniqueConstraint(
                fields=["fund", "purpose", "effective_from", "min_term_months"],
                condition=Q(product__isnull=True),
                name="coverage_rule_unique_band",
            ),
        ]

    def __str__(self) -> str:
        upper = self.max_term_months or "∞"
        return f"{self.fund}: {self.min_term_months}–{upper} m → {self.coverage_pct}% ({self.effective_from})"


class GuaranteeEnrolment(models.Model):
    """A loan covered by a fund, at the coverage its rule gave (also kept on ``Loan.guarantee_coverage_pct``)."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="guarantee_enrolment")
    fund = models.ForeignKey(GuaranteeFund, on_delete=models.PROTECT, related_name="enrolments")
    rule = models.ForeignKey(GuaranteeCoverageRule, on_delete=models.PROTECT, related_name="+")
    coverage_pct = PercentField(_("coverage (%)"))
    enrolled_on = models.DateField(_("enrolled on"))
    enrolled_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    enrolled_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("guarantee fund enrolment")
        verbose_name_plural = _("guarantee fund enrolments")
        constraints = [
            models.CheckConstraint(condition=Q(coverage_pct__gt=0, coverage_pct__lte=100), name="enrolment_pct_range"),
        ]

    def __str__(self) -> str:
        return f"{self.loan_id} in {self.fund} ({self.coverage_pct}%)"


class GuaranteeClaim(models.Model):
    """A claim on the guarantee fund for coverage × outstanding principal of a loan in default, filed by
    one person and approved by another; then the fund's payment is recorded. The payment reduces the
    lender's exposure, never the miner's debt: the fund subrogates, and what the loan recovers afterwards
    is shared with it pro rata (``lifecycle.guarantees``)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("awaiting approval")
        APPROVED = "approved", _("approved, awaiting the fund")
        PAID = "paid", _("paid by the fund")
        REJECTED = "rejected", _("rejected")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="guarantee_claims")
    fund = models.ForeignKey(GuaranteeFund, on_delete=models.PROTECT, related_name="claims")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    note = models.TextField(_("note"), blank=True)
    # The loan as it stood when the claim was filed.
    filed_on = models.DateField(_("filed on"))
    days_past_due = models.PositiveIntegerField(_("days past due at filing"))
    outstanding_principal = MoneyField(_("outstanding principal at filing"))
    coverage_pct = PercentField(_("coverage (%)"))
    amount = MoneyField(_("amount claimed"))
    currency = CurrencyField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(_("filed at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    decision_note = models.TextField(_("decision note"), blank=True)
    # The fund's payment.
    paid_on = models.DateField(_("paid by the fund on"), null=True, blank=True)
    paid_amount = MoneyField(_("paid by the fund"), null=True, blank=True)
    bank_reference = models.CharField(_("bank reference"), max_length=60, blank=True)
    payment_recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-requested_at", "-id"]
        verbose_name = _("guarantee claim")
        verbose_name_plural = _("guarantee claims")
        constraints = [
            # One claim per loan that is open or paid: a rejected one may be filed again.
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status__in=["pending", "approved", "paid"]), name="claim_one_per_loan"
            ),
            # The two-person rule, kept by the database too.
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="claim_decider_is_not_filer",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["approved", "paid"]) | Q(decided_by__isnull=False),
                name="claim_approved_by_someone",
            ),
            models.CheckConstraint(
                condition=~Q(status="paid")
                | Q(paid_on__isnull=False, paid_amount__gt=0, paid_amount__lte=F("amount")) & ~Q(bank_reference=""),
                name="claim_paid_is_recorded",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_amount_positive"),
        ]
        indexes = [models.Index(fields=["status", "requested_at"], name="claim_by_status")]

    def __str__(self) -> str:
        return f"{self.loan} {self.amount} ({self.status})"


class GuaranteeRemittance(models.Model):
    """The fund's share of what a loan recovered after its claim was paid, handed over to the fund."""

    claim = models.ForeignKey(GuaranteeClaim, on_delete=models.PROTECT, related_name="remittances")
    amount = MoneyField(_("amount"))
    remitted_on = models.DateField(_("remitted on"))
    reference = models.CharField(_("bank reference"), max_length=60)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["-remitted_on", "-id"]
        verbose_name = _("recovery remitted to a guarantee fund")
        verbose_name_plural = _("recoveries remitted to guarantee funds")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="fund_remittance_positive")]

    def __str__(self) -> str:
        return f"{self.claim_id}: {self.amount} on {self.remitted_on}"
