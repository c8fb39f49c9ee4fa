# ruff: noqa: S608 - every statement is built from our own table and column names; values are parameters
"""Running totals of the book: what the dashboard shows, without reading the book on every visit.

The dashboard states the active book (loans, borrowers, outstanding principal, PAR, categories) as it
stands after every payment, withholding and void (DOMAIN.md §6), and the month's money (disbursed,
withheld, remitted, still owed by buyers). Summed from the loans and withholdings that is a scan of
150,000 loans and a month's million withholdings per visit. So PostgreSQL keeps the sums as the rows
change, in the same transaction, by triggers on the tables that hold them (created by migration
``installments 0006``):

- ``loans_loan`` → ``BookTally`` (per currency, days past due and date of the loan's state: loans,
  outstanding principal, overdue amount), ``FlowTally`` (principal disbursed per day), and
  ``BorrowerTally`` (each miner's loans in the book) with the borrowers and women entering or leaving;
- ``installments_withholding`` → ``FlowTally`` (withheld per day, reversals out) and ``OwedTally``
  (each buyer's unremitted balance);
- ``installments_remittancematch`` (and a remittance's date, if corrected) → ``FlowTally`` (remitted per
  day);
- ``miners_miner`` → the women count, when a borrower's recorded gender changes.

Triggers rather than calls in each service because the figures must follow every write of those rows:
the settlement post, payments, voids, disbursement and credits, but also the nightly accrual's and the
reconciliation's set-based UPDATEs, the imports and the admin. Each fires once per statement and reads
the statement's old and new rows (transition tables), so a 20,000-loan batch adds a handful of rows.

No hot row: a change *adds* a row of differences (+ the new state, − the old), never updates a shared
counter, so concurrent settlement posts never wait on each other here, nor deadlock. Readers sum the
rows (``book_rows_sql`` …). ``tally_compact`` folds them into one row per key — in a single statement
that deletes the rows it sees and inserts their sums, so rows being added meanwhile are left for the next
time, never lost or counted twice; the dashboard runs it when it read more than ``COMPACT_ABOVE``
uncompacted rows. ``tally_rebuild`` (``manage.py portfolio_tally --rebuild``) recomputes every figure
from the loans and withholdings and adds the difference, in one REPEATABLE READ snapshot, so it may run
while the book is being written.

``BorrowerTally`` is the exception: one row per miner, upserted only when one of the miner's loans
enters or leaves the book (a disbursement, a payoff, a void that reopens a loan); the trigger locks
that miner's row (FOR SHARE) so a gender correction at the same moment is counted once.

The demo's SQLite has no triggers: there the same read queries run over the "from scratch" statements
below instead of the tallies (its book is small), which is also what the tests compare the tallies with.
"""

from __future__ import annotations

from django.db import OperationalError, connection, transaction

from asmcredit.sql import is_postgres

# Compact when a read summed this many more rows than it returned (rows added since the last compaction).
COMPACT_ABOVE = 5_000
REBUILD_ATTEMPTS = 3

ACTIVE = "status = 'active' AND outstanding_principal > 0"  # a loan in the book
OPEN_WITHHOLDING = "status IN ('unremitted', 'partial')"
NOT_REVERSED = "status <> 'reversed'"
FEMALE = "F"

# --- What the figures are: from scratch, and from the tallies -------------------------------------------
# Each pair returns the same columns. The stock: the active book per (currency, days past due, date of the
# state — only for loans past due, whose days past due age from it), with a row of no currency carrying
# the distinct borrowers and women.

_BOOK_SCRATCH = f"""
    SELECT currency, days_past_due, CASE WHEN days_past_due > 0 THEN state_as_of END AS state_as_of,
           COUNT(*) AS loans, SUM(outstanding_principal) AS outstanding, SUM(overdue_amount) AS overdue,
           0 AS borrowers, 0 AS women, 1 AS entries
    FROM loans_loan WHERE {ACTIVE}
    GROUP BY currency, days_past_due, CASE WHEN days_past_due > 0 THEN state_as_of END
    UNION ALL
    SELECT '', 0, NULL, 0, 0, 0, COUNT(DISTINCT l.miner_id),
           COUNT(DISTINCT CASE WHEN m.gender = '{FEMALE}' THEN l.miner_id END), 1
    FROM loans_loan l JOIN miners_miner m ON m.id = l.miner_id
    WHERE l.status = 'active' AND l.outstanding_principal > 0
"""
_BOOK_TALLY = """
    SELECT currency, days_past_due, state_as_of, SUM(loans) AS loans, SUM(outstanding) AS outstanding,
           SUM(overdue) AS overdue, SUM(borrowers) AS borrowers, SUM(women) AS women, COUNT(*) AS entries
    FROM installments_booktally GROUP BY currency, days_past_due, state_as_of
"""

