"""Posting the journal from the event log, as deltas (README: "The loan sub-ledger").

The servicing ledger replays: a backdated withholding or a reversal changes how earlier money was
allocated. So posting is a job, not a side effect of the event: for every source event it compares what
the journal already holds with what the event's current figures say, and posts only the difference. Run
it twice and the second run posts nothing; a replay's correction is a new entry; a settlement POST pays
no query for it. Balances that are a state rather than an event (accrued interest, the vencido transfer,
interest in suspense, provisions) are trued up per loan against their target as of the run's date.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.db.models import Sum

from accounting import rules
from accounting.chart import Chart
from accounting.models import AccountingPeriod, JournalEntry, JournalLine
from asmcredit.money import money
from installments.models import Allocation, LoanRating, LoanTransaction, Remittance
from lifecycle.models import WriteOff
from loans.models import Loan

ZERO = Decimal("0.00")
# Taken shared by every posting batch (they touch disjoint loans) and exclusively by a month's close, so
# no posting lands in a month while it closes.
POSTING_LOCK = 0x4A4F55524E  # "JOURN"

PAYING = {LoanTransaction.Kind.PAYMENT, LoanTransaction.Kind.PREPAYMENT, LoanTransaction.Kind.WITHHOLDING}
# Entries that move no money: a moratory accrual (the true-up covers it) and a reprogramación (its new
# cronograma changes what accrues, not a balance).
NO_MONEY = (LoanTransaction.Kind.MORATORY_ACCRUAL, LoanTransaction.Kind.RESCHEDULE)
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


@dataclass
class PostingRun:
    as_of: dt.date
    chart: Chart = field(default_factory=Chart.load)
    closed: set[dt.date] = field(default_factory=set)
    entries: int = 0

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


def _held_by_source(source_type_id: int, source_ids: list[int]) -> dict[int, Net]:
    held: dict[int, Net] = defaultdict(dict)
    if not source_ids:
        return held
    rows = (
        JournalLine.objects.filter(entry__source_type_id=source_type_id, entry__source_id__in=source_ids)
        .values("entry__source_id", "account_id", "loan_id")
        .annotate(debit=Sum("debit"), credit=Sum("credit"))
    )
    for row in rows:
        amount = row["debit"] - row["credit"]
        if amount:
            held[row["entry__source_id"]][(row["account_id"], row["loan_id"])] = amount
    return held


def _delta(expected: Net, held: Net) -> Net:
    keys = set(expected) | set(held)
    delta = {key: expected.get(key, ZERO) - held.get(key, ZERO) for key in keys}
    return {key: amount for key, amount in delta.items() if amount}


# --- Source adapters ---------------------------------------------------------------------------------


def transaction_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Disbursements, payments, prepayments, withholdings, reversals and uses of an overpayment credit:
    each transaction's current allocations against what the journal holds for it."""
    ct = ContentType.objects.get_for_model(LoanTransaction).pk
    txns = list(
        LoanTransaction.objects.filter(loan_id__in=loan_ids, value_date__lte=run.as_of)
        .exclude(kind__in=NO_MONEY)
        .values(
            "id",
            "loan_id",
            "kind",
            "value_date",
            "amount",
            "currency",
            "reverses_id",
            "reference",
            "loan__is_refinanced",
        )
        .order_by("id")
    )
    # Every reversal, whatever its date: a payment reversed after the run's date is left as posted until
    # the run that reaches the reversal posts its undoing on the reversal's own date.
    reversed_ids = set(
        LoanTransaction.objects.filter(loan_id__in=loan_ids, kind=LoanTransaction.Kind.REVERSAL).values_list(
            "reverses_id", flat=True
        )
    )
    components: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for row in (
        Allocation.objects.filter(transaction__loan_id__in=loan_ids, transaction__value_date__lte=run.as_of)
        .values("transaction_id", "component")
        .annotate(total=Sum("amount"))
    ):
        components[row["transaction_id"]][row["component"]] = row["total"]
    written_off: dict[int, dt.date] = {
        loan_id: day
        for loan_id, day in WriteOff.objects.filter(loan_id__in=loan_ids, status=WriteOff.Status.APPROVED).values_list(
            "loan_id", "written_off_on"
        )
        if day is not None
    }
    held = _held_by_source(ct, [t["id"] for t in txns] + list(reversed_ids))
    postings = []
    for txn in txns:
        kind, on, loan_id, currency = txn["kind"], txn["value_date"], txn["loan_id"], txn["currency"]
        event = kind
        if txn["id"] in reversed_ids:
            # The replay no longer allocates a reversed transaction: its reversal undoes what was posted.
            expected = held.get(txn["id"], {})
        elif kind == LoanTransaction.Kind.REVERSAL:
            expected = {key: -amount for key, amount in held.get(txn["reverses_id"], {}).items()}
        elif kind in PAYING and loan_id in written_off and on >= written_off[loan_id]:
            event = "recovery"
            component = "withheld" if kind == LoanTransaction.Kind.WITHHOLDING else "amount"
            expected = run.net_for([(component, txn["amount"])], event=event, currency=currency, on=on, loan_id=loan_id)
        elif kind in PAYING or kind == LoanTransaction.Kind.REFINANCE:
            expected = run.net_for(components[txn["id"]].items(), event=kind, currency=currency, on=on, loan_id=loan_id)
        elif kind == LoanTransaction.Kind.DISBURSEMENT:
            # A refinanced loan's principal is the payoff of the loans it replaced, not cash paid out.
            event = "refinancing" if txn["loan__is_refinanced"] else kind
            expected = run.net_for(
                [("principal", txn["amount"])], event=event, currency=currency, on=on, loan_id=loan_id
            )
        else:  # credit refund or transfer
            expected = run.net_for([("amount", txn["amount"])], event=kind, currency=currency, on=on, loan_id=loan_id)
        delta = _delta(expected, held.get(txn["id"], {}))
        if delta:
            postings.append(
                Posting(
                    event=event,
                    currency=currency,
                    event_date=on,
                    net=delta,
                    loan_id=loan_id,
                    source=(ct, txn["id"]),
                    memo=txn["reference"],
                )
            )
    return postings


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


