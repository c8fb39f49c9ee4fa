"""The loan sub-ledger (DOMAIN.md §8): the chart of accounts and the posting rules as data, the
append-only journal, the accounting periods and the month-end tie-outs."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from asmcredit.fields import CurrencyField, MoneyField


class Account(models.Model):
    """One account of the lender's chart. SBS codes carry the currency in their third digit (1401 is the
    total of 1411 in soles and 1421 in dollars), so each seeded account exists once per currency."""

    class Kind(models.TextChoices):
        ASSET = "asset", _("asset")
        CONTRA_ASSET = "contra_asset", _("contra-asset (provisions)")
        LIABILITY = "liability", _("liability")
        INCOME = "income", _("income")
        EXPENSE = "expense", _("expense")
        MEMO_DEBIT = "memo_debit", _("memo account (debit)")
        MEMO_CREDIT = "memo_credit", _("memo account (credit contra)")

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=160)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    # Blank for an account that takes any currency (none is seeded so).
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    sbs_code = models.CharField(_("SBS account (all currencies)"), max_length=20, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("account")
        verbose_name_plural = _("chart of accounts")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class RoleMapping(models.Model):
    """Which account plays a posting role in a currency, from a date on (the latest row on or before
    the entry's value date wins)."""

    role = models.CharField(_("role"), max_length=40)
    currency = CurrencyField()
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="role_mappings")
    effective_from = models.DateField(_("effective from"))

    class Meta:
        ordering = ["role", "currency", "-effective_from"]
        verbose_name = _("role mapping")
        verbose_name_plural = _("role mappings")
        constraints = [
            models.UniqueConstraint(fields=["role", "currency", "effective_from"], name="rolemapping_unique_from")
        ]

    def __str__(self) -> str:
        return f"{self.role} {self.currency} → {self.account.code}"


class PostingRule(models.Model):
    """What an event's component debits and credits, by account role, from a date on. A negative
    amount posts the other way round (a replay that took money back)."""

    event = models.CharField(_("event"), max_length=40)
    component = models.CharField(_("component"), max_length=40)
    debit_role = models.CharField(_("debit role"), max_length=40)
    credit_role = models.CharField(_("credit role"), max_length=40)
    effective_from = models.DateField(_("effective from"))
    description = models.CharField(_("description"), max_length=200, blank=True)

    class Meta:
        ordering = ["event", "component", "-effective_from"]
        verbose_name = _("posting rule")
        verbose_name_plural = _("posting rules")
        constraints = [
            models.UniqueConstraint(fields=["event", "component", "effective_from"], name="postingrule_unique_from")
        ]

    def __str__(self) -> str:
        return f"{self.event}/{self.component}: {self.debit_role} / {self.credit_role}"


class AccountingPeriod(models.Model):
    """A month of the journal. A month with no row is open; a closed month refuses postings in the
    database itself (a trigger on the journal)."""

    class Status(models.TextChoices):
        OPEN = "open", _("open")
        CLOSED = "closed", _("closed")

    month = models.DateField(_("month"), unique=True)  # its first day
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reopen_reason = models.TextField(_("reason for reopening"), blank=True)

    class Meta:
        ordering = ["-month"]
        verbose_name = _("accounting period")
        verbose_name_plural = _("accounting periods")
        constraints = [models.CheckConstraint(condition=Q(month__day=1), name="period_month_first_day")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.status}"