# The money moved per day: disbursed (by disbursement date), withheld (by withholding date, reversals
# out) and remitted (matched to a remittance, by its date).
_FLOW_SCRATCH = f"""
    SELECT disbursed_on AS day, currency, COUNT(*) AS loans_disbursed, SUM(principal) AS disbursed,
           0 AS withheld, 0 AS remitted, 1 AS entries
    FROM loans_loan GROUP BY disbursed_on, currency
    UNION ALL
    SELECT withheld_on, currency, 0, 0, SUM(amount), 0, 1
    FROM installments_withholding WHERE {NOT_REVERSED} GROUP BY withheld_on, currency
    UNION ALL
    SELECT r.paid_on, w.currency, 0, 0, 0, SUM(m.amount), 1
    FROM installments_remittancematch m
    JOIN installments_remittance r ON r.id = m.remittance_id
    JOIN installments_withholding w ON w.id = m.withholding_id
    GROUP BY r.paid_on, w.currency
"""
_FLOW_TALLY = """
    SELECT day, currency, SUM(loans_disbursed) AS loans_disbursed, SUM(disbursed) AS disbursed,
           SUM(withheld) AS withheld, SUM(remitted) AS remitted, COUNT(*) AS entries
    FROM installments_flowtally GROUP BY day, currency
"""

# What each buyer owes: withheld, not yet remitted.
_OWED_SCRATCH = f"""
    SELECT buyer_id, currency, SUM(amount - remitted_amount) AS owed, 1 AS entries
    FROM installments_withholding WHERE {OPEN_WITHHOLDING} GROUP BY buyer_id, currency
"""
_OWED_TALLY = """
    SELECT buyer_id, currency, SUM(owed) AS owed, COUNT(*) AS entries
    FROM installments_owedtally GROUP BY buyer_id, currency
"""


def tallies_kept() -> bool:
    """Whether the database keeps the tallies (PostgreSQL's triggers) or the figures come from scratch."""
    return is_postgres()


def book_rows_sql(*, from_scratch: bool = False) -> str:
    """``(currency, days_past_due, state_as_of, loans, outstanding, overdue, borrowers, women, entries)``."""
    return _BOOK_SCRATCH if from_scratch or not tallies_kept() else _BOOK_TALLY


def flow_rows_sql(*, from_scratch: bool = False) -> str:
    """``(day, currency, loans_disbursed, disbursed, withheld, remitted, entries)``."""
    return _FLOW_SCRATCH if from_scratch or not tallies_kept() else _FLOW_TALLY


def owed_rows_sql(*, from_scratch: bool = False) -> str:
    """``(buyer_id, currency, owed, entries)``."""
    return _OWED_SCRATCH if from_scratch or not tallies_kept() else _OWED_TALLY


# --- Upkeep ---------------------------------------------------------------------------------------------

_COMPACT = {
    "installments_booktally": (
        ("currency", "days_past_due", "state_as_of"),
        ("loans", "outstanding", "overdue", "borrowers", "women"),
    ),
    "installments_flowtally": (("day", "currency"), ("loans_disbursed", "disbursed", "withheld", "remitted")),
    "installments_owedtally": (("buyer_id", "currency"), ("owed",)),
}


