"""The journal's two big postings as set-based SQL: every loan transaction's delta and the per-loan
true-ups (README: "The loan sub-ledger").

They post exactly what ``accounting.posting`` describes, but the comparison of what the journal holds
with what the servicing ledger says now runs in PostgreSQL over the whole batch, and the entries and
lines are written by ``INSERT … SELECT``: no row of the book travels through Python. A night posts a
line per loan for the day's accrual, so at national scale this is what the nightly close spends its
time on.

Each step fills a temporary table of the batch (dropped when its transaction ends):

- ``acct_rules``: the posting rules as accounts — for each interval between two effective dates of a
  rule or a role mapping, (event, component, currency) → a debit account (+1) and a credit account (−1);
- ``acct_comp``: the components each source event should post (transaction by transaction, or loan by
  loan for the true-ups), which every rule must cover (else ``LookupError``, as ``rules.lines_for``);
- ``acct_delta``: per source and account, what should be held less what is held; an entry is written
  for each source (or each event and currency of the true-ups) whose delta is not zero.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from accounting import rules
from accounting.models import JournalEntry
from installments.models import LoanTransaction

if TYPE_CHECKING:
    from accounting.posting import PostingRun

PAYING_EVENTS = ("payment", "prepayment", "withholding", "refinance")
# Moved no money: a moratory accrual (the true-up covers it) and a reprogramación.
SKIPPED_KINDS = (LoanTransaction.Kind.MORATORY_ACCRUAL.value, LoanTransaction.Kind.RESCHEDULE.value)
TRUE_UP_ROLES = (
    rules.LOAN_VIGENTE,
    rules.LOAN_VENCIDO,
    rules.LOAN_REFINANCED,
    rules.ACCRUED_INTEREST,
    rules.SUSPENDED_INTEREST,
    rules.PROVISION,
)


def _execute(sql: str, params: dict[str, Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.rowcount


def _fetchall(sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


def in_batch(column: str) -> str:
    """SQL: ``column`` is one of the batch's loans (``acct_batch``) — a range the indexes narrow, then the
    exact ids (a semi-join: an id list as an ``= ANY`` filter costs a scan of the list per row)."""
    return f"{column} BETWEEN %(low)s AND %(high)s AND {column} IN (SELECT loan_id FROM acct_batch)"  # noqa: S608


def batch_table(loan_ids: list[int]) -> dict[str, Any]:
    """``acct_batch`` holds the batch's loan ids until the transaction ends; returns the parameters of
    ``in_batch``."""
    _execute(
        """
        CREATE TEMPORARY TABLE IF NOT EXISTS acct_batch (loan_id bigint PRIMARY KEY) ON COMMIT DROP;
        TRUNCATE acct_batch;
        INSERT INTO acct_batch SELECT DISTINCT unnest(%(ids)s::bigint[]);
        ANALYZE acct_batch;
        """,
        {"ids": loan_ids},
    )
    return {"low": min(loan_ids), "high": max(loan_ids)}


def _rules_table(run: PostingRun) -> None:
    """``acct_rules`` for the run (once per batch transaction): the chart's rules resolved to accounts."""
    if run.rules_table:
        return
    run.rules_table = True
    rows = run.chart.rule_accounts(currencies=sorted(rules.CURRENCY_DIGIT))
    _execute(
        """
        CREATE TEMPORARY TABLE IF NOT EXISTS acct_rules (
            event text, component text, currency text, valid_from date, valid_to date, account_id bigint,
            sign int) ON COMMIT DROP;
        TRUNCATE acct_rules;
        INSERT INTO acct_rules
        SELECT * FROM unnest(%(event)s::text[], %(component)s::text[], %(currency)s::text[], %(valid_from)s::date[],
                             %(valid_to)s::date[], %(account)s::bigint[], %(sign)s::int[]);
        ANALYZE acct_rules;
        """,
        {
            "event": [r.event for r in rows],
            "component": [r.component for r in rows],
            "currency": [r.currency for r in rows],
            "valid_from": [r.valid_from for r in rows],
            "valid_to": [r.valid_to for r in rows],
            "account": [r.account_id for r in rows],
            "sign": [r.sign for r in rows],
        },
    )