def write_off_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Castigo: the loan's principal, accrued and suspended interest and provision leave the book, and
    what it owed goes to the written-off memo accounts. Posted once per write-off."""
    ct = ContentType.objects.get_for_model(WriteOff).pk
    posted = JournalEntry.objects.filter(source_type_id=ct).values("source_id")
    write_offs = list(
        WriteOff.objects.filter(loan_id__in=loan_ids, status=WriteOff.Status.APPROVED, written_off_on__lte=run.as_of)
        .exclude(pk__in=posted)
        .select_related("loan")
    )
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


# Interest earned by day on each installment period (linear within the period: the installment's
# interest × days elapsed / days of the period), less what was paid of it by the date, per loan; and
# the due date of the oldest installment not paid in full by the date (days past due, DOMAIN.md §6).
_LOAN_STATE_SQL = """
WITH lines AS (
    SELECT sl.id, sl.loan_id, sl.due_on, sl.paid_on, sl.paid_interest,
           ROUND(sl.interest * LEAST(1, GREATEST(0,
               (%(as_of)s::date - (sl.due_on - sl.days))::numeric / NULLIF(sl.days, 0))), 2) AS earned
      FROM installments_scheduleline sl
     WHERE sl.is_current AND sl.loan_id = ANY(%(loan_ids)s)
), later AS (
    SELECT a.schedule_line_id, SUM(a.amount) AS amount
      FROM installments_allocation a
      JOIN installments_loantransaction t ON t.id = a.transaction_id
     WHERE t.loan_id = ANY(%(loan_ids)s) AND t.value_date > %(as_of)s AND a.component = 'interest'
     GROUP BY a.schedule_line_id
)
SELECT lines.loan_id,
       COALESCE(SUM(GREATEST(0, lines.earned - (lines.paid_interest - COALESCE(later.amount, 0)))), 0),
       MIN(lines.due_on) FILTER (WHERE lines.due_on < %(as_of)s
                                   AND (lines.paid_on IS NULL OR lines.paid_on > %(as_of)s))
  FROM lines LEFT JOIN later ON later.schedule_line_id = lines.id
 GROUP BY lines.loan_id