def tally_compact() -> int:
    """Fold each tally's rows into one per key (dropping keys that sum to nothing); the rows left.

    One statement per tally: it deletes the rows it sees and inserts their sums, so a row another
    transaction is adding meanwhile stays as it is, and a second compaction at the same time only sums
    the rows it could delete itself."""
    if not tallies_kept():
        return 0
    left = 0
    with transaction.atomic(), connection.cursor() as cursor:
        for table, (keys, figures) in _COMPACT.items():
            key_list, figure_list = ", ".join(keys), ", ".join(figures)
            cursor.execute(
                f"""
                WITH moved AS (DELETE FROM {table} RETURNING {key_list}, {figure_list})
                INSERT INTO {table} ({key_list}, {figure_list})
                SELECT {key_list}, {", ".join(f"SUM({name})" for name in figures)} FROM moved
                GROUP BY {key_list} HAVING {" OR ".join(f"SUM({name}) <> 0" for name in figures)}
                """
            )
            left += cursor.rowcount
    return left


_CORRECTIONS = {
    "installments_booktally": (_BOOK_SCRATCH, _BOOK_TALLY, _COMPACT["installments_booktally"]),
    "installments_flowtally": (_FLOW_SCRATCH, _FLOW_TALLY, _COMPACT["installments_flowtally"]),
    "installments_owedtally": (_OWED_SCRATCH, _OWED_TALLY, _COMPACT["installments_owedtally"]),
}


def tally_rebuild() -> int:
    """Recompute every tally from the loans and withholdings and add the difference; the keys corrected.

    Both sides are read in one REPEATABLE READ snapshot: a change committed after it is in neither the
    scratch figures nor the tally rows read, and its own trigger's rows come on top of the correction.
    Only the per-miner counts are updated in place; a concurrent flip of one of those miners makes the
    snapshot stale, and the rebuild starts again."""
    if not tallies_kept():
        return 0
    for attempt in range(REBUILD_ATTEMPTS):
        try:
            return _rebuild()
        except OperationalError:  # could not serialize access due to concurrent update
            if attempt == REBUILD_ATTEMPTS - 1:
                raise
    return 0