_RULE_MATCH = """r.event = c.event AND r.component = c.component AND r.currency = c.currency
                 AND c.on_date >= r.valid_from AND c.on_date < r.valid_to"""


def _check_rules() -> None:
    """Every component to post has a rule and both its accounts, or nothing is posted."""
    missing = _fetchall(
        f"""
        SELECT c.event, c.component, c.currency, c.on_date
        FROM (SELECT DISTINCT event, component, currency, on_date FROM acct_comp WHERE amount <> 0) c
        WHERE NOT EXISTS (SELECT 1 FROM acct_rules r WHERE {_RULE_MATCH})
        LIMIT 1
        """  # noqa: S608 - a fragment of our own
    )
    if missing:
        event, component, currency, on = missing[0]
        raise LookupError(
            f"No posting rule (or no account for its roles) for {event}/{component} in {currency} on {on}"
        )


def _closed_months(run: PostingRun) -> dict[str, list[dt.date]]:
    closed = sorted(run.closed)
    return {"closed": closed, "next_open": [run.posting_date(month) for month in closed]}


# The entry's value date: its event's, or the first day of the next open month when that month is closed.
_POSTING_DATE = """COALESCE((SELECT m.next_open
                             FROM unnest(%(closed)s::date[], %(next_open)s::date[]) m(month, next_open)
                            WHERE m.month = date_trunc('month', {day})::date), {day})"""


def _keep_moved(run: PostingRun, params: dict[str, Any]) -> int:
    """Keep in ``acct_batch`` only the loans whose servicing log moved since ``run.since``: a transaction
    or an allocation written after its mark (a replay writes a loan's allocations anew), a transaction
    dated after the mark's date up to the run's, or a write-off (it turns payments into recoveries).
    Returns how many are left."""
    assert run.since is not None
    since = {
        "since_txn": run.since.transaction_id,
        "since_allocation": run.since.allocation_id,
        "since_as_of": run.since.as_of,
    }
    _execute(
        f"""
        DELETE FROM acct_batch WHERE loan_id NOT IN (
            SELECT t.loan_id FROM installments_loantransaction t
            WHERE t.id > %(since_txn)s AND {in_batch("t.loan_id")}
            UNION
            SELECT t.loan_id FROM installments_allocation a
            JOIN installments_loantransaction t ON t.id = a.transaction_id
            WHERE a.id > %(since_allocation)s AND {in_batch("t.loan_id")}
            UNION
            SELECT t.loan_id FROM installments_loantransaction t
            WHERE {in_batch("t.loan_id")} AND t.value_date > %(since_as_of)s AND t.value_date <= %(as_of)s
            UNION
            SELECT w.loan_id FROM lifecycle_writeoff w WHERE w.status = 'approved' AND {in_batch("w.loan_id")}
        )
        """,  # noqa: S608 - fragments of our own, values are parameters
        {**params, **since},
    )
    return int(_fetchall("SELECT COUNT(*) FROM acct_batch")[0][0])


def _write_entries(
    *,
    sources: str,
    event_date: str,
    values: str,
    order: str,
    keys: str,
    match: str,
    line_loan: str,
    params: dict[str, Any],
) -> None:
    """One entry per row of ``sources`` — dated ``event_date``, or the first day of the next open month when
    that month is closed; ``values``: its currency, event, source type and id, loan and memo — and its lines
    from ``acct_delta`` (rows ``match``-ing the entry's ``keys``), debits first, in one statement: the
    balance trigger checks each entry once, whole."""
    _execute(
        f"""
        WITH entries AS (
            INSERT INTO accounting_journalentry
                (value_date, period, source_value_date, currency, event, source_type_id, source_id, loan_id,
                 memo, posted_at)
            SELECT d.day, date_trunc('month', d.day)::date, {event_date}, {values}, now()
            FROM {sources}
            CROSS JOIN LATERAL (SELECT {_POSTING_DATE.format(day=event_date)} AS day) d
            ORDER BY {order}
            RETURNING id, {keys}
        )
        INSERT INTO accounting_journalline (entry_id, account_id, loan_id, debit, credit)
        SELECT e.id, d.account_id, {line_loan}, GREATEST(d.amount, 0), GREATEST(-d.amount, 0)
        FROM acct_delta d JOIN entries e ON {match}
        ORDER BY e.id, d.amount DESC, {line_loan}, d.account_id
        """,  # noqa: S608 - fragments of our own, values are parameters
        params,
    )