"""


@dataclass
class LoanState:
    receivable: Decimal  # interest earned by the date and unpaid
    days_past_due: int

    @property
    def vencido(self) -> bool:
        return self.days_past_due > settings.ACCOUNTING_VENCIDO_AFTER_DAYS


def loan_states(*, loan_ids: list[int], as_of: dt.date) -> dict[int, LoanState]:
    with connection.cursor() as cursor:
        cursor.execute(_LOAN_STATE_SQL, {"as_of": as_of, "loan_ids": loan_ids})
        return {
            loan_id: LoanState(receivable=money(receivable), days_past_due=(as_of - oldest).days if oldest else 0)
            for loan_id, receivable, oldest in cursor.fetchall()
        }


def true_up_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Per loan as of the run's date: the principal in vencido (1405) when past the threshold, back in
    vigente (1401) when cured; accrued interest receivable (1408) = interest earned and unpaid for a
    vigente loan, zero for a vencido one (that interest leaves income and sits in suspense, memo 8104,
    and what a vencido loan pays is income when collected); provisions (1409) = the latest rating's."""
    as_of = run.as_of
    loans = list(
        Loan.objects.filter(pk__in=loan_ids, disbursed_on__lte=as_of)
        .exclude(write_offs__status=WriteOff.Status.APPROVED, write_offs__written_off_on__lte=as_of)
        .values_list("pk", "currency", "is_refinanced")
    )
    if not loans:
        return []
    ids = [pk for pk, _, _ in loans]
    states = loan_states(loan_ids=ids, as_of=as_of)
    balances = _loan_balances(ids, up_to=as_of)
    provisions = dict(
        LoanRating.objects.filter(loan_id__in=ids, as_of__lte=as_of)
        .order_by("loan_id", "-as_of")
        .distinct("loan_id")
        .values_list("loan_id", "provision")
    )
    by_currency: dict[tuple[str, str], Net] = defaultdict(lambda: defaultdict(lambda: ZERO))
    for loan_id, currency, refinanced in loans:
        state = states.get(loan_id, LoanState(ZERO, 0))
        held = balances.get(loan_id, {})

        def bal(role: str, currency: str = currency, held: dict[int, Decimal] = held) -> Decimal:
            return held.get(run.chart.account(role, currency, as_of), ZERO)

        vigente, vencido, refinanced_held = bal(rules.LOAN_VIGENTE), bal(rules.LOAN_VENCIDO), bal(rules.LOAN_REFINANCED)
        # Principal repaid is credited to vigente whatever the loan's class; the true-up puts the whole
        # principal back where the loan's state says: vencido past the threshold, else refinanciado
        # (1404) for a refinanced loan, else vigente.
        principal = vigente + vencido + refinanced_held
        to_vencido = (principal if state.vencido else ZERO) - vencido
        to_refinanced = (principal if refinanced and not state.vencido else ZERO) - refinanced_held
        accrued = (ZERO if state.vencido else state.receivable) - bal(rules.ACCRUED_INTEREST)
        suspended = (state.receivable if state.vencido else ZERO) - bal(rules.SUSPENDED_INTEREST)
        provision = provisions.get(loan_id, ZERO) + bal(rules.PROVISION)  # 1409 holds a credit balance
        interest_event = "suspension" if state.vencido else "accrual"
        for event, components in (
            ("classification", [("principal", to_vencido), ("refinanced", to_refinanced)]),
            (interest_event, [("interest", accrued)]),
            ("suspension", [("memo", suspended)]),
            ("provision", [("made", provision)] if provision > 0 else [("released", -provision)]),
        ):
            net = run.net_for(components, event=event, currency=currency, on=as_of, loan_id=loan_id)
            bucket = by_currency[(event, currency)]
            for key, amount in net.items():
                bucket[key] += amount
    # One entry per event and currency for the batch, a line per loan and account.
    return [
        Posting(event=event, currency=currency, event_date=as_of, net=dict(net), memo=f"{event} {as_of}")
        for (event, currency), net in sorted(by_currency.items())
        if net
    ]


def refinancing_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Refinanciación (being built elsewhere): move the principal from 1401/1405 to 1404 with the rules
    ``refinancing/principal_*``, one entry per refinancing, source = its record. Empty until it lands."""
    return []


def reprogramming_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Reprogramación (being built elsewhere): the loan stays vigente; its deferred interest keeps
    accruing through the new schedule lines, so only an event that moves money needs rows here."""
    return []


def guarantee_postings(run: PostingRun, *, loan_ids: list[int]) -> list[Posting]:
    """Guarantee fund claim (``guarantee_claim/amount``: receivable from the fund against vencido
    principal) and the fund's payment (``guarantee_payment/amount``). Empty until claims land."""
    return []


LOAN_ADAPTERS = (
    transaction_postings,
    refinancing_postings,
    reprogramming_postings,
    guarantee_postings,
    write_off_postings,
    true_up_postings,
)


def journal_post_loans(*, as_of: dt.date, loan_ids: list[int]) -> int:
    """Post the deltas of a batch of loans as of ``as_of``; returns the entries written."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [POSTING_LOCK])
        run = PostingRun(as_of=as_of)
        for adapter in LOAN_ADAPTERS:
            run.write(adapter(run, loan_ids=loan_ids))
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
    """The whole book in one process (the nightly chord runs the same batches on workers)."""
    entries = journal_post_book_level(as_of=as_of)
    for loan_ids in loan_batches(as_of=as_of, batch_size=batch_size):
        entries += journal_post_loans(as_of=as_of, loan_ids=loan_ids)
    return entries