def _rebuild() -> int:
    corrected = 0
    nested = connection.in_atomic_block  # inside a migration or a test: that transaction's snapshot
    with transaction.atomic(), connection.cursor() as cursor:
        if not nested:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for table, (scratch, tally, (keys, figures)) in _CORRECTIONS.items():
            key_list = ", ".join(keys)
            cursor.execute(
                f"""
                INSERT INTO {table} ({key_list}, {", ".join(figures)})
                SELECT {key_list}, {", ".join(f"SUM({name})" for name in figures)}
                FROM (SELECT {key_list}, {", ".join(figures)} FROM ({scratch}) s
                      UNION ALL
                      SELECT {key_list}, {", ".join(f"-{name}" for name in figures)} FROM ({tally}) t) d
                GROUP BY {key_list} HAVING {" OR ".join(f"SUM({name}) <> 0" for name in figures)}
                """
            )
            corrected += cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO installments_borrowertally AS b (miner_id, loans)
            SELECT miner_id, SUM(loans)
            FROM (SELECT miner_id, COUNT(*) AS loans FROM loans_loan WHERE {ACTIVE} GROUP BY miner_id
                  UNION ALL
                  SELECT miner_id, -loans FROM installments_borrowertally) d
            GROUP BY miner_id HAVING SUM(loans) <> 0 ORDER BY miner_id
            ON CONFLICT (miner_id) DO UPDATE SET loans = b.loans + EXCLUDED.loans
            """
        )
        corrected += cursor.rowcount
    return corrected


# --- The triggers (installed by migration installments 0006) ------------------------------------------


def _union(parts: list[str]) -> str:
    return " UNION ALL ".join(parts)


def _loan_statements(tables: dict[str, str]) -> str:
    """The body of a loans_loan trigger; ``tables`` maps each transition table to its sign."""
    book = _union(
        [
            f"""SELECT currency, days_past_due, CASE WHEN days_past_due > 0 THEN state_as_of END,
                       {sign}1, {sign}outstanding_principal, {sign}overdue_amount
                FROM {name} WHERE {ACTIVE}"""
            for name, sign in tables.items()
        ]
    )
    flows = _union(
        [f"SELECT disbursed_on, currency, {sign}1, {sign}principal FROM {name}" for name, sign in tables.items()]
    )
    miners = _union([f"SELECT miner_id, {sign}1 FROM {name} WHERE {ACTIVE}" for name, sign in tables.items()])
    changed = f"SELECT miner_id, SUM(n) AS delta FROM ({miners}) d (miner_id, n) GROUP BY miner_id HAVING SUM(n) <> 0"
    return f"""
        INSERT INTO installments_booktally
            (currency, days_past_due, state_as_of, loans, outstanding, overdue, borrowers, women)
        SELECT currency, dpd, state_as_of, SUM(n), SUM(outstanding), SUM(overdue), 0, 0
        FROM ({book}) d (currency, dpd, state_as_of, n, outstanding, overdue)
        GROUP BY currency, dpd, state_as_of
        HAVING SUM(n) <> 0 OR SUM(outstanding) <> 0 OR SUM(overdue) <> 0;

        INSERT INTO installments_flowtally (day, currency, loans_disbursed, disbursed, withheld, remitted)
        SELECT day, currency, SUM(n), SUM(amount), 0, 0 FROM ({flows}) d (day, currency, n, amount)
        GROUP BY day, currency HAVING SUM(n) <> 0 OR SUM(amount) <> 0;

        -- A miner whose count of loans in the book goes from or to zero enters or leaves the borrowers.
        -- Their row is held (FOR SHARE) so a gender correction waits for this count, or this one for it.
        PERFORM 1 FROM miners_miner WHERE id IN (SELECT miner_id FROM ({changed}) c) ORDER BY id FOR SHARE;
        WITH changed AS ({changed}),
        counted AS (
            INSERT INTO installments_borrowertally AS b (miner_id, loans)
            SELECT miner_id, delta FROM changed ORDER BY miner_id
            ON CONFLICT (miner_id) DO UPDATE SET loans = b.loans + EXCLUDED.loans
            RETURNING b.miner_id, b.loans
        ),
        flips AS (
            SELECT c.miner_id,
                   CASE WHEN c.loans > 0 AND c.loans - ch.delta <= 0 THEN 1
                        WHEN c.loans <= 0 AND c.loans - ch.delta > 0 THEN -1 ELSE 0 END AS flip
            FROM counted c JOIN changed ch ON ch.miner_id = c.miner_id
        )
        INSERT INTO installments_booktally
            (currency, days_past_due, state_as_of, loans, outstanding, overdue, borrowers, women)
        SELECT '', 0, NULL, 0, 0, 0, SUM(f.flip), SUM(CASE WHEN m.gender = '{FEMALE}' THEN f.flip ELSE 0 END)
        FROM flips f JOIN miners_miner m ON m.id = f.miner_id
        WHERE f.flip <> 0 HAVING COUNT(*) > 0;
    """


def _withholding_statements(tables: dict[str, str]) -> str:
    withheld = _union(
        [
            f"SELECT withheld_on, currency, {sign}amount FROM {name} WHERE {NOT_REVERSED}"
            for name, sign in tables.items()
        ]
    )
    owed = _union(
        [
            f"SELECT buyer_id, currency, {sign}(amount - remitted_amount) FROM {name} WHERE {OPEN_WITHHOLDING}"
            for name, sign in tables.items()
        ]
    )
    return f"""
        INSERT INTO installments_flowtally (day, currency, loans_disbursed, disbursed, withheld, remitted)
        SELECT day, currency, 0, 0, SUM(amount), 0 FROM ({withheld}) d (day, currency, amount)
        GROUP BY day, currency HAVING SUM(amount) <> 0;

        INSERT INTO installments_owedtally (buyer_id, currency, owed)
        SELECT buyer_id, currency, SUM(owed) FROM ({owed}) d (buyer_id, currency, owed)
        GROUP BY buyer_id, currency HAVING SUM(owed) <> 0;
    """


def _remitted(rows: str) -> str:
    """Add ``rows`` (``day, currency, amount``) to the money remitted per day."""
    return f"""
        INSERT INTO installments_flowtally (day, currency, loans_disbursed, disbursed, withheld, remitted)
        SELECT day, currency, 0, 0, 0, SUM(amount) FROM ({rows}) d (day, currency, amount)
        GROUP BY day, currency HAVING SUM(amount) <> 0;
    """


def _match_statements(tables: dict[str, str]) -> str:
    # Django deletes a remittance's matches before the remittance (its cascades are its own statements).
    return _remitted(
        _union(
            [
                f"""SELECT r.paid_on, w.currency, {sign}m.amount FROM {name} m
                    JOIN installments_remittance r ON r.id = m.remittance_id
                    JOIN installments_withholding w ON w.id = m.withholding_id"""
                for name, sign in tables.items()
            ]
        )
    )


def _redated(day: str, sign: str) -> str:
    return f"""SELECT {day}, w.currency, {sign}m.amount
               FROM new_rows n JOIN old_rows o ON o.id = n.id
               JOIN installments_remittancematch m ON m.remittance_id = n.id
               JOIN installments_withholding w ON w.id = m.withholding_id
               WHERE n.paid_on <> o.paid_on"""


# A remittance re-dated moves what was matched to it to its new date.
_REMITTANCE_UPDATE = _remitted(_union([_redated("n.paid_on", ""), _redated("o.paid_on", "-")]))
# A borrower's recorded gender corrected: the women in the book follow (the flip above holds the row).
_MINER_UPDATE = f"""
    INSERT INTO installments_booktally
        (currency, days_past_due, state_as_of, loans, outstanding, overdue, borrowers, women)
    SELECT '', 0, NULL, 0, 0, 0, 0, SUM(CASE WHEN n.gender = '{FEMALE}' THEN 1 ELSE -1 END)
    FROM new_rows n JOIN old_rows o ON o.id = n.id JOIN installments_borrowertally b ON b.miner_id = n.id
    WHERE b.loans > 0 AND (n.gender = '{FEMALE}') <> (o.gender = '{FEMALE}')
    HAVING COUNT(*) > 0;