def transaction_deltas(run: PostingRun, *, loan_ids: list[int]) -> int:
    """Disbursements, payments, prepayments, withholdings, reversals, refunds and transfers of an
    overpayment credit, recoveries after a write-off and a refinancing's payoff of a loan: each
    transaction's current allocations (or amount) against what the journal holds for it; one entry per
    transaction whose figures changed. A reversed transaction is left as posted (whatever its reversal's
    date): its reversal undoes exactly what the journal holds for it, on the reversal's own date."""
    ct = ContentType.objects.get_for_model(LoanTransaction).pk
    if not loan_ids:
        return 0
    params: dict[str, Any] = {"as_of": run.as_of, "ct": ct, **batch_table(loan_ids), **_closed_months(run)}
    if run.since is not None and not _keep_moved(run, params):
        return 0
    _rules_table(run)
    _execute(
        f"""
        CREATE TEMPORARY TABLE acct_txn ON COMMIT DROP AS
        SELECT t.id, t.loan_id, t.kind, t.value_date, t.amount, t.currency, t.reverses_id, t.reference, w.memo_total,
               CASE WHEN t.kind IN ('payment', 'prepayment', 'withholding') AND t.value_date >= w.written_off_on
                    THEN 'recovery'
                    -- A refinanced loan's principal is the payoff of the loans it replaced, not cash paid out.
                    WHEN t.kind = 'disbursement' AND l.is_refinanced THEN 'refinancing'
                    ELSE t.kind END AS event
        FROM installments_loantransaction t
        JOIN loans_loan l ON l.id = t.loan_id
        LEFT JOIN (SELECT loan_id, MAX(written_off_on) AS written_off_on,
                          MAX(principal + interest_and_charges) AS memo_total
                   FROM lifecycle_writeoff
                   WHERE status = 'approved' AND {in_batch("loan_id")} GROUP BY loan_id) w
               ON w.loan_id = t.loan_id
        WHERE {in_batch("t.loan_id")} AND t.value_date <= %(as_of)s AND t.kind <> ALL(%(skipped)s)
          AND NOT EXISTS (SELECT 1 FROM installments_loantransaction r
                          WHERE r.reverses_id = t.id AND r.kind = 'reversal');
        ANALYZE acct_txn;
        """,  # noqa: S608 - fragments of our own, values are parameters
        {**params, "skipped": list(SKIPPED_KINDS)},
    )
    _execute(
        f"""
        CREATE TEMPORARY TABLE acct_held ON COMMIT DROP AS
        SELECT e.source_id AS txn_id, jl.account_id, SUM(jl.debit - jl.credit) AS amount
        FROM accounting_journalline jl JOIN accounting_journalentry e ON e.id = jl.entry_id
        WHERE {in_batch("jl.loan_id")} AND e.source_type_id = %(ct)s
        GROUP BY 1, 2 HAVING SUM(jl.debit - jl.credit) <> 0;
        ANALYZE acct_held;
        """,  # noqa: S608
        params,
    )
    _execute(
        """
        CREATE TEMPORARY TABLE acct_comp ON COMMIT DROP AS
        SELECT t.id AS source, t.event, t.currency, t.value_date AS on_date, a.component, SUM(a.amount) AS amount
        FROM acct_txn t JOIN installments_allocation a ON a.transaction_id = t.id
        WHERE t.event = ANY(%(paying)s)
        GROUP BY 1, 2, 3, 4, 5
        UNION ALL
        SELECT t.id, t.event, t.currency, t.value_date,
               CASE WHEN t.event = 'recovery' AND t.kind = 'withholding' THEN 'withheld'
                    WHEN t.kind = 'disbursement' THEN 'principal'
                    ELSE 'amount' END,
               t.amount
        FROM acct_txn t WHERE t.event <> ALL(%(paying)s) AND t.kind <> 'reversal' AND t.amount <> 0
        UNION ALL
        -- A recovery leaves the written-off memo accounts, oldest first, up to what was written off.
        SELECT r.id, r.event, r.currency, r.value_date, 'memo', LEAST(r.amount, GREATEST(0, r.memo_total - r.before))
        FROM (SELECT t.*, COALESCE(SUM(t.amount) OVER (PARTITION BY t.loan_id ORDER BY t.value_date, t.id
                                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
              FROM acct_txn t WHERE t.event = 'recovery') r
        WHERE r.memo_total - r.before > 0;
        ANALYZE acct_comp;
        """,
        {"paying": list(PAYING_EVENTS)},
    )
    _check_rules()
    _execute(
        f"""
        CREATE TEMPORARY TABLE acct_delta ON COMMIT DROP AS
        WITH expected AS (
            SELECT c.source AS txn_id, r.account_id, c.amount * r.sign AS amount
            FROM acct_comp c JOIN acct_rules r ON {_RULE_MATCH}
            UNION ALL
            -- A reversal undoes what the journal holds for the transaction it reverses.
            SELECT t.id, h.account_id, -h.amount
            FROM acct_txn t JOIN acct_held h ON h.txn_id = t.reverses_id WHERE t.kind = 'reversal'
            UNION ALL
            SELECT h.txn_id, h.account_id, -h.amount FROM acct_held h JOIN acct_txn t ON t.id = h.txn_id
        )
        SELECT txn_id, account_id, SUM(amount) AS amount FROM expected
        GROUP BY 1, 2 HAVING SUM(amount) <> 0;
        """  # noqa: S608
    )
    entries = _fetchall("SELECT COUNT(DISTINCT txn_id) FROM acct_delta")[0][0]
    if entries:
        _write_entries(
            sources="(SELECT * FROM acct_txn WHERE id IN (SELECT txn_id FROM acct_delta)) t",
            event_date="t.value_date",
            values="t.currency, t.event, %(ct)s, t.id, t.loan_id, LEFT(t.reference, 255)",
            order="t.id",
            keys="source_id, loan_id",
            match="e.source_id = d.txn_id",
            line_loan="e.loan_id",
            params=params,
        )
    _execute("DROP TABLE acct_txn, acct_held, acct_comp, acct_delta")
    run.entries += entries
    return int(entries)


