"""Servicing records: schedule lines, the append-only transaction log, withholdings, remittances,
reconciliation exceptions and risk ratings."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField, PercentField, TimestampedModel
from buyers.models import Buyer, Settlement
from loans.models import Loan


class ScheduleLine(models.Model):
    """One installment of a cronograma. A regenerated schedule (prepayment, reprogramación) gets a new ``version``;
    earlier versions stay for history with ``is_current`` false. The ``paid_*`` columns are derived
    from the transaction log by the servicing engine."""

    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        PARTIAL = "partial", _("partially paid")
        PAID = "paid", _("paid")
        OVERDUE = "overdue", _("overdue")

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="schedule_lines")
    version = models.PositiveSmallIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    number = models.PositiveSmallIntegerField(_("number"))
    due_on = models.DateField(_("due date"))
    days = models.PositiveSmallIntegerField(_("days"))
    opening_balance = MoneyField(_("opening balance"))
    principal = MoneyField(_("principal"))
    interest = MoneyField(_("interest"))
    insurance = MoneyField(_("insurance"), default=0)
    fees = MoneyField(_("fees"), default=0)
    total = MoneyField(_("total"))
    closing_balance = MoneyField(_("balance"))
    # Interest added to the balance instead of paid (total grace only).
    capitalized = MoneyField(_("capitalized interest"), default=0)
    # Interest of a reprogramación's payment holiday spread over the new installments (never principal).
    deferred_interest = MoneyField(_("deferred interest"), default=0)
    paid_deferred_interest = MoneyField(_("deferred interest paid"), default=0)
    paid_principal = MoneyField(_("principal paid"), default=0)
    paid_interest = MoneyField(_("interest paid"), default=0)
    paid_insurance = MoneyField(_("insurance paid"), default=0)
    paid_fees = MoneyField(_("fees paid"), default=0)
    moratory_accrued = MoneyField(_("moratory interest"), default=0)
    paid_moratory = MoneyField(_("moratory interest paid"), default=0)
    # Compensatory interest on the line's overdue principal after its due date (Ley 31143).
    late_interest_accrued = MoneyField(_("compensatory interest on overdue principal"), default=0)
    paid_late_interest = MoneyField(_("compensatory interest on overdue principal paid"), default=0)
    # Late charges accrued through ``moratory_base_on`` (the line's last payment date or its due date),
    # unrounded: the nightly job extends them to any later date in SQL with the ledger's own formula.
    moratory_base = models.DecimalField(
        _("moratory interest accrued to base date"), max_digits=24, decimal_places=10, default=0
    )
    late_interest_base = models.DecimalField(
        _("compensatory interest accrued to base date"), max_digits=24, decimal_places=10, default=0
    )
    moratory_base_on = models.DateField(_("moratory base date"), null=True, blank=True)
    paid_on = models.DateField(_("paid in full on"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)

    class Meta:
        ordering = ["loan", "version", "number"]
        verbose_name = _("installment")
        verbose_name_plural = _("installments")
        constraints = [
            models.UniqueConstraint(fields=["loan", "version", "number"], name="scheduleline_unique_number"),
            models.CheckConstraint(
                condition=Q(
                    opening_balance__gte=0,
                    principal__gte=0,
                    interest__gte=0,
                    insurance__gte=0,
                    fees__gte=0,
                    deferred_interest__gte=0,
                    total__gte=0,
                    closing_balance__gte=0,
                ),
                name="scheduleline_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    paid_principal__gte=0,
                    paid_principal__lte=F("principal"),
                    paid_interest__gte=0,
                    paid_interest__lte=F("interest"),
                    paid_insurance__gte=0,
                    paid_insurance__lte=F("insurance"),
                    paid_fees__gte=0,
                    paid_fees__lte=F("fees"),
                    paid_moratory__gte=0,
                    paid_moratory__lte=F("moratory_accrued"),
                    paid_late_interest__gte=0,
                    paid_late_interest__lte=F("late_interest_accrued"),
                    paid_deferred_interest__gte=0,
                    paid_deferred_interest__lte=F("deferred_interest"),
                ),
                name="scheduleline_paid_within_due",
            ),
        ]
        indexes = [
            models.Index(fields=["loan", "is_current", "due_on"]),
            models.Index(fields=["due_on"], condition=Q(is_current=True), name="scheduleline_current_due"),
        ]

    def __str__(self) -> str:
        return f"{self.loan.code} #{self.number} {self.due_on}"


class LoanTransaction(models.Model):
    """The append-only log a loan's state is derived from. Corrections are new rows (a reversal
    points at what it reverses); rows are never updated or deleted."""

    class Kind(models.TextChoices):
        DISBURSEMENT = "disbursement", _("disbursement")
        PAYMENT = "payment", _("direct payment")
        PREPAYMENT = "prepayment", _("prepayment")
        WITHHOLDING = "withholding", _("withholding")
        REVERSAL = "reversal", _("reversal")
        MORATORY_ACCRUAL = "moratory_accrual", _("moratory interest accrual")
        # Uses of an overpayment credit: refunded to the miner, or applied to another of its loans.
        CREDIT_REFUND = "credit_refund", _("overpayment credit refunded")
        CREDIT_TRANSFER = "credit_transfer", _("overpayment credit applied to another loan")
        # A reprogramación taking effect (amount 0): its chosen option is in ``parameters``.
        RESCHEDULE = "reschedule", _("reprogramación")
        # Refinanciación: the loan's payoff on the day, paid by the principal of the new refinanced loan.
        REFINANCE = "refinance", _("refinancing")

    class Treatment(models.TextChoices):
        AUTO = "auto", _("by the rule")
        PAGO_ANTICIPADO = "pago_anticipado", _("pago anticipado")
        ADELANTO = "adelanto", _("adelanto de cuotas")

    class PrepaymentMode(models.TextChoices):
        REDUCE_TERM = "reduce_term", _("shorter term")
        REDUCE_INSTALLMENT = "reduce_installment", _("lower installment")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="transactions")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    value_date = models.DateField(_("value date"))
    amount = MoneyField(_("amount"))
    currency = CurrencyField()
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversed_by")
    settlement = models.ForeignKey(
        Settlement, null=True, blank=True, on_delete=models.PROTECT, related_name="loan_transactions"
    )
    prepayment_mode = models.CharField(max_length=20, choices=PrepaymentMode.choices, blank=True)
    # What the borrower asked for at the time of paying (a withholding: the loan's standing instruction);
    # the replay decides how it was applied (installments.ledger).
    treatment = models.CharField(_("treatment"), max_length=16, choices=Treatment.choices, default=Treatment.AUTO)
    # A credit transfer's destination: the payment it made on another loan of the same miner.
    transfer_payment = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="transferred_from"
    )
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    note = models.CharField(_("note"), max_length=255, blank=True)
    # What the replay needs besides the amount, per kind (a reprogramación: ``RescheduleOptions``).
    parameters = models.JSONField(_("parameters"), default=dict, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(_("recorded at"), auto_now_add=True)

    class Meta:
        ordering = ["loan", "value_date", "id"]
        verbose_name = _("loan transaction")
        verbose_name_plural = _("loan transactions")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="transaction_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(kind="reversal", reverses__isnull=False) | (~Q(kind="reversal") & Q(reverses__isnull=True)),
                name="transaction_reversal_points_back",
            ),
            models.CheckConstraint(
                condition=~Q(kind="withholding") | Q(settlement__isnull=False),
                name="transaction_withholding_has_settlement",
            ),
        ]
        indexes = [models.Index(fields=["loan", "value_date"]), models.Index(fields=["kind", "value_date"])]

    def __str__(self) -> str:
        return f"{self.loan.code} {self.get_kind_display()} {self.amount} {self.value_date}"

    def save(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Loan transactions are append-only; record a reversal instead.")
        super().save(*args, **kwargs)


class Allocation(models.Model):
    """How a payment-like transaction was applied, per installment and component. Derived: rebuilt
    whenever the loan is recomputed from its log."""

    class Component(models.TextChoices):
        MORATORY = "moratory", _("moratory interest")
        LATE_INTEREST = "late_interest", _("compensatory interest on overdue principal")
        INTEREST = "interest", _("interest")
        DEFERRED_INTEREST = "deferred_interest", _("deferred interest")
        INSURANCE = "insurance", _("insurance")
        FEES = "fees", _("fees")
        PRINCIPAL = "principal", _("principal")
        # Beyond everything owed: a credit in the miner's favour, on no installment.
        OVERPAYMENT = "overpayment", _("overpayment credit")

    transaction = models.ForeignKey(LoanTransaction, on_delete=models.CASCADE, related_name="allocations")
    schedule_line = models.ForeignKey(
        ScheduleLine, null=True, blank=True, on_delete=models.CASCADE, related_name="allocations"
    )
    component = models.CharField(max_length=20, choices=Component.choices)
    amount = MoneyField(_("amount"))

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="allocation_amount_positive"),
            models.CheckConstraint(
                condition=Q(component="overpayment", schedule_line__isnull=True)
                | (~Q(component="overpayment") & Q(schedule_line__isnull=False)),
                name="allocation_line_unless_overpayment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.component} {self.amount}"


class Withholding(TimestampedModel):
    """The part of a settlement's payable the buyer keeps for a loan: the miner's payment dated the
    settlement date, and from then on a debt of the buyer to the lender until remitted."""

    class Status(models.TextChoices):
        UNREMITTED = "unremitted", _("unremitted")
        PARTIAL = "partial", _("partially remitted")
        REMITTED = "remitted", _("remitted")
        REVERSED = "reversed", _("reversed")

    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="withholdings")
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="withholdings")
    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="withholdings")
    transaction = models.OneToOneField(LoanTransaction, on_delete=models.PROTECT, related_name="withholding")
    withheld_on = models.DateField(_("withheld on"))
    amount = MoneyField(_("amount (loan currency)"))
    currency = CurrencyField()
    amount_settlement_currency = MoneyField(_("amount (settlement currency)"))
    remitted_amount = MoneyField(_("remitted"), default=0)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UNREMITTED)

    class Meta:
        ordering = ["withheld_on", "id"]
        verbose_name = _("withholding")
        verbose_name_plural = _("withholdings")
        constraints = [
            models.UniqueConstraint(fields=["settlement", "loan"], name="withholding_unique_settlement_loan"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="withholding_amount_positive"),
            models.CheckConstraint(
                condition=Q(remitted_amount__gte=0, remitted_amount__lte=F("amount")),
                name="withholding_remitted_within_amount",
            ),
        ]
        indexes = [
            models.Index(fields=["buyer", "status", "withheld_on"]),
            models.Index(fields=["status", "withheld_on"], name="withholding_open_by_date"),
            models.Index(fields=["loan", "withheld_on"], name="withholding_loan_by_date"),
        ]

    def __str__(self) -> str:
        return f"{self.settlement.lot_code} → {self.loan.code}: {self.amount}"


class Remittance(TimestampedModel):
    """Money the buyer transferred to the lender for withholdings it made."""

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="remittances")
    reference = models.CharField(_("bank reference"), max_length=80)
    amount = MoneyField(_("amount"))
    currency = CurrencyField()
    paid_on = models.DateField(_("paid on"))
    settlements = models.ManyToManyField(Settlement, blank=True, related_name="remittances")
    unmatched_amount = MoneyField(_("unmatched amount"), default=0)
    reconciled_at = models.DateTimeField(_("reconciled at"), null=True, blank=True)
    # A database default too: the set-based jobs and the benchmark insert rows with SQL.
    note = models.TextField(_("note"), blank=True, default="", db_default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-paid_on", "-id"]
        verbose_name = _("remittance")
        verbose_name_plural = _("remittances")
        constraints = [
            models.UniqueConstraint(fields=["buyer", "reference"], name="remittance_unique_reference"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="remittance_amount_positive"),
            models.CheckConstraint(condition=Q(unmatched_amount__gte=0), name="remittance_unmatched_non_negative"),
        ]
        # The treasury list, newest first (read backwards), one page at a time.
        indexes = [models.Index(fields=["paid_on", "id"], name="remittance_by_date")]

    def __str__(self) -> str:
        return f"{self.buyer} {self.reference} {self.amount}"


class RemittanceMatch(models.Model):
    remittance = models.ForeignKey(Remittance, on_delete=models.CASCADE, related_name="matches")
    withholding = models.ForeignKey(Withholding, on_delete=models.PROTECT, related_name="matches")
    amount = MoneyField(_("amount"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["remittance", "withholding"], name="match_unique_pair"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="match_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.remittance_id} → {self.withholding_id}: {self.amount}"


class ReconciliationException(TimestampedModel):
    class Kind(models.TextChoices):
        SHORT = "short", _("short remittance")
        OVER = "over", _("over remittance")
        UNKNOWN_SETTLEMENT = "unknown_settlement", _("unknown settlement")
        OVERDUE_UNREMITTED = "overdue_unremitted", _("withholding unremitted past agreed days")

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")

    class Resolution(models.TextChoices):
        """What a person did about the exception (blank when the reconciliation closed it by itself)."""

        BUYER_REMITTED = "buyer_remitted", _("the buyer remitted the difference")
        KEPT_AS_CREDIT = "kept_as_credit", _("kept as credit for later withholdings")
        REFUNDED = "refunded", _("refunded to the buyer")
        CORRECTED = "corrected", _("a recording error, corrected")
        WRITTEN_OFF = "written_off", _("written off")
        OTHER = "other", _("other (see the note)")

    buyer = models.ForeignKey(Buyer, on_delete=models.PROTECT, related_name="reconciliation_exceptions")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    remittance = models.ForeignKey(
        Remittance, null=True, blank=True, on_delete=models.PROTECT, related_name="exceptions"
    )
    withholding = models.ForeignKey(
        Withholding, null=True, blank=True, on_delete=models.PROTECT, related_name="exceptions"
    )
    amount = MoneyField(_("amount"), default=0)
    detail = models.CharField(_("detail"), max_length=255, blank=True)
    detected_on = models.DateField(_("detected on"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    # A database default too: the hourly reconciliation inserts exceptions with SQL.
    resolution = models.CharField(
        _("resolution"), max_length=20, choices=Resolution.choices, blank=True, default="", db_default=""
    )
    resolution_note = models.TextField(_("resolution note"), blank=True)

    class Meta:
        ordering = ["-detected_on", "-id"]
        verbose_name = _("reconciliation exception")
        verbose_name_plural = _("reconciliation exceptions")
        constraints = [
            # One open "overdue" exception per withholding, so the hourly job can run any number of times.
            models.UniqueConstraint(
                fields=["kind", "withholding"],
                condition=Q(kind="overdue_unremitted"),
                name="exception_one_overdue_per_withholding",
            ),
            # One open short/over exception per remittance, so reconciliation can run any number of times.
            models.UniqueConstraint(
                fields=["kind", "remittance"],
                condition=Q(kind__in=["short", "over"], status="open"),
                name="exception_one_open_per_remittance",
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="exception_amount_non_negative"),
            models.CheckConstraint(
                condition=Q(status="open") | Q(resolved_at__isnull=False), name="exception_resolved_has_time"
            ),
        ]
        # The exceptions queue: open (or resolved) ones oldest first, for all buyers or one.
        indexes = [
            models.Index(fields=["status", "detected_on", "id"], name="exception_queue"),
            models.Index(fields=["buyer", "status", "detected_on"], name="exception_buyer_queue"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.buyer} {self.amount}"


class LoanRating(models.Model):
    """A loan's risk rating as of a date (SBS Res. 11356-2008), kept per date for history."""

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="ratings")
    as_of = models.DateField(_("as of"))
    days_past_due = models.PositiveIntegerField(_("days past due"))
    category = models.CharField(_("category"), max_length=12)
    aligned_category = models.CharField(_("aligned category"), max_length=12)
    outstanding_principal = MoneyField(_("outstanding principal"))
    covered_share = models.DecimalField(_("guarantee-covered share"), max_digits=5, decimal_places=4, default=0)
    provision_rate = PercentField(_("provision rate (%)"))
    provision = MoneyField(_("provision"))
    warnings = models.JSONField(_("early warnings"), default=list, blank=True)

    class Meta:
        ordering = ["-as_of", "loan"]
        verbose_name = _("loan rating")
        verbose_name_plural = _("loan ratings")
        constraints = [
            models.UniqueConstraint(fields=["loan", "as_of"], name="rating_unique_loan_date"),
            models.CheckConstraint(
                condition=Q(outstanding_principal__gte=0, provision__gte=0), name="rating_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(covered_share__gte=0, covered_share__lte=1), name="rating_covered_share_range"
            ),
        ]
        indexes = [
            models.Index(fields=["as_of", "aligned_category"]),
            # The dashboard's early-warning queue: the night's ratings with a signal, worst first.
            models.Index(fields=["as_of", "-days_past_due"], condition=~Q(warnings=[]), name="rating_with_warnings"),
        ]

    def __str__(self) -> str:
        return f"{self.loan.code} {self.as_of} {self.aligned_category}"