"""

_TRANSITIONS = {
    "INSERT": ({"new_rows": ""}, "REFERENCING NEW TABLE AS new_rows"),
    "UPDATE": ({"new_rows": "", "old_rows": "-"}, "REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows"),
    "DELETE": ({"old_rows": "-"}, "REFERENCING OLD TABLE AS old_rows"),
}
_STATEMENT_TRIGGERS = {
    "loans_loan": _loan_statements,
    "installments_withholding": _withholding_statements,
    "installments_remittancematch": _match_statements,
}


def _trigger(table: str, name: str, timing: str, body: str) -> tuple[str, str, str, str]:
    """Create the function, drop an older trigger, create the trigger, drop the function (to undo)."""
    function = f"asm_tally_{name}"
    return (
        f"""CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN {body} RETURN NULL; END $$""",
        f"DROP TRIGGER IF EXISTS {function} ON {table}",
        f"CREATE TRIGGER {function} {timing} FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
        f"DROP FUNCTION IF EXISTS {function}()",
    )


def _triggers() -> list[tuple[str, str, str, str]]:
    triggers = []
    for table, statements in _STATEMENT_TRIGGERS.items():
        for operation, (tables, referencing) in _TRANSITIONS.items():
            triggers.append(
                _trigger(
                    table,
                    f"{table.split('_', 1)[1]}_{operation.lower()}",
                    f"AFTER {operation} ON {table} {referencing}",
                    statements(tables),
                )
            )
    triggers.append(
        _trigger(
            "installments_remittance",
            "remittance_update",
            f"AFTER UPDATE ON installments_remittance {_TRANSITIONS['UPDATE'][1]}",
            _REMITTANCE_UPDATE,
        )
    )
    triggers.append(
        _trigger(
            "miners_miner", "miner_update", f"AFTER UPDATE ON miners_miner {_TRANSITIONS['UPDATE'][1]}", _MINER_UPDATE
        )
    )
    return triggers


def tally_triggers_install() -> None:
    """Create (or replace) the triggers that keep the tallies (PostgreSQL; a migration runs it)."""
    with connection.cursor() as cursor:
        for create_function, drop_trigger, create_trigger, _drop_function in _triggers():
            cursor.execute(create_function)
            cursor.execute(drop_trigger)
            cursor.execute(create_trigger)


def tally_triggers_remove() -> None:
    with connection.cursor() as cursor:
        for _create_function, drop_trigger, _create_trigger, drop_function in _triggers():
            cursor.execute(drop_trigger)
            cursor.execute(drop_function)