# Interest earned by day on each installment period (linear within the period: the installment's
# interest × days elapsed / days of the period), less what was paid of it by the date, per loan; and
# the due date of the oldest installment not paid in full by the date (days past due, DOMAIN.md §6).
def loan_state_sql() -> str:
    """Per loan of ``acct_batch`` as of ``%(as_of)s``: (loan_id, receivable, oldest_due)."""
    return f"""
WITH lines AS (
    SELECT sl.id, sl.loan_id, sl.due_on, sl.paid_on, sl.paid_interest,
           ROUND(sl.interest * LEAST(1, GREATEST(0,
               (%(as_of)s::date - (sl.due_on - sl.days))::numeric / NULLIF(sl.days, 0))), 2) AS earned
      FROM installments_scheduleline sl
     WHERE sl.is_current AND {in_batch("sl.loan_id")}
), later AS (
    SELECT a.schedule_line_id, SUM(a.amount) AS amount
      FROM installments_allocation a
      JOIN installments_loantransaction t ON t.id = a.transaction_id
     WHERE {in_batch("t.loan_id")} AND t.value_date > %(as_of)s AND a.component = 'interest'
     GROUP BY a.schedule_line_id
)
SELECT lines.loan_id,
       COALESCE(SUM(GREATEST(0, lines.earned - (lines.paid_interest - COALESCE(later.amount, 0)))), 0) AS receivable,
       MIN(lines.due_on) FILTER (WHERE lines.due_on < %(as_of)s
                                   AND (lines.paid_on IS NULL OR lines.paid_on > %(as_of)s)) AS oldest_due
  FROM lines LEFT JOIN later ON later.schedule_line_id = lines.id
 GROUP BY lines.loan_id
"""  # noqa: S608