class JournalEntry(models.Model):
    """One balanced entry (debits = credits, one currency), never edited: a correction is a new entry.
    ``value_date`` is where the entry sits (its period); ``source_value_date`` the date of the event it
    comes from, earlier when the event's month was already closed."""

    class Event(models.TextChoices):
        DISBURSEMENT = "disbursement", _("disbursement")
        PAYMENT = "payment", _("direct payment")
        PREPAYMENT = "prepayment", _("prepayment")
        WITHHOLDING = "withholding", _("withholding")
        REVERSAL = "reversal", _("reversal")
        CREDIT_REFUND = "credit_refund", _("overpayment refund")
        CREDIT_TRANSFER = "credit_transfer", _("overpayment applied to another loan")
        REMITTANCE = "remittance", _("remittance")
        RECOVERY = "recovery", _("recovery after write-off")
        ACCRUAL = "accrual", _("interest accrual (devengo)")
        SUSPENSION = "suspension", _("interest in suspense")
        CLASSIFICATION = "classification", _("transfer between vigente and vencido")
        PROVISION = "provision", _("provision made or released")
        WRITE_OFF = "write_off", _("write-off (castigo)")
        REFINANCING = "refinancing", _("refinancing: the new loan")
        REFINANCE = "refinance", _("refinancing: a loan it paid off")
        REPROGRAMMING = "reprogramming", _("reprogramming")
        GUARANTEE_CLAIM = "guarantee_claim", _("guarantee fund claim")
        GUARANTEE_PAYMENT = "guarantee_payment", _("guarantee fund payment")
        GUARANTEE_REMITTANCE = "guarantee_remittance", _("recovery handed to a guarantee fund")

    value_date = models.DateField(_("value date"))
    period = models.DateField(_("period"))  # the first day of value_date's month
    source_value_date = models.DateField(_("event date"))
    currency = CurrencyField()
    event = models.CharField(_("event"), max_length=20, choices=Event.choices)
    source_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    source_id = models.BigIntegerField(_("source id"), null=True, blank=True)
    loan = models.ForeignKey(
        "loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="journal_entries"
    )
    memo = models.CharField(_("memo"), max_length=255, blank=True)
    posted_at = models.DateTimeField(_("posted at"), auto_now_add=True)

    class Meta:
        ordering = ["value_date", "id"]
        verbose_name = _("journal entry")
        verbose_name_plural = _("journal entries")
        indexes = [
            models.Index(fields=["period", "id"], name="journalentry_period"),
            models.Index(fields=["source_type", "source_id"], name="journalentry_source"),
            models.Index(fields=["value_date"], name="journalentry_value_date"),
            models.Index(fields=["source_value_date"], name="journalentry_event_date"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.value_date} {self.get_event_display()}"


class JournalLine(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="lines")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="lines")
    loan = models.ForeignKey("loans.Loan", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    debit = MoneyField(_("debit"), default=0)
    credit = MoneyField(_("credit"), default=0)

    class Meta:
        ordering = ["entry", "id"]
        verbose_name = _("journal line")
        verbose_name_plural = _("journal lines")
        constraints = [
            models.CheckConstraint(
                condition=(Q(debit__gt=0, credit=0) | Q(debit=0, credit__gt=0)), name="journalline_one_side"
            )
        ]
        indexes = [models.Index(fields=["loan", "account"], name="journalline_loan_account")]

    def __str__(self) -> str:
        return f"{self.account.code} {self.debit} {self.credit}"


class TieOut(models.Model):
    """A month-end check that the sub-ledger equals the loans' own figures, to the céntimo."""

    period = models.DateField(_("period"))
    as_of = models.DateField(_("as of"))
    currency = CurrencyField()
    ok = models.BooleanField(_("ties out"))
    # {item: {"ledger": "…", "loans": "…", "difference": "…"}}
    figures = models.JSONField(_("figures"), default=dict)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    run_at = models.DateTimeField(_("run at"), auto_now_add=True)

    class Meta:
        ordering = ["-run_at"]
        verbose_name = _("tie-out")
        verbose_name_plural = _("tie-outs")

    def __str__(self) -> str:
        return f"{self.period:%Y-%m} {self.currency} {'ok' if self.ok else 'FAILED'}"


class PostingMark(models.Model):
    """Where the servicing log stood when a posting run of the whole book began: the highest transaction
    and allocation ids (both append-only: a replay deletes a loan's allocations and writes them anew), the
    run's date and the digest of the rules it posted by. The nightly close compares with the journal
    only the loans whose log moved since the run before the last completed one (``accounting.posting``):
    the lag of one run covers a servicing write still in flight when a mark was taken."""

    as_of = models.DateField(_("as of"))
    max_transaction_id = models.BigIntegerField(_("highest transaction id"))
    max_allocation_id = models.BigIntegerField(_("highest allocation id"))
    rules_digest = models.CharField(_("rules digest"), max_length=64)
    close_id = models.BigIntegerField(_("nightly close (job run)"), null=True, blank=True)
    created_at = models.DateTimeField(_("taken at"), auto_now_add=True)
    completed_at = models.DateTimeField(_("run completed at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("posting mark")
        verbose_name_plural = _("posting marks")

    def __str__(self) -> str:
        return f"{self.as_of} ({'complete' if self.completed_at else 'running'})"