class PortfolioRating(models.Model):
    """Portfolio totals as of a date: PAR by balance and provisions."""

    as_of = models.DateField(_("as of"), unique=True)
    active_loans = models.PositiveIntegerField(default=0)
    outstanding_principal = MoneyField(_("outstanding principal"), default=0)
    par1 = models.DecimalField("PAR1", max_digits=7, decimal_places=4, default=0)
    par30 = models.DecimalField("PAR30", max_digits=7, decimal_places=4, default=0)
    par90 = models.DecimalField("PAR90", max_digits=7, decimal_places=4, default=0)
    generic_provision = MoneyField(_("generic provision"), default=0)
    specific_provision = MoneyField(_("specific provision"), default=0)
    by_category = models.JSONField(_("by category"), default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-as_of"]
        verbose_name = _("portfolio rating")
        verbose_name_plural = _("portfolio ratings")

    def __str__(self) -> str:
        return f"{self.as_of} PAR30 {self.par30}"


# --- Running totals of the book (the dashboard's figures) ---------------------------------------------
# Rows only ever added (a change of the book is one more row of differences) and summed on read, so no
# two writers ever wait on one row; PostgreSQL triggers add them in the transaction of the change, and
# ``installments.tally`` folds them together and rebuilds them. See that module.


class BookTally(models.Model):
    """Changes to the active book (loans active with principal outstanding), by currency and by the
    days past due and date of each loan's state; ``borrowers``/``women`` count miners entering or
    leaving the book (on rows with no currency)."""

    currency = models.CharField(max_length=3)
    days_past_due = models.IntegerField(default=0)
    state_as_of = models.DateField(null=True)  # only for loans past due: their days past due age from it
    loans = models.IntegerField(default=0)
    outstanding = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    overdue = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    borrowers = models.IntegerField(default=0)
    women = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.currency} dpd {self.days_past_due}: {self.loans} loans, {self.outstanding}"


class FlowTally(models.Model):
    """Money moved per day and currency: principal disbursed (by disbursement date), withheld (by
    withholding date, reversed ones out) and matched to remittances (by the remittance's date)."""

    day = models.DateField()
    currency = models.CharField(max_length=3)
    loans_disbursed = models.IntegerField(default=0)
    disbursed = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    withheld = models.DecimalField(max_digits=20, decimal_places=2, default=0)
    remitted = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    class Meta:
        indexes = [models.Index(fields=["day"], name="flowtally_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.currency}: withheld {self.withheld}, remitted {self.remitted}"


class OwedTally(models.Model):
    """What each buyer owes: withheld and not yet remitted, per currency."""

    buyer_id = models.BigIntegerField()
    currency = models.CharField(max_length=3)
    owed = models.DecimalField(max_digits=20, decimal_places=2, default=0)

    def __str__(self) -> str:
        return f"buyer {self.buyer_id}: {self.owed} {self.currency}"


class BorrowerTally(models.Model):
    """How many of a miner's loans are in the active book, so ``BookTally`` counts the miner once."""

    miner_id = models.BigIntegerField(primary_key=True)
    loans = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"miner {self.miner_id}: {self.loans} loans"