def _held_sql(as_of: dt.date) -> str:
    """Per loan of the batch and account of ``%(accounts)s``: what the journal holds from events dated up
    to ``as_of``. Unless a run for a later date posted already (rare: a rerun for a past date), that is
    every line, summed without reading each line's entry."""
    later = JournalEntry.objects.filter(source_value_date__gt=as_of).exists()
    dated = "JOIN accounting_journalentry e ON e.id = jl.entry_id AND e.source_value_date <= %(as_of)s" if later else ""
    return f"""
            SELECT jl.loan_id, jl.account_id, SUM(jl.debit - jl.credit) AS amount
            FROM accounting_journalline jl {dated}
            WHERE {in_batch("jl.loan_id")} AND jl.account_id = ANY(%(accounts)s)
            GROUP BY 1, 2"""  # noqa: S608 - fragments of our own


def true_up_deltas(run: PostingRun, *, loan_ids: list[int]) -> int:
    """Per loan as of the run's date: the principal in vencido (1405) when past the threshold, in
    refinanciado (1404) for a refinanced loan, else in vigente (1401); accrued interest receivable
    (1408) = interest earned and unpaid for a vigente loan, zero for a vencido one (that interest leaves
    income and sits in suspense, memo 8104; what a vencido loan pays is income when collected);
    provisions (1409) = the latest rating's. One entry per event and currency for the batch, a line per
    loan and account; a written-off loan has left the book."""
    as_of = run.as_of
    if not loan_ids:
        return 0
    batch = batch_table(loan_ids)
    found = _fetchall(f"SELECT DISTINCT currency FROM loans_loan l WHERE {in_batch('l.id')}", batch)  # noqa: S608
    currencies = sorted(row[0] for row in found)
    if not currencies:
        return 0
    roles = {role: [run.chart.account(role, currency, as_of) for currency in currencies] for role in TRUE_UP_ROLES}
    params: dict[str, Any] = {
        **batch,
        "as_of": as_of,
        "currencies": currencies,
        **roles,
        "accounts": sorted({account for accounts in roles.values() for account in accounts}),
        "vencido_after": settings.ACCOUNTING_VENCIDO_AFTER_DAYS,
        **_closed_months(run),
    }
    _rules_table(run)
    _execute(
        f"""
        CREATE TEMPORARY TABLE acct_comp ON COMMIT DROP AS
        WITH roles AS (
            SELECT * FROM unnest(%(currencies)s::text[], %({rules.LOAN_VIGENTE})s::bigint[],
                                 %({rules.LOAN_VENCIDO})s::bigint[], %({rules.LOAN_REFINANCED})s::bigint[],
                                 %({rules.ACCRUED_INTEREST})s::bigint[], %({rules.SUSPENDED_INTEREST})s::bigint[],
                                 %({rules.PROVISION})s::bigint[])
                AS r(currency, vigente, vencido, refinanced, accrued, suspended, provision)
        ), state AS ({loan_state_sql()}
        ), held AS ({_held_sql(as_of)}
        ), rated AS (
            -- The latest rating on or before the date: one row per loan through its (loan, date) key.
            SELECT b.loan_id, r.provision FROM acct_batch b
            CROSS JOIN LATERAL (SELECT provision FROM installments_loanrating
                                WHERE loan_id = b.loan_id AND as_of <= %(as_of)s ORDER BY as_of DESC LIMIT 1) r
        ), book AS (
            SELECT l.id AS loan_id, l.currency, l.is_refinanced,
                   COALESCE(s.receivable, 0) AS receivable,
                   COALESCE(%(as_of)s::date - s.oldest_due, 0) > %(vencido_after)s AS vencido,
                   COALESCE(rated.provision, 0) AS provision_target,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.vigente), 0) AS vigente,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.vencido), 0) AS vencido_held,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.refinanced), 0) AS refinanced_held,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.accrued), 0) AS accrued_held,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.suspended), 0) AS suspended_held,
                   COALESCE(SUM(h.amount) FILTER (WHERE h.account_id = r.provision), 0) AS provision_held
            FROM loans_loan l
            JOIN roles r ON r.currency = l.currency
            LEFT JOIN state s ON s.loan_id = l.id
            LEFT JOIN rated ON rated.loan_id = l.id
            LEFT JOIN held h ON h.loan_id = l.id
            WHERE {in_batch("l.id")} AND l.disbursed_on <= %(as_of)s
              AND NOT EXISTS (SELECT 1 FROM lifecycle_writeoff w WHERE w.loan_id = l.id AND w.status = 'approved'
                                                                 AND w.written_off_on <= %(as_of)s)
            GROUP BY l.id, l.currency, l.is_refinanced, s.receivable, s.oldest_due, rated.provision
        ), target AS (
            -- Principal repaid is credited to vigente whatever the loan's class; the true-up puts the
            -- whole principal back where the loan's state says.
            SELECT *, vigente + vencido_held + refinanced_held AS principal,
                   provision_target + provision_held AS provision_delta  -- 1409 holds a credit balance
            FROM book
        )
        SELECT u.*, %(as_of)s::date AS on_date FROM (
        SELECT loan_id, currency, 'classification' AS event, 'principal' AS component,
               CASE WHEN vencido THEN principal ELSE 0 END - vencido_held AS amount
        FROM target
        UNION ALL
        SELECT loan_id, currency, 'classification', 'refinanced',
               CASE WHEN is_refinanced AND NOT vencido THEN principal ELSE 0 END - refinanced_held
        FROM target
        UNION ALL
        SELECT loan_id, currency, CASE WHEN vencido THEN 'suspension' ELSE 'accrual' END, 'interest',
               CASE WHEN vencido THEN 0 ELSE receivable END - accrued_held
        FROM target
        UNION ALL
        SELECT loan_id, currency, 'suspension', 'memo', CASE WHEN vencido THEN receivable ELSE 0 END - suspended_held
        FROM target
        UNION ALL
        SELECT loan_id, currency, 'provision', CASE WHEN provision_delta > 0 THEN 'made' ELSE 'released' END,
               ABS(provision_delta)
        FROM target
        ) u;
        ANALYZE acct_comp;
        """,  # noqa: S608 - fragments and role names of our own, values are parameters
        params,
    )
    _check_rules()
    _execute(
        f"""
        CREATE TEMPORARY TABLE acct_delta ON COMMIT DROP AS
        SELECT c.event, c.currency, r.account_id, c.loan_id, SUM(c.amount * r.sign) AS amount
        FROM acct_comp c JOIN acct_rules r ON {_RULE_MATCH}
        WHERE c.amount <> 0
        GROUP BY 1, 2, 3, 4 HAVING SUM(c.amount * r.sign) <> 0
        """  # noqa: S608
    )
    entries = _fetchall("SELECT COUNT(*) FROM (SELECT DISTINCT event, currency FROM acct_delta) e")[0][0]
    if entries:
        _write_entries(
            sources="(SELECT DISTINCT event, currency FROM acct_delta) g",
            event_date="%(as_of)s::date",
            values="g.currency, g.event, NULL, NULL, NULL, g.event || ' ' || %(as_of)s::text",
            order="g.event, g.currency",
            keys="event, currency",
            match="e.event = d.event AND e.currency = d.currency",
            line_loan="d.loan_id",
            params=params,
        )
    _execute("DROP TABLE acct_comp, acct_delta")
    run.entries += entries
    return int(entries)
