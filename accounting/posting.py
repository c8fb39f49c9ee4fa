"""Posting the journal from the event log, as deltas (README: "The loan sub-ledger").

The servicing ledger replays: a backdated withholding or a reversal changes how earlier money was
allocated. So posting is a job, not a side effect of the event: for every source event it compares what
the journal already holds with what the event's current figures say, and posts only the difference. Run
it twice and the second run posts nothing; a replay's correction is a new entry; a settlement POST pays
no query for it. Balances that are a state rather than an event (accrued interest, the vencido transfer,
interest in suspense, provisions) are trued up per loan against their target as of the run's date.

Those two — every transaction's delta and the true-ups — run as set-based SQL (``accounting.deltas``);
the few events that are records of their own (a write-off, a guarantee fund's payment, a remittance) are
built here. A posting run of the whole book leaves a ``PostingMark``, so the nightly close compares only
the transactions of the loans whose servicing log moved since (``posting_mark_open``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Max, Q, Sum
from django.utils import timezone

from accounting import deltas, rules
from accounting.chart import Chart
from accounting.models import AccountingPeriod, JournalEntry, JournalLine, PostingMark
from asmcredit.money import money
from installments.batch import NO_JIT
from installments.models import Allocation, LoanTransaction, Remittance
from lifecycle.models import GuaranteeClaim, GuaranteeRemittance, WriteOff
from loans.models import Loan

ZERO = Decimal("0.00")
# Taken shared by every posting batch (they touch disjoint loans) and exclusively by a month's close, so
# no posting lands in a month while it closes.
POSTING_LOCK = 0x4A4F55524E  # "JOURN"
POSTING_WORK_MEM = "64MB"

Net = dict[tuple[int, int | None], Decimal]  # (account id, loan id) → debit-positive amount


@dataclass
class Posting:
    event: str
    currency: str
    event_date: dt.date
    net: Net
    loan_id: int | None = None
    source: tuple[int, int] | None = None  # (content type id, object id)
    memo: str = ""


@dataclass(frozen=True)
class Since:
    """What a posting run may take as already compared: the servicing log up to these ids, and the
    transactions dated up to ``as_of`` (``PostingMark``). A loan whose log moved past them, that has a
    transaction dated after ``as_of`` up to the run's date, or that was written off, is compared whole."""

    transaction_id: int
    allocation_id: int
    as_of: dt.date

    def as_json(self) -> dict[str, Any]:
        return {
            "transaction_id": self.transaction_id,
            "allocation_id": self.allocation_id,
            "as_of": self.as_of.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> Since | None:
        if not data:
            return None
        return cls(int(data["transaction_id"]), int(data["allocation_id"]), dt.date.fromisoformat(data["as_of"]))


@dataclass
class PostingRun:
    as_of: dt.date
    chart: Chart = field(default_factory=Chart.load)
    closed: set[dt.date] = field(default_factory=set)
    entries: int = 0
    since: Since | None = None
    rules_table: bool = False  # ``acct_rules`` written in this run's transaction (accounting.deltas)

    def __post_init__(self) -> None:
        self.closed = set(
            AccountingPeriod.objects.filter(status=AccountingPeriod.Status.CLOSED).values_list("month", flat=True)
        )

    def posting_date(self, event_date: dt.date) -> dt.date:
        """The event's own date when its month is open, else the first day of the next open month."""
        month = event_date.replace(day=1)
        if month not in self.closed:
            return event_date
        while month in self.closed:
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return month

    def net_for(
        self, components: Iterable[tuple[str, Decimal]], *, event: str, currency: str, on: dt.date, loan_id: int | None
    ) -> Net:
        by_role = rules.lines_for(components, event=event, rules=self.chart.rules_on(on))
        net: Net = defaultdict(lambda: ZERO)
        for role, amount in by_role.items():
            net[(self.chart.account(role, currency, on), loan_id)] += amount
        return {key: amount for key, amount in net.items() if amount}

    def write(self, postings: list[Posting]) -> int:
        postings = [p for p in postings if any(p.net.values())]
        if not postings:
            return 0
        entries = []
        for posting in postings:
            value_date = self.posting_date(posting.event_date)
            entries.append(
                JournalEntry(
                    value_date=value_date,
                    period=value_date.replace(day=1),
                    source_value_date=posting.event_date,
                    currency=posting.currency,
                    event=posting.event,
                    source_type_id=posting.source[0] if posting.source else None,
                    source_id=posting.source[1] if posting.source else None,
                    loan_id=posting.loan_id,
                    memo=posting.memo[:255],
                )
            )
        JournalEntry.objects.bulk_create(entries)
        lines = []
        for entry, posting in zip(entries, postings, strict=True):
            for (account_id, loan_id), amount in sorted(posting.net.items(), key=lambda item: -item[1]):
                if amount:
                    debit, credit = rules.split_sides(amount)
                    lines.append(
                        JournalLine(entry=entry, account_id=account_id, loan_id=loan_id, debit=debit, credit=credit)
                    )
        # One statement for all the lines: the balance trigger checks each entry once, whole.
        JournalLine.objects.bulk_create(lines, batch_size=None)
        self.entries += len(entries)
        return len(entries)


# --- Source adapters ---------------------------------------------------------------------------------


def remittance_postings(run: PostingRun) -> list[Posting]:
    """A buyer's remittance pays its receivable in full amount (an over-remittance leaves the buyer in
    credit, as ``installments.selectors.buyer_balance_owed`` counts it). Remittances never change."""
    ct = ContentType.objects.get_for_model(Remittance).pk
    posted = JournalEntry.objects.filter(source_type_id=ct).values("source_id")
    postings = []
    for remittance in (
        Remittance.objects.filter(paid_on__lte=run.as_of)
        .exclude(pk__in=posted)
        .values("id", "amount", "currency", "paid_on", "reference")
    ):
        net = run.net_for(
            [("amount", remittance["amount"])],
            event="remittance",
            currency=remittance["currency"],
            on=remittance["paid_on"],
            loan_id=None,
        )
        postings.append(
            Posting(
                event="remittance",
                currency=remittance["currency"],
                event_date=remittance["paid_on"],
                net=net,
                source=(ct, remittance["id"]),
                memo=remittance["reference"],
            )
        )
    return postings


def _loan_balances(loan_ids: list[int], *, up_to: dt.date | None = None) -> dict[int, dict[int, Decimal]]:
    """Per loan, per account: the journal's debit-positive balance (by event date when ``up_to``)."""
    lines = JournalLine.objects.filter(loan_id__in=loan_ids)
    if up_to is not None:
        lines = lines.filter(entry__source_value_date__lte=up_to)
    balances: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for row in lines.values("loan_id", "account_id").annotate(debit=Sum("debit"), credit=Sum("credit")):
        balances[row["loan_id"]][row["account_id"]] = row["debit"] - row["credit"]
    return balances


def in_range(loan_ids: list[int]) -> Q:
    """The loans from the batch's lowest id to its highest: a range the loan index reads, where an
    ``IN`` of thousands of ids costs more to build and parse than the few rows it finds (filter the
    rows by the batch after)."""
    return Q(loan_id__gte=min(loan_ids), loan_id__lte=max(loan_ids)) if loan_ids else Q(pk__in=[])


def write_off_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Castigo: the loan's principal, accrued and suspended interest and provision leave the book, and
    what it owed goes to the written-off memo accounts. Posted once per write-off."""
    ct = ContentType.objects.get_for_model(WriteOff).pk
    posted = JournalEntry.objects.filter(source_type_id=ct).values("source_id")
    batch = set(loan_ids)
    write_offs = [
        write_off
        for write_off in WriteOff.objects.filter(
            in_range(loan_ids), status=WriteOff.Status.APPROVED, written_off_on__lte=run.as_of
        )
        .exclude(pk__in=posted)
        .select_related("loan")
        if write_off.loan_id in batch
    ]
    if not write_offs:
        return []
    balances = _loan_balances([w.loan_id for w in write_offs])
    postings = []
    for write_off in write_offs:
        loan, written_on = write_off.loan, write_off.written_off_on
        assert written_on is not None
        on: dt.date = written_on
        held = balances.get(loan.pk, {})

        def bal(role: str, loan: Loan = loan, on: dt.date = on, held: dict[int, Decimal] = held) -> Decimal:
            return held.get(run.chart.account(role, loan.currency, on), ZERO)

        components = [
            ("principal_vigente", bal(rules.LOAN_VIGENTE)),
            ("principal_vencido", bal(rules.LOAN_VENCIDO)),
            ("principal_refinanced", bal(rules.LOAN_REFINANCED)),
            ("provision", -bal(rules.PROVISION)),
            ("accrued_interest", bal(rules.ACCRUED_INTEREST)),
            ("suspended_interest", bal(rules.SUSPENDED_INTEREST)),
            ("memo", write_off.principal + write_off.interest_and_charges),
        ]
        postings.append(
            Posting(
                event="write_off",
                currency=loan.currency,
                event_date=on,
                net=run.net_for(components, event="write_off", currency=loan.currency, on=on, loan_id=loan.pk),
                loan_id=loan.pk,
                source=(ct, write_off.pk),
                memo=loan.code,
            )
        )
    return postings


@dataclass
class LoanState:
    receivable: Decimal  # interest earned by the date and unpaid
    days_past_due: int

    @property
    def vencido(self) -> bool:
        return self.days_past_due > settings.ACCOUNTING_VENCIDO_AFTER_DAYS


def loan_states(*, loan_ids: list[int], as_of: dt.date) -> dict[int, LoanState]:
    if not loan_ids:
        return {}
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(deltas.loan_state_sql(), {"as_of": as_of, **deltas.batch_table(loan_ids)})
        return {
            loan_id: LoanState(receivable=money(receivable), days_past_due=(as_of - oldest).days if oldest else 0)
            for loan_id, receivable, oldest in cursor.fetchall()
        }


def guarantee_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """A guarantee fund's payment on a claim (``guarantee_payment``: cash the lender owes back to the
    subrogated fund, out of what the loan recovers — the miner's debt is unchanged) and each share of a
    recovery handed to the fund (``guarantee_remittance``). Both are records that never change: each is
    posted once, on its own date. A claim filed or approved moves no money and posts nothing."""
    claim_ct = ContentType.objects.get_for_model(GuaranteeClaim).pk
    remittance_ct = ContentType.objects.get_for_model(GuaranteeRemittance).pk
    batch = set(loan_ids)
    paid = [
        row
        for row in GuaranteeClaim.objects.filter(
            in_range(loan_ids), status=GuaranteeClaim.Status.PAID, paid_on__lte=run.as_of
        ).values_list("pk", "loan_id", "currency", "paid_on", "paid_amount", "bank_reference")
        if row[1] in batch
    ]
    if not paid:  # the batch's usual case: no claim paid, so nothing handed back either
        return []
    handed = list(
        GuaranteeRemittance.objects.filter(
            claim_id__in=[row[0] for row in paid], remitted_on__lte=run.as_of
        ).values_list("pk", "claim__loan_id", "claim__currency", "remitted_on", "amount", "reference")
    )
    posted = set(
        JournalEntry.objects.filter(
            Q(source_type_id=claim_ct, source_id__in=[row[0] for row in paid])
            | Q(source_type_id=remittance_ct, source_id__in=[row[0] for row in handed])
        ).values_list("source_type_id", "source_id")
    )
    postings = []
    for ct, event, rows in ((claim_ct, "guarantee_payment", paid), (remittance_ct, "guarantee_remittance", handed)):
        for pk, loan_id, currency, on, amount, reference in rows:
            if (ct, pk) not in posted and on is not None and amount:
                postings.append(_guarantee_posting(run, event, (ct, pk), loan_id, currency, on, amount, reference))
    return postings


def _guarantee_posting(
    run: PostingRun,
    event: str,
    source: tuple[int, int],
    loan_id: int,
    currency: str,
    on: dt.date,
    amount: Decimal,
    reference: str,
) -> Posting:
    net = run.net_for([("amount", amount)], event=event, currency=currency, on=on, loan_id=loan_id)
    return Posting(
        event=event, currency=currency, event_date=on, net=net, loan_id=loan_id, source=source, memo=reference
    )


def _python(adapter: Callable[..., list[Posting]]) -> Callable[..., int]:
    """An adapter that builds its few postings in Python, as a step that writes them."""

    def step(run: PostingRun, *, loan_ids: list[int]) -> int:
        return run.write(adapter(run, loan_ids=loan_ids))

    step.__name__ = adapter.__name__
    return step


# The steps of a batch, in order: the transactions first (a write-off reads the balances they leave),
# the true-up last. Each writes its entries and returns how many.
LOAN_ADAPTERS: tuple[Callable[..., int], ...] = (
    deltas.transaction_deltas,
    _python(guarantee_postings),
    _python(write_off_postings),
    deltas.true_up_deltas,
)


def journal_post_loans(*, as_of: dt.date, loan_ids: list[int], since: Since | None = None) -> int:
    """Post the deltas of a batch of loans as of ``as_of``; returns the entries written. With ``since``,
    only the loans whose servicing log moved since then have their transactions compared (the true-ups
    always cover every loan: a day's accrual moves them all)."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [POSTING_LOCK])
            cursor.execute(NO_JIT)
            # A batch's comparisons aggregate a few hundred thousand rows: in memory, not spilled to disk.
            cursor.execute(f"SET LOCAL work_mem = '{POSTING_WORK_MEM}'")
        run = PostingRun(as_of=as_of, since=since)
        for adapter in LOAN_ADAPTERS:
            adapter(run, loan_ids=loan_ids)
        return run.entries


def journal_post_book_level(*, as_of: dt.date) -> int:
    """Postings that are not a loan's: the buyers' remittances."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [POSTING_LOCK])
        run = PostingRun(as_of=as_of)
        run.write(remittance_postings(run))
        return run.entries


def loan_batches(*, as_of: dt.date, batch_size: int) -> list[list[int]]:
    ids = list(Loan.objects.filter(disbursed_on__lte=as_of).order_by("pk").values_list("pk", flat=True))
    return [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]


def journal_post(*, as_of: dt.date, batch_size: int = 5000) -> int:
    """The whole book in one process, every transaction compared (the nightly chord runs the same
    batches on workers). A complete run of the whole book, so it leaves a ``PostingMark``."""
    mark, _since = posting_mark_open(as_of=as_of)
    entries = journal_post_book_level(as_of=as_of)
    for loan_ids in loan_batches(as_of=as_of, batch_size=batch_size):
        entries += journal_post_loans(as_of=as_of, loan_ids=loan_ids)
    posting_mark_complete(mark)
    return entries


def rules_digest(chart: Chart) -> str:
    """The posting rules and role mappings as they resolve to accounts, as one digest: a run posted by
    other rules is no base for comparing only what moved."""
    rows = sorted(chart.rule_accounts(currencies=sorted(rules.CURRENCY_DIGIT)))
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def posting_mark_open(*, as_of: dt.date, close_id: int | None = None) -> tuple[PostingMark, Since | None]:
    """Take the mark of a posting run of the whole book starting now, and say from where it may compare
    only what moved: the run before the last completed one (one run of lag, so a servicing write that
    was in flight when that mark was taken, with a lower id, was committed and compared by the run after
    it), when both were posted by today's rules and the two and this run go forward in date; else
    ``None`` (compare everything)."""
    digest = rules_digest(Chart.load())
    completed = list(PostingMark.objects.filter(completed_at__isnull=False).order_by("-created_at", "-pk")[:2])
    since = None
    if (
        len(completed) == 2
        and all(m.rules_digest == digest for m in completed)
        # Runs in date order: after a rerun for an earlier date, compare everything once.
        and completed[1].as_of <= completed[0].as_of <= as_of
    ):
        base = completed[1]
        since = Since(base.max_transaction_id, base.max_allocation_id, base.as_of)
    mark = PostingMark.objects.create(
        as_of=as_of,
        max_transaction_id=LoanTransaction.objects.aggregate(top=Max("pk"))["top"] or 0,
        max_allocation_id=Allocation.objects.aggregate(top=Max("pk"))["top"] or 0,
        rules_digest=digest,
        close_id=close_id,
    )
    return mark, since


def posting_mark_complete(mark: PostingMark) -> None:
    PostingMark.objects.filter(pk=mark.pk).update(completed_at=timezone.now())
