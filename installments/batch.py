"""Portfolio-wide jobs in set-based SQL: moratory accrual, risk rating and remittance reconciliation.

Why SQL and not the ORM: at national scale (150,000 active loans, 3–5 million installment rows, 15
million settlements a year) a per-loan Python loop spends its time shipping rows to Python and back.
Each job here is a handful of statements per batch that PostgreSQL executes where the data is.

How the jobs stay safe and repeatable:
- **Batches** (loan-id ranges, miner-id ranges, buyer-id ranges) each commit on their own, so memory
  and lock time are bounded and a killed worker loses at most one batch of work.
- **Idempotent**: every write is an upsert or an UPDATE guarded by "value differs", so running a job
  twice for the same date changes nothing the second time (``JobRun.rows_touched`` is 0).
- **One run at a time** per job on PostgreSQL, by a session advisory lock. The lock dies with the
  connection, so when a worker is SIGKILLed the next run gets it, marks the dead run's JobRun as
  abandoned, and redoes the work from its batches (idempotently).
- **Locks in the services' order**: the accrual locks its loans by id (as ``settlement_post`` does),
  the reconciliation locks its buyers first (as ``remittance_record`` and ``settlement_void`` do).

The same SQL runs on SQLite (the demo) through a few vendor helpers (date arithmetic, GREATEST, JSON
casts, no FOR UPDATE). Amounts there are floats, so sums are rounded to the céntimo where stored.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from asmcredit.jobs import job_run
from asmcredit.models import JobRun
from asmcredit.money import round_half_up
from asmcredit.sql import days_between, is_postgres
from installments import risk
from installments.models import PortfolioRating, ScheduleLine
from loans.models import Loan
from loans.sbs import DPD_BANDS
from rates.fx import FxRate, fx_rates, soles_case_sql, stale_rates

RATING_JOB = "rate_portfolio"
ACCRUAL_JOB = "accrue_moratory"
RECONCILIATION_JOB = "reconcile_remittances"
NIGHTLY_JOB = "nightly_servicing"

# Early-warning windows (DOMAIN.md §6): deliveries and volumes are read from the last 180 days; the
# median delivery interval is taken over that window too, which bounds the scan and follows the
# miner's current rhythm rather than last year's.
WINDOW_DAYS = 180
VOLUME_DAYS = 90
RECENT_PERIODS = risk.WITHHOLDINGS_AVERAGED
RATING_WORK_MEM = "128MB"
# The batch statements' row estimates are far above what they touch (a miner range's loans, a day), which
# makes PostgreSQL compile them with JIT: over a second per statement, a third of a rating batch's time
# at national scale, for no faster execution (bench/portfolio.py). Each batch turns it off for itself.
NO_JIT = "SET LOCAL jit = off"


# --- Vendor helpers ---------------------------------------------------------------------------------


def _day(param: str) -> str:
    return f"CAST(%({param})s AS DATE)" if is_postgres() else f"%({param})s"


def _minus_days(day: str, days: str) -> str:
    if is_postgres():
        return f"({day} - {days})"
    return f"date({day}, '-' || {days} || ' days')"


def _greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if is_postgres() else f"MAX({a}, {b})"


def _distinct(a: str, b: str) -> str:
    return f"({a} IS DISTINCT FROM {b})" if is_postgres() else f"({a} IS NOT {b})"


def _json(expr: str) -> str:
    return f"CAST({expr} AS jsonb)" if is_postgres() else expr


def _date_param(day: dt.date) -> Any:
    return connection.ops.adapt_datefield_value(day)


def _now_param() -> Any:
    return connection.ops.adapt_datetimefield_value(timezone.now())


def _execute(sql: str, params: dict[str, Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def _fetchall(sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or {})
        return cursor.fetchall()


# --- Job runs ------------------------------------------------------------------------------------------


def _progress(run: JobRun, done: int, total: int, rows: int) -> None:
    run.rows_touched += rows
    run.progress = min(99, int(100 * done / max(total, 1)))
    JobRun.objects.filter(pk=run.pk).update(progress=run.progress, rows_touched=run.rows_touched)


def _id_ranges(table: str, where: str, params: dict[str, Any], size: int) -> list[tuple[int, int]]:
    rows = _fetchall(f"SELECT MIN(id), MAX(id) FROM {table} WHERE {where}", params)  # noqa: S608
    low, high = rows[0]
    if low is None:
        return []
    return [(start, min(start + size - 1, high)) for start in range(low, high + 1, size)]


# --- Moratory accrual -----------------------------------------------------------------------------


def _unpaid_scheduled(alias: str) -> str:
    a = alias
    expression = (
        f"({a}.principal + {a}.interest + {a}.deferred_interest + {a}.insurance + {a}.fees"
        f" - {a}.paid_principal - {a}.paid_interest - {a}.paid_deferred_interest - {a}.paid_insurance"
        f" - {a}.paid_fees)"
    )
    # SQLite keeps decimals as floats, so a paid installment can leave 1e-13 behind and look unpaid.
    return expression if is_postgres() else f"ROUND({expression}, 2)"


def _daily_rate_sql(tea_pct: str) -> str:
    """SQL for ``i₁ = (1 + TEA)^(1/360) − 1`` (``installments.allocation.daily_rate``) of a percent column,
    in enough digits that the accrual rounds to the céntimo as the replay's does."""
    if is_postgres():
        return f"(POWER(CAST(1 + {tea_pct} / 100 AS NUMERIC(40, 30)), CAST(1 AS NUMERIC(40, 30)) / 360) - 1)"
    return f"(POWER(1 + {tea_pct} / 100.0, 1 / 360.0) - 1)"


def _current_category_sql(dpd: str) -> str:
    """SQL for the SBS category of ``dpd`` days past due (``loans.sbs.category_for_dpd``)."""
    whens = " ".join(
        f"WHEN {dpd} <= {band.max_dpd} THEN '{band.category.value}'" for band in DPD_BANDS if band.max_dpd is not None
    )
    return f"CASE {whens} ELSE '{DPD_BANDS[-1].category.value}' END"


def _floor_severity_sql(floor: str) -> str:
    """SQL for the severity of a refinanced loan's category floor (-1 when it has none)."""
    names = " ".join(f"WHEN '{category.value}' THEN {category.severity}" for category in risk.Category)
    return f"CASE {floor} {names} ELSE -1 END"


def _floored_category_sql(dpd: str, floor: str) -> str:
    """The current category of ``dpd`` days past due, never better than the loan's refinancing ``floor``
    (DOMAIN.md §7; ``installments.services.writeback`` does the same in Python)."""
    return (
        f"CASE WHEN {_floor_severity_sql(floor)} > {_severity_case(dpd)} THEN {floor} "
        f"ELSE {_current_category_sql(dpd)} END"
    )


def accrue_batch(*, as_of: dt.date, low: int, high: int) -> int:
    """Extend late charges and overdue status to ``as_of`` for active loans with ids in [low, high],
    then refresh their cached state (days past due, current category). Loans already recomputed to a
    later date are left alone (the state never goes backwards)."""
    day = _day("day")
    base_on = "COALESCE(sl.moratory_base_on, sl.due_on)"
    late_days = days_between(day, base_on)
    params = {"day": _date_param(as_of), "low": low, "high": high}
    if is_postgres():
        _execute(NO_JIT, {})
        _execute(
            "SELECT id FROM loans_loan WHERE id BETWEEN %(low)s AND %(high)s AND status = 'active' "
            # NO KEY UPDATE, as every servicing write locks loans (installments.services): only their
            # cached state changes, so foreign-key checks on them need not wait.
            "ORDER BY id FOR NO KEY UPDATE",
            params,
        )
    fresh = f"(l.state_as_of IS NULL OR l.state_as_of <= {day})"
    overdue_principal = "(sl.principal - sl.paid_principal)"

    def extended(base: str, tea_pct: str) -> str:
        # The ledger's formula (installments.allocation.late_accrual): linear by day on overdue
        # principal from the line's base date, added to the unrounded base, rounded once.
        return (
            f"ROUND({base} + CASE WHEN {overdue_principal} > 0 AND {late_days} > 0 "
            f"THEN {overdue_principal} * {_daily_rate_sql(tea_pct)} * {late_days} ELSE 0 END, 2)"
        )

    touched = _execute(
        f"""
        UPDATE installments_scheduleline
           SET moratory_accrued = x.new_moratory, late_interest_accrued = x.new_late, status = 'overdue'
        FROM (
            SELECT sl.id AS line_id,
                   {extended("sl.moratory_base", "l.moratory_tea_pct")} AS new_moratory,
                   {extended("sl.late_interest_base", "l.tea_pct")} AS new_late
            FROM installments_scheduleline sl JOIN loans_loan l ON l.id = sl.loan_id
            WHERE l.id BETWEEN %(low)s AND %(high)s AND l.status = 'active' AND {fresh}
              -- The batch's range on the lines too: read through the loan index, not every due line.
              AND sl.loan_id BETWEEN %(low)s AND %(high)s
              AND sl.is_current AND sl.due_on < {day} AND sl.status <> 'paid'
        ) x
        WHERE installments_scheduleline.id = x.line_id
          AND (installments_scheduleline.moratory_accrued <> x.new_moratory
               OR installments_scheduleline.late_interest_accrued <> x.new_late
               OR installments_scheduleline.status <> 'overdue')
        """,  # noqa: S608 - only fragments of our own, values are parameters
        params,
    )
    unpaid = _unpaid_scheduled("sl")
    oldest_late_days = days_between(day, f"MIN(CASE WHEN {unpaid} > 0 AND sl.due_on < {day} THEN sl.due_on END)")
    touched += _execute(
        f"""
        UPDATE loans_loan SET days_past_due = a.dpd,
               category = {_floored_category_sql("a.dpd", "loans_loan.refinance_floor")},
               overdue_amount = a.overdue, moratory_accrued = a.moratory, late_interest_accrued = a.late,
               next_due_on = a.next_due, state_as_of = {day}
        FROM (
            SELECT sl.loan_id,
                   COALESCE({oldest_late_days}, 0) AS dpd,
                   ROUND(SUM(CASE WHEN sl.due_on < {day} THEN {unpaid} ELSE 0 END)
                         + SUM(sl.moratory_accrued - sl.paid_moratory)
                         + SUM(sl.late_interest_accrued - sl.paid_late_interest), 2) AS overdue,
                   ROUND(SUM(sl.moratory_accrued - sl.paid_moratory), 2) AS moratory,
                   ROUND(SUM(sl.late_interest_accrued - sl.paid_late_interest), 2) AS late,
                   MIN(CASE WHEN sl.due_on >= {day} THEN sl.due_on END) AS next_due
            FROM installments_scheduleline sl
            WHERE sl.is_current AND sl.loan_id BETWEEN %(low)s AND %(high)s
            GROUP BY sl.loan_id
        ) a
        WHERE loans_loan.id = a.loan_id AND loans_loan.id BETWEEN %(low)s AND %(high)s
          AND loans_loan.status = 'active'
          AND (loans_loan.state_as_of IS NULL OR loans_loan.state_as_of <= {day})
          AND (loans_loan.days_past_due <> a.dpd OR loans_loan.overdue_amount <> a.overdue
               OR loans_loan.moratory_accrued <> a.moratory OR loans_loan.late_interest_accrued <> a.late
               OR {_distinct("loans_loan.next_due_on", "a.next_due")}
               OR {_distinct("loans_loan.state_as_of", day)})
        """,  # noqa: S608
        params,
    )
    return touched


def accrual_ranges(*, batch_size: int) -> list[tuple[int, int]]:
    """Loan-id ranges of about ``batch_size`` ids each, over the active loans (``accrue_batch``'s unit)."""
    return _id_ranges("loans_loan", "status = 'active'", {}, batch_size)


def run_accrual(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000) -> JobRun:
    with job_run(ACCRUAL_JOB, as_of=as_of, task_id=task_id) as run:
        ranges = accrual_ranges(batch_size=batch_size)
        for done, (low, high) in enumerate(ranges, start=1):
            with transaction.atomic():
                rows = accrue_batch(as_of=as_of, low=low, high=high)
            _progress(run, done, len(ranges), rows)
        run.detail = {"batches": len(ranges)}
    return run


# --- Risk rating ---------------------------------------------------------------------------------------


def _category_case(column: str) -> str:
    names = " ".join(f"WHEN {category.severity} THEN '{category.value}'" for category in risk.Category)
    return f"CASE {column} {names} END"


def _rate_case(column: str, *, preferred: bool) -> str:
    rates = " ".join(
        f"WHEN {category.severity} THEN {risk.provision_rate(category, preferred_guarantee=preferred)}"
        for category in risk.Category
    )
    return f"CASE {column} {rates} END"


def _severity_case(column: str) -> str:
    """dpd → severity, from the SBS band table (``risk.dpd_upper_bounds``), as ``risk.category_for_dpd``."""
    limits = " ".join(
        f"WHEN {column} <= {limit:d} THEN {category.severity}" for limit, category in risk.dpd_upper_bounds()
    )
    return f"CASE {limits} ELSE {risk.worst_band().category.severity} END"


def _loan_rows_sql(day: str, unpaid: str) -> str:
    """Per active loan of the batch: outstanding principal and the oldest unpaid due date. On
    PostgreSQL each loan reads its own installments through the (loan, is_current, due_on) index, so a
    batch never scans the whole installment table."""
    if is_postgres():
        return f"""
        SELECT l.id AS loan_id, l.miner_id, l.withholding_buyer_id AS buyer_id, l.currency,
               COALESCE(agg.outstanding, 0) AS outstanding, agg.oldest_unpaid
        FROM loans_loan l CROSS JOIN LATERAL (
            SELECT SUM(sl.principal - sl.paid_principal) AS outstanding,
                   MIN(CASE WHEN sl.due_on < {day} AND {unpaid} > 0 THEN sl.due_on END) AS oldest_unpaid
            FROM installments_scheduleline sl WHERE sl.loan_id = l.id AND sl.is_current
        ) agg
        WHERE l.status = 'active' AND l.disbursed_on <= {day} AND l.miner_id BETWEEN %(low)s AND %(high)s
        """  # noqa: S608
    return f"""
        SELECT l.id AS loan_id, l.miner_id, l.withholding_buyer_id AS buyer_id, l.currency,
               SUM(sl.principal - sl.paid_principal) AS outstanding,
               MIN(CASE WHEN sl.due_on < {day} AND {unpaid} > 0 THEN sl.due_on END) AS oldest_unpaid
        FROM loans_loan l JOIN installments_scheduleline sl ON sl.loan_id = l.id AND sl.is_current
        WHERE l.status = 'active' AND l.disbursed_on <= {day} AND l.miner_id BETWEEN %(low)s AND %(high)s
        GROUP BY l.id, l.miner_id, l.withholding_buyer_id, l.currency
        """  # noqa: S608


def _pledged_sql(day: str, rates: Mapping[str, FxRate]) -> str:
    """Per loan of the batch with registered collateral still pledged on the day (DOMAIN.md §7: entry
    number and registration date on or before the day, not released by then): the appraised value of
    what counts as a preferred guarantee, in the loan's currency (collateral in another currency is
    converted at the exchange rates of the day, through soles), and whether a policy on it has expired.
    With ``settings.COLLATERAL_INSURANCE_REQUIRED`` only collateral insured on the day counts."""
    counts = f"c.policy_expires_on >= {day}" if settings.COLLATERAL_INSURANCE_REQUIRED else "1 = 1"
    in_loan_currency = (
        f"c.appraised_value * {soles_case_sql('c.currency', rates)} / {soles_case_sql('lr.currency', rates)}"
    )
    return f"""
        SELECT c.loan_id,
               SUM(CASE WHEN {counts} THEN {in_loan_currency} ELSE 0 END) AS value,
               MAX(CASE WHEN c.policy_expires_on < {day} THEN 1 ELSE 0 END) AS policy_expired
        FROM loans_collateral c JOIN loan_rows lr ON lr.loan_id = c.loan_id
        WHERE c.registry_entry <> '' AND c.registered_on <= {day}
          AND (c.released_on IS NULL OR c.released_on > {day})
        GROUP BY c.loan_id
        """  # noqa: S608


def _periods_sql(day: str) -> str:
    """The last completed installment periods of each loan repaid through a buyer."""
    if is_postgres():
        return f"""
        SELECT lr.loan_id, p.due_on, p.days, p.total
        FROM loan_rows lr CROSS JOIN LATERAL (
            SELECT sl.due_on, sl.days, sl.total FROM installments_scheduleline sl
            WHERE sl.loan_id = lr.loan_id AND sl.is_current AND sl.due_on <= {day}
            ORDER BY sl.due_on DESC LIMIT {RECENT_PERIODS}
        ) p
        WHERE lr.buyer_id IS NOT NULL
        """  # noqa: S608
    return f"""
        SELECT loan_id, due_on, days, total FROM (
            SELECT sl.loan_id, sl.due_on, sl.days, sl.total,
                   ROW_NUMBER() OVER (PARTITION BY sl.loan_id ORDER BY sl.due_on DESC) AS rn
            FROM installments_scheduleline sl JOIN loan_rows lr ON lr.loan_id = sl.loan_id
            WHERE sl.is_current AND sl.due_on <= {day} AND lr.buyer_id IS NOT NULL
        ) numbered WHERE rn <= {RECENT_PERIODS}
        """  # noqa: S608


def _signals_sql() -> str:
    """Per miner, from the deliveries CTE: last delivery, median interval, and the two 90-day volumes.
    PostgreSQL takes the median with an ordered-set aggregate; the portable form ranks the gaps."""
    volumes = (
        "SUM(CASE WHEN settled_on > %(volume_split)s THEN tonnes ELSE 0 END) AS last_90, "
        "SUM(CASE WHEN settled_on <= %(volume_split)s THEN tonnes ELSE 0 END) AS prior_90"
    )
    if is_postgres():
        return f"""
    signals AS (
        SELECT miner_id, MAX(settled_on) AS last_on,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS median, {volumes}
        FROM deliveries GROUP BY miner_id
    )"""  # noqa: S608
    return f"""
    ranked_gaps AS (
        SELECT miner_id, gap, ROW_NUMBER() OVER (PARTITION BY miner_id ORDER BY gap) AS rn,
               COUNT(*) OVER (PARTITION BY miner_id) AS n
        FROM deliveries WHERE gap IS NOT NULL
    ), med AS (
        SELECT miner_id, AVG(gap) AS median FROM ranked_gaps WHERE rn IN ((n + 1) / 2, (n + 2) / 2)
        GROUP BY miner_id
    ), signals AS (
        SELECT d.miner_id, MAX(d.settled_on) AS last_on, med.median, {volumes}
        FROM deliveries d LEFT JOIN med ON med.miner_id = d.miner_id GROUP BY d.miner_id, med.median
    )"""  # noqa: S608


def _recent_sql(period_start: str) -> str:
    """What was withheld in each of the periods (``periods``). On PostgreSQL each period reads its own
    withholdings through the (loan, date) index, instead of a hash of every withholding in the book."""
    if is_postgres():
        return f"""
        SELECT p.loan_id, p.due_on, p.total, COALESCE(w.withheld, 0) AS withheld
        FROM periods p CROSS JOIN LATERAL (
            SELECT SUM(w.amount) AS withheld FROM installments_withholding w
            WHERE w.loan_id = p.loan_id AND w.status <> 'reversed'
              AND w.withheld_on > {period_start} AND w.withheld_on <= p.due_on
        ) w"""  # noqa: S608
    return f"""
        SELECT p.loan_id, p.due_on, p.total, COALESCE(SUM(w.amount), 0) AS withheld
        FROM periods p LEFT JOIN installments_withholding w
             ON w.loan_id = p.loan_id AND w.status <> 'reversed'
            AND w.withheld_on > {period_start} AND w.withheld_on <= p.due_on
        GROUP BY p.loan_id, p.due_on, p.total"""  # noqa: S608


def _floors_sql(floors: Mapping[int, risk.RefinanceFloor] | None) -> str:
    """The refinancing floors of the batch's refinanced loans as rows ``(loan_id, severity)``."""
    rows = [
        f"SELECT {int(loan_id)} AS loan_id, {floor.category.severity:d} AS severity"
        for loan_id, floor in (floors or {}).items()
    ]
    return " UNION ALL ".join(rows) if rows else "SELECT 0 AS loan_id, 0 AS severity WHERE 1 = 0"


def refinance_floors(*, as_of: dt.date, low: int, high: int) -> dict[int, risk.RefinanceFloor]:
    """The category floor on ``as_of`` of each active refinanced loan of the miners with ids in [low, high]
    (``risk.refinance_floor`` over its current installments' due and payment dates): few loans, so read
    and worked out per loan, and the same whatever day or how often the job runs."""
    loans = list(
        Loan.objects.filter(
            is_refinanced=True,
            status=Loan.Status.ACTIVE,
            disbursed_on__lte=as_of,
            miner_id__gte=low,
            miner_id__lte=high,
        ).values_list("pk", "refinance_category", "refinanced_on")
    )
    if not loans:
        return {}
    lines: dict[int, list[tuple[dt.date, dt.date | None]]] = {pk: [] for pk, _category, _on in loans}
    for loan_id, due_on, paid_on in ScheduleLine.objects.filter(loan_id__in=list(lines), is_current=True).values_list(
        "loan_id", "due_on", "paid_on"
    ):
        lines[loan_id].append((due_on, paid_on))
    return {
        pk: risk.refinance_floor(
            category=risk.Category(category),
            refinanced_on=refinanced_on or as_of,  # always set on a refinanced loan (a check constraint)
            installments=lines[pk],
            as_of=as_of,
            months=settings.REFINANCE_PUNCTUAL_MONTHS,
            grace_days=settings.REFINANCE_PUNCTUAL_GRACE_DAYS,
        )
        for pk, category, refinanced_on in loans
    }


def _floors_write(*, as_of: dt.date, floors: Mapping[int, risk.RefinanceFloor]) -> int:
    """Keep each refinanced loan's cached floor, window and current category in step with the rating,
    unless the loan's state is already as of a later day (the state never goes backwards)."""
    touched = 0
    for loan in Loan.objects.filter(pk__in=list(floors)).filter(
        Q(state_as_of__isnull=True) | Q(state_as_of__lte=as_of)
    ):
        floor = floors[loan.pk]
        category = risk.worst([risk.category_for_dpd(loan.days_past_due), floor.category]).value
        values = {
            "refinance_floor": floor.category.value,
            "refinance_punctual_since": floor.punctual_since,
            "category": category,
        }
        if any(getattr(loan, name) != value for name, value in values.items()):
            touched += Loan.objects.filter(pk=loan.pk).update(**values, updated=timezone.now())
    return touched


def rating_select_sql(
    rates: Mapping[str, FxRate] | None = None, floors: Mapping[int, risk.RefinanceFloor] | None = None
) -> str:
    """The rating of the active loans of miners with ids in [low, high], as one SELECT.

    Per loan: days past due (oldest unpaid current installment), outstanding principal, SBS category;
    per miner: the internal alignment (``risk.aligned_category`` in SQL: the worst category whose loans
    at or above it add up to at least max(S/ 100, 1% of the miner's debt), else the best present),
    on balances stated in soles at ``rates`` (``book_fx_rates``: the exchange rate of the as-of date;
    a currency missing from ``rates`` converts to NULL, never at 1);
    provisions on the aligned category, the share covered by registered collateral
    (``risk.collateral_covered_share``) at the preferred-guarantee rate, the rest at the normal one;
    and the early warnings of ``risk.early_warnings`` for loans repaid through a buyer, from one pass
    over the window's settlements (delivery days, their gaps, volumes). A refinanced loan's category is
    never better than its floor on the day (``floors``, from ``refinance_floors``; DOMAIN.md §7), and
    the alignment sees it so.
    """
    day = _day("day")
    unpaid = _unpaid_scheduled("sl")
    gap = days_between("settled_on", "LAG(settled_on) OVER (PARTITION BY miner_id ORDER BY settled_on)")
    since_last = days_between(day, "sg.last_on")
    no_delivery_limit = _greatest(
        str(risk.NO_DELIVERY_MIN_DAYS), f"{risk.NO_DELIVERY_INTERVALS} * COALESCE(sg.median, 0)"
    )
    threshold = _greatest(str(risk.ALIGNMENT_MIN_AMOUNT), f"total * {risk.ALIGNMENT_MIN_SHARE}")
    period_start = _minus_days("p.due_on", "p.days")
    in_soles = f"outstanding * {soles_case_sql('currency', rates or {})}"
    return f"""
    WITH loan_rows AS ({_loan_rows_sql(day, unpaid)}
    ), pledged AS ({_pledged_sql(day, rates or {})}
    ), rated AS (
        SELECT loan_rows.*, COALESCE({days_between(day, "oldest_unpaid")}, 0) AS dpd FROM loan_rows
    ), floors AS ({_floors_sql(floors)}
    ), graded AS (
        SELECT rated.*, {_greatest(_severity_case("dpd"), "COALESCE(f.severity, 0)")} AS severity
        FROM rated LEFT JOIN floors f ON f.loan_id = rated.loan_id
    ), by_severity AS (
        SELECT miner_id, severity, SUM({in_soles}) AS balance FROM graded GROUP BY miner_id, severity
    ), cumulative AS (
        SELECT miner_id, severity,
               SUM(balance) OVER (PARTITION BY miner_id ORDER BY severity DESC) AS at_or_worse,
               SUM(balance) OVER (PARTITION BY miner_id) AS total
        FROM by_severity
    ), aligned AS (
        SELECT miner_id,
               COALESCE(MAX(CASE WHEN at_or_worse >= {threshold} THEN severity END), MIN(severity)) AS severity
        FROM cumulative GROUP BY miner_id
    ), deliveries AS (
        -- One pass over the window's settlements: delivery days (several lots a day are one
        -- delivery), the gap since the previous one, and the tonnage.
        SELECT miner_id, settled_on, SUM(dry_tonnes) AS tonnes, {gap} AS gap
        FROM buyers_settlement
        WHERE status = 'posted' AND settled_on > %(window_start)s AND settled_on <= {day}
          AND miner_id BETWEEN %(low)s AND %(high)s
          AND miner_id IN (SELECT miner_id FROM loan_rows WHERE buyer_id IS NOT NULL)
        GROUP BY miner_id, settled_on
    ), {_signals_sql()}, periods AS ({_periods_sql(day)}
    ), recent AS ({_recent_sql(period_start)}
    ), short AS (
        SELECT loan_id, AVG(withheld) AS withheld, AVG(total) AS due FROM recent GROUP BY loan_id
    )
    SELECT g.loan_id, g.dpd, g.severity, a.severity AS aligned_severity, g.outstanding,
           CASE WHEN g.outstanding > 0 AND pl.value > 0
                THEN ROUND({_least("1", "pl.value / g.outstanding")}, 4) ELSE 0 END AS covered_share,
           '[' || RTRIM(
               CASE WHEN g.buyer_id IS NULL THEN '' ELSE
                   COALESCE(CASE WHEN sg.last_on IS NULL OR {since_last} > {no_delivery_limit}
                                 THEN '"{risk.NO_DELIVERIES}",' END, '')
                   || COALESCE(CASE WHEN sg.prior_90 > 0 AND sg.last_90 < sg.prior_90 * {risk.VOLUME_DROP_RATIO}
                                    THEN '"{risk.VOLUME_DROP}",' END, '')
                   || COALESCE(CASE WHEN s.due > 0 AND s.withheld < s.due
                                    THEN '"{risk.WITHHOLDING_SHORT}",' END, '')
               END
               || COALESCE(CASE WHEN pl.policy_expired = 1 THEN '"{risk.COLLATERAL_POLICY_EXPIRED}",' END, ''),
           ',') || ']' AS warnings
    FROM graded g
    JOIN aligned a ON a.miner_id = g.miner_id
    LEFT JOIN signals sg ON sg.miner_id = g.miner_id
    LEFT JOIN short s ON s.loan_id = g.loan_id
    LEFT JOIN pledged pl ON pl.loan_id = g.loan_id
    """  # noqa: S608 - only fragments of our own; values are parameters


def _currencies(sql: str, as_of: dt.date) -> set[str]:
    return {currency for (currency,) in _fetchall(sql, {"day": _date_param(as_of)})}


def book_fx_rates(*, as_of: dt.date) -> dict[str, FxRate]:
    """The exchange rate of ``as_of`` for every foreign currency the book to rate holds (DOMAIN.md §4).

    A book in soles only needs no rate; a foreign-currency loan without a rate on or before ``as_of``
    raises ``rates.fx.MissingExchangeRate`` before anything is written, so the run fails and says
    which rate to load instead of aligning dollars with soles at 1."""
    day = _day("day")
    currencies = _currencies(
        f"SELECT DISTINCT currency FROM loans_loan WHERE status = 'active' AND disbursed_on <= {day}",  # noqa: S608
        as_of,
    )
    # Registered collateral in another currency than its loan's is valued at the rates of the day too.
    currencies |= _currencies(
        f"""SELECT DISTINCT c.currency FROM loans_collateral c JOIN loans_loan l ON l.id = c.loan_id
            WHERE l.status = 'active' AND l.disbursed_on <= {day} AND c.registry_entry <> ''
              AND c.registered_on <= {day} AND (c.released_on IS NULL OR c.released_on > {day})""",  # noqa: S608
        as_of,
    )
    return fx_rates(currencies=currencies, on=as_of)


def rate_batch(*, as_of: dt.date, low: int, high: int, rates: Mapping[str, FxRate] | None = None) -> int:
    """Upsert the LoanRating rows of the miners with ids in [low, high] for ``as_of``. Balances and
    provisions stay in each loan's currency; only the alignment reads them in soles at ``rates``
    (default: ``book_fx_rates``)."""
    if rates is None:
        rates = book_fx_rates(as_of=as_of)
    day = _day("day")
    no_guarantee = _rate_case("r.aligned_severity", preferred=False)
    preferred = _rate_case("r.aligned_severity", preferred=True)
    columns = [
        "days_past_due",
        "category",
        "aligned_category",
        "outstanding_principal",
        "covered_share",
        "provision_rate",
        "provision",
    ]
    changed = " OR ".join(f"installments_loanrating.{c} <> excluded.{c}" for c in columns)
    changed += " OR " + _distinct("installments_loanrating.warnings", "excluded.warnings")
    params = _rating_params(as_of, low, high)
    floors = refinance_floors(as_of=as_of, low=low, high=high)
    if is_postgres():
        # Sorting a batch's half-year of deliveries fits in memory with this, instead of spilling.
        _execute(f"SET LOCAL work_mem = '{RATING_WORK_MEM}'", {})
        _execute(NO_JIT, {})
    touched = _execute(
        f"""
        INSERT INTO installments_loanrating
            (loan_id, as_of, days_past_due, category, aligned_category, outstanding_principal,
             covered_share, provision_rate, provision, warnings)
        SELECT r.loan_id, {day}, r.dpd, {_category_case("r.severity")}, {_category_case("r.aligned_severity")},
               r.outstanding, r.covered_share,
               ROUND(((1 - r.covered_share) * {no_guarantee} + r.covered_share * {preferred}) * 100, 4),
               ROUND(r.outstanding * (1 - r.covered_share) * {no_guarantee}
                     + r.outstanding * r.covered_share * {preferred}, 2),
               {_json("r.warnings")}
        FROM ({rating_select_sql(rates, floors)}) r
        WHERE 1 = 1
        ON CONFLICT (loan_id, as_of) DO UPDATE SET
            {", ".join(f"{c} = excluded.{c}" for c in [*columns, "warnings"])}
        WHERE {changed}
        """,  # noqa: S608
        params,
    )
    touched += _floors_write(as_of=as_of, floors=floors)
    # The loan carries its latest rating's category (underwriting reads it there); an older date never
    # overwrites a newer one.
    _execute(
        f"""
        UPDATE loans_loan SET rated_category = r.aligned_category, rated_on = r.as_of
        FROM installments_loanrating r
        WHERE r.loan_id = loans_loan.id AND r.as_of = {day}
          AND loans_loan.miner_id BETWEEN %(low)s AND %(high)s
          AND (loans_loan.rated_on IS NULL OR loans_loan.rated_on <= r.as_of)
          AND ({_distinct("loans_loan.rated_on", "r.as_of")} OR loans_loan.rated_category <> r.aligned_category)
        """,  # noqa: S608
        params,
    )
    # A loan rated earlier for this date that is no longer active (paid off since) drops out.
    touched += _execute(
        f"""
        DELETE FROM installments_loanrating
        WHERE as_of = {day} AND loan_id IN (
            SELECT id FROM loans_loan
            WHERE miner_id BETWEEN %(low)s AND %(high)s AND NOT (status = 'active' AND disbursed_on <= {day}))
        """,  # noqa: S608
        params,
    )
    return touched


def _rating_params(as_of: dt.date, low: int, high: int) -> dict[str, Any]:
    return {
        "day": _date_param(as_of),
        "low": low,
        "high": high,
        "window_start": _date_param(as_of - dt.timedelta(days=WINDOW_DAYS)),
        "volume_split": _date_param(as_of - dt.timedelta(days=VOLUME_DAYS)),
    }


def miner_ranges(*, as_of: dt.date, batch_size: int) -> list[tuple[int, int]]:
    """Miner-id ranges holding about ``batch_size`` borrowers each; a miner is never split, because
    alignment needs all of a miner's loans in one batch."""
    day = _day("day")
    count = _fetchall(
        f"SELECT COUNT(DISTINCT miner_id) FROM loans_loan WHERE status = 'active' AND disbursed_on <= {day}",  # noqa: S608
        {"day": _date_param(as_of)},
    )[0][0]
    if not count:
        return []
    tiles = max(1, -(-count // batch_size))
    rows = _fetchall(
        f"""
        SELECT MIN(miner_id), MAX(miner_id) FROM (
            SELECT miner_id, NTILE({tiles}) OVER (ORDER BY miner_id) AS tile FROM (
                SELECT DISTINCT miner_id FROM loans_loan WHERE status = 'active' AND disbursed_on <= {day}
            ) borrowers
        ) tiled GROUP BY tile ORDER BY 1
        """,  # noqa: S608
        {"day": _date_param(as_of)},
    )
    return [(low, high) for low, high in rows]


def portfolio_totals(*, as_of: dt.date, rates: Mapping[str, FxRate] | None = None) -> bool:
    """Store PortfolioRating for ``as_of`` from that date's loan ratings; True when it changed.

    Every total is in soles: each loan's balance and provision (kept in its own currency) times the
    exchange rate of ``as_of`` (``rates``; default: the rates of the rated loans' currencies), summed
    unrounded and rounded once."""
    day = _day("day")
    params = {"day": _date_param(as_of)}
    if rates is None:
        rated = _currencies(
            f"""SELECT DISTINCT l.currency FROM installments_loanrating r JOIN loans_loan l ON l.id = r.loan_id
                WHERE r.as_of = {day}""",  # noqa: S608
            as_of,
        )
        rates = fx_rates(currencies=rated, on=as_of)
    fx = soles_case_sql("l.currency", rates)
    balance_sql, provision_sql = f"r.outstanding_principal * {fx}", f"r.provision * {fx}"
    rated_loans = f"installments_loanrating r JOIN loans_loan l ON l.id = r.loan_id WHERE r.as_of = {day}"
    (count, total, par1, par30, par90, generic, specific) = _fetchall(
        f"""
        SELECT COUNT(*), COALESCE(SUM({balance_sql}), 0),
               COALESCE(SUM(CASE WHEN r.days_past_due > 1 THEN {balance_sql} ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN r.days_past_due > 30 THEN {balance_sql} ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN r.days_past_due > 90 THEN {balance_sql} ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN r.aligned_category = 'normal' THEN {provision_sql} ELSE 0 END), 0),
               COALESCE(SUM(CASE WHEN r.aligned_category <> 'normal' THEN {provision_sql} ELSE 0 END), 0)
        FROM {rated_loans}
        """,  # noqa: S608
        params,
    )[0]
    by_category: dict[str, dict[str, Any]] = {}
    for category, loans, balance, provision in _fetchall(
        f"""
        SELECT r.aligned_category, COUNT(*), SUM({balance_sql}), SUM({provision_sql})
        FROM {rated_loans} GROUP BY r.aligned_category ORDER BY 1
        """,  # noqa: S608
        params,
    ):
        by_category[category] = {
            "loans": loans,
            "outstanding": str(round_half_up(Decimal(str(balance)), 2)),
            "provision": str(round_half_up(Decimal(str(provision)), 2)),
        }
    total = round_half_up(Decimal(str(total)), 2)

    def share(amount: Any) -> Decimal:
        return round_half_up(Decimal(str(amount)) / total, 4) if total else Decimal("0.0000")

    values = {
        "active_loans": count,
        "outstanding_principal": total,
        "par1": share(par1),
        "par30": share(par30),
        "par90": share(par90),
        "generic_provision": round_half_up(Decimal(str(generic)), 2),
        "specific_provision": round_half_up(Decimal(str(specific)), 2),
        "by_category": by_category,
    }
    rating, created = PortfolioRating.objects.get_or_create(as_of=as_of, defaults=values)
    if created:
        return True
    if all(getattr(rating, name) == value for name, value in values.items()):
        return False
    for name, value in values.items():
        setattr(rating, name, value)
    rating.save()
    return True


def rating_wrap_up(*, as_of: dt.date, rates: Mapping[str, FxRate]) -> tuple[int, bool]:
    """After every miner batch: drop the day's ratings of loans no longer active (miners who stopped
    borrowing fall outside every range) and store the portfolio totals. Returns (rows dropped, whether
    the totals changed)."""
    with transaction.atomic():
        stale = _execute(
            f"""
            DELETE FROM installments_loanrating WHERE as_of = {_day("day")} AND loan_id IN (
                SELECT id FROM loans_loan WHERE NOT (status = 'active' AND disbursed_on <= {_day("day")}))
            """,  # noqa: S608
            {"day": _date_param(as_of)},
        )
        return stale, portfolio_totals(as_of=as_of, rates=rates)


def run_rating(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000, pause_seconds: float = 0) -> JobRun:
    """Rate the portfolio as of ``as_of`` in miner batches; ``pause_seconds`` between batches lets a
    daytime re-run yield to the API."""
    with job_run(RATING_JOB, as_of=as_of, task_id=task_id) as run:
        # Once per run: a foreign-currency loan without a rate fails the run here, before any write.
        rates = book_fx_rates(as_of=as_of)
        ranges = miner_ranges(as_of=as_of, batch_size=batch_size)
        for done, (low, high) in enumerate(ranges, start=1):
            with transaction.atomic():
                rows = rate_batch(as_of=as_of, low=low, high=high, rates=rates)
            _progress(run, done, len(ranges), rows)
            if pause_seconds:
                time.sleep(pause_seconds)
        stale, changed = rating_wrap_up(as_of=as_of, rates=rates)
        run.rows_touched += stale + int(changed)
        run.detail = {
            "batches": len(ranges),
            "portfolio_changed": changed,
            # The rate each foreign currency was stated in soles at, its date, and whether it is stale.
            "fx_rates": {currency: rate.as_dict() for currency, rate in sorted(rates.items())},
            "fx_stale": [rate.currency for rate in stale_rates(rates)],
        }
    return run


def run_nightly(*, as_of: dt.date, task_id: str = "") -> JobRun:
    with job_run(NIGHTLY_JOB, as_of=as_of, task_id=task_id) as run:
        accrual = run_accrual(as_of=as_of, task_id=task_id)
        rating = run_rating(as_of=as_of, task_id=task_id)
        run.rows_touched = accrual.rows_touched + rating.rows_touched
        run.detail = {
            "accrual_run": accrual.pk,
            "rating_run": rating.pk,
            "fx_rates": rating.detail.get("fx_rates", {}),
            "fx_stale": rating.detail.get("fx_stale", []),
        }
    return run


# --- Remittance reconciliation ------------------------------------------------------------------------

_MATCH_TABLE = "asm_reconciliation_match"

# Reconciliation as of a date (DOMAIN.md §5). Every date an exception carries is derived from the data,
# never from the clock, so loading last year's remittances today leaves the same exceptions as
# reconciling each day as it came:
# - a match of remittance r to withholding w happened on ``GREATEST(r.paid_on, w.withheld_on)`` (the
#   day both existed; the FIFO below only ever pairs them as of a date on or after both);
# - "unremitted past the agreed days" exists for w iff, as of the day after its deadline (w.withheld_on
#   + remittance_days + 1, counting money dated that day), what was matched to it falls short of its
#   amount; it is detected that day, and closed on the day of the match that completes it
#   (``resolved_at`` = that day's start in TIME_ZONE);
# - "over remittance" is detected on the remittance's own date and closed on the day later
#   withholdings absorb the rest;
# - a closed exception keeps the amount still open at the end of the day before it closed, which is
#   what a daily run would have left on it.
# An overdue exception that later-loaded remittances show never existed (the withholding was remitted
# by its deadline, money loaded after an earlier run flagged it) is withdrawn: deleted, unless a person
# already resolved it. Matching is FIFO per buyer and currency in date order, so it gives the same
# pairs whether the data comes in one go or day by day, as long as each side arrives in date order.


def _match_table() -> None:
    _execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {_MATCH_TABLE} "
        "(remittance_id BIGINT NOT NULL, withholding_id BIGINT NOT NULL, amount NUMERIC(14, 2) NOT NULL)",
        {},
    )
    _execute(f"DELETE FROM {_MATCH_TABLE}", {})  # noqa: S608


def _plus_days(day: str, days: str) -> str:
    if is_postgres():
        return f"({day} + {days})"
    return f"date({day}, '+' || ({days}) || ' days')"


def _day_start(day: str) -> str:
    """The first instant of the date ``day`` in TIME_ZONE (parameters from ``_zone_params``)."""
    if is_postgres():
        return f"(CAST({day} AS timestamp) AT TIME ZONE %(zone)s)"
    # SQLite stores datetimes as naive UTC text; the zone's offset on the job's date shifts midnight.
    return f"datetime({day}, %(zone_shift)s)"


def _zone_params(as_of: dt.date) -> dict[str, Any]:
    zone = timezone.get_default_timezone()
    offset = dt.datetime.combine(as_of, dt.time.min, tzinfo=zone).utcoffset() or dt.timedelta()
    return {"zone": str(zone), "zone_shift": f"{-int(offset.total_seconds() // 60):+d} minutes"}


def _match_day(remittance: str, withholding: str) -> str:
    """The day a match of these two rows happened: the later of the remittance's and the withholding's."""
    return _greatest(f"{remittance}.paid_on", f"{withholding}.withheld_on")


def _late_match(withholding: str, buyer: str) -> str:
    """Some money reached the withholding after the day its exception is detected (withheld on + the
    agreed days + 1): money dated that day still counts for that day, so it was never unremitted at
    the end of a day past the agreed days."""
    return f"""EXISTS (
        SELECT 1 FROM installments_remittancematch lm
        JOIN installments_remittance lr ON lr.id = lm.remittance_id
        WHERE lm.withholding_id = {withholding}.id
          AND {days_between("lr.paid_on", f"{withholding}.withheld_on")} > {buyer}.remittance_days + 1)"""  # noqa: S608


def _withholding_closed_on(withholding: str) -> str:
    """The day a fully remitted withholding was completed: its last match's day."""
    return f"""(SELECT MAX({_match_day("cr", withholding)}) FROM installments_remittancematch cm
        JOIN installments_remittance cr ON cr.id = cm.remittance_id WHERE cm.withholding_id = {withholding}.id)"""  # noqa: S608


def _withholding_open_before(withholding: str, day: str) -> str:
    """What was still unremitted on the withholding at the end of the day before ``day``."""
    return f"""ROUND({withholding}.amount - COALESCE((
        SELECT SUM(bm.amount) FROM installments_remittancematch bm
        JOIN installments_remittance br ON br.id = bm.remittance_id
        WHERE bm.withholding_id = {withholding}.id AND {_match_day("br", withholding)} < {day}), 0), 2)"""  # noqa: S608


OVERDUE_DETAIL = "'Withheld on ' || w.withheld_on || ' and still unremitted past the agreed days.'"


def record_late_remittances(*, withholding_ids: list[int] | None = None, as_of: dt.date) -> int:
    """Raise "unremitted past the agreed days" for withholdings just matched after their deadline that
    have none yet (``withholding_ids``, or those in the match table of ``match_remittances``): the
    exception existed from the day after the deadline until the match, so it is recorded detected then,
    and closed as of the match's day if that match completed the withholding. Run inside the caller's
    transaction, after the matches are written."""
    if withholding_ids is not None and not withholding_ids:
        return 0
    if withholding_ids is None:
        candidates = f"SELECT withholding_id FROM {_MATCH_TABLE}"  # noqa: S608
        params: dict[str, Any] = {}
    else:
        candidates = ", ".join(f"%(w{i})s" for i in range(len(withholding_ids)))
        params = {f"w{i}": pk for i, pk in enumerate(withholding_ids)}
    params.update(_zone_params(as_of), now=_now_param())
    remitted = "w.status = 'remitted'"
    return _execute(
        f"""
        INSERT INTO installments_reconciliationexception
            (created, updated, buyer_id, kind, remittance_id, withholding_id, amount, detail, detected_on,
             status, resolved_by_id, resolved_at, resolution_note)
        SELECT %(now)s, %(now)s, w.buyer_id, 'overdue_unremitted', NULL, w.id,
               CASE WHEN {remitted} THEN {_withholding_open_before("w", "w.closed_on")}
                    ELSE w.amount - w.remitted_amount END,
               {OVERDUE_DETAIL}, {_plus_days("w.withheld_on", "w.remittance_days + 1")},
               CASE WHEN {remitted} THEN 'resolved' ELSE 'open' END, NULL,
               CASE WHEN {remitted} THEN {_day_start("w.closed_on")} ELSE NULL END,
               CASE WHEN {remitted} THEN 'Remitted in full on ' || w.closed_on
                                         || ' (after the agreed days); closed by the reconciliation job.'
                    ELSE '' END
        FROM (
            SELECT w.id, w.buyer_id, w.withheld_on, w.amount, w.remitted_amount, w.status, b.remittance_days,
                   {_withholding_closed_on("w")} AS closed_on
            FROM installments_withholding w JOIN buyers_buyer b ON b.id = w.buyer_id
            WHERE w.id IN ({candidates}) AND w.status IN ('partial', 'remitted') AND {_late_match("w", "b")}
              AND NOT EXISTS (
                  SELECT 1 FROM installments_reconciliationexception e
                  WHERE e.kind = 'overdue_unremitted' AND e.withholding_id = w.id)
        ) w
        """,  # noqa: S608
        params,
    )


def match_remittances(*, as_of: dt.date, buyer_range: tuple[int, int], remittance_id: int | None = None) -> int:
    """Apply unmatched remittance money to open withholdings, oldest first, per buyer and currency.

    FIFO in one statement: lay the remittances' unmatched amounts end to end on a line (running sums
    in paid-on order) and the open withholdings' amounts on another (in withheld-on order); each
    overlap of two intervals is the amount one remittance pays on one withholding. Only remittances and
    withholdings dated up to ``as_of`` take part. Remittances that listed their settlements were matched
    to those when recorded and are left out. A remittance matched in full is ``reconciled_at`` the start
    of the day its last match happened. Run inside the caller's transaction, after locking the buyers.
    """
    day = _day("day")
    only_one = "AND r.id = %(remittance_id)s" if remittance_id is not None else ""
    params = {
        "day": _date_param(as_of),
        "low": buyer_range[0],
        "high": buyer_range[1],
        "remittance_id": remittance_id,
    }
    _match_table()
    matched = _execute(
        f"""
        INSERT INTO {_MATCH_TABLE} (remittance_id, withholding_id, amount)
        WITH r AS (
            SELECT r.id, r.buyer_id, r.currency, r.unmatched_amount AS amount,
                   SUM(r.unmatched_amount) OVER (PARTITION BY r.buyer_id, r.currency
                                                 ORDER BY r.paid_on, r.id ROWS UNBOUNDED PRECEDING)
                   - r.unmatched_amount AS start_at
            FROM installments_remittance r
            WHERE r.unmatched_amount > 0 AND r.paid_on <= {day} AND r.buyer_id BETWEEN %(low)s AND %(high)s
              {only_one}
              AND NOT EXISTS (SELECT 1 FROM installments_remittance_settlements rs WHERE rs.remittance_id = r.id)
        ), w AS (
            SELECT w.id, w.buyer_id, w.currency, w.amount - w.remitted_amount AS amount,
                   SUM(w.amount - w.remitted_amount) OVER (PARTITION BY w.buyer_id, w.currency
                                                           ORDER BY w.withheld_on, w.id ROWS UNBOUNDED PRECEDING)
                   - (w.amount - w.remitted_amount) AS start_at
            FROM installments_withholding w
            WHERE w.status IN ('unremitted', 'partial') AND w.withheld_on <= {day}
              AND w.buyer_id BETWEEN %(low)s AND %(high)s
        ), overlap AS (
            SELECT r.id AS remittance_id, w.id AS withholding_id,
                   ROUND({_least("r.start_at + r.amount", "w.start_at + w.amount")}
                         - {_greatest("r.start_at", "w.start_at")}, 2) AS amount
            FROM r JOIN w ON w.buyer_id = r.buyer_id AND w.currency = r.currency
             AND w.start_at < r.start_at + r.amount AND r.start_at < w.start_at + w.amount
        )
        SELECT remittance_id, withholding_id, amount FROM overlap WHERE amount > 0
        """,  # noqa: S608
        params,
    )
    if not matched:
        return 0
    now = {"now": _now_param(), **_zone_params(as_of)}
    _execute(
        f"""
        INSERT INTO installments_remittancematch (remittance_id, withholding_id, amount)
        SELECT remittance_id, withholding_id, amount FROM {_MATCH_TABLE} WHERE 1 = 1
        ON CONFLICT (remittance_id, withholding_id)
        DO UPDATE SET amount = installments_remittancematch.amount + excluded.amount
        """,  # noqa: S608
        {},
    )
    _execute(
        f"""
        UPDATE installments_withholding
        SET remitted_amount = ROUND(installments_withholding.remitted_amount + m.amount, 2),
            status = CASE WHEN ROUND(installments_withholding.remitted_amount + m.amount, 2)
                               >= installments_withholding.amount THEN 'remitted' ELSE 'partial' END,
            updated = %(now)s
        FROM (SELECT withholding_id, SUM(amount) AS amount FROM {_MATCH_TABLE} GROUP BY withholding_id) m
        WHERE installments_withholding.id = m.withholding_id
        """,  # noqa: S608
        now,
    )
    last_match = _greatest("installments_remittance.paid_on", _REMITTANCE_LAST_WITHHOLDING)
    _execute(
        f"""
        UPDATE installments_remittance
        SET unmatched_amount = ROUND(installments_remittance.unmatched_amount - m.amount, 2),
            reconciled_at = CASE WHEN ROUND(installments_remittance.unmatched_amount - m.amount, 2) <= 0
                                 THEN {_day_start(last_match)} ELSE installments_remittance.reconciled_at END,
            updated = %(now)s
        FROM (SELECT remittance_id, SUM(amount) AS amount FROM {_MATCH_TABLE} GROUP BY remittance_id) m
        WHERE installments_remittance.id = m.remittance_id
        """,  # noqa: S608
        now,
    )
    record_late_remittances(as_of=as_of)
    return matched


_REMITTANCE_LAST_WITHHOLDING = """(SELECT MAX(w2.withheld_on) FROM installments_remittancematch m2
    JOIN installments_withholding w2 ON w2.id = m2.withholding_id
    WHERE m2.remittance_id = installments_remittance.id)"""


def _least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if is_postgres() else f"MIN({a}, {b})"


def raise_exceptions(*, as_of: dt.date, buyer_range: tuple[int, int]) -> int:
    """Open, update, close and withdraw the buyers' reconciliation exceptions as of ``as_of``.

    Over remittance: unmatched money on a remittance dated up to ``as_of`` (its amount follows the
    unmatched amount; closed by itself, as of the day later withholdings absorbed it; not raised again
    after a person resolved it). Overdue: a withholding still unremitted more than the buyer's agreed
    days after the settlement, detected the day after the deadline (one per withholding, ever; closed as
    of the day it was remitted in full, or when reversed; withdrawn if it turns out it was remitted in
    time). Every date comes from the data (see the comment above ``_match_table``).
    """
    day = _day("day")
    params = {
        "day": _date_param(as_of),
        "low": buyer_range[0],
        "high": buyer_range[1],
        "now": _now_param(),
        **_zone_params(as_of),
    }
    in_range = "BETWEEN %(low)s AND %(high)s"
    touched = _execute(
        f"""
        INSERT INTO installments_reconciliationexception
            (created, updated, buyer_id, kind, remittance_id, withholding_id, amount, detail, detected_on,
             status, resolved_by_id, resolved_at, resolution_note)
        SELECT %(now)s, %(now)s, r.buyer_id, 'over', r.id, NULL, r.unmatched_amount,
               'The remittance exceeds the open withholdings it could be matched to.', {day}, 'open',
               NULL, NULL, ''
        FROM installments_remittance r
        WHERE r.buyer_id {in_range} AND r.unmatched_amount > 0 AND r.paid_on <= {day}
          AND NOT EXISTS (
              SELECT 1 FROM installments_reconciliationexception e
              WHERE e.remittance_id = r.id AND e.kind = 'over'
                AND (e.status = 'open' OR e.resolved_by_id IS NOT NULL))
        """,  # noqa: S608
        params,
    )
    touched += _execute(
        f"""
        UPDATE installments_reconciliationexception
        SET amount = r.unmatched_amount, updated = %(now)s
        FROM installments_remittance r
        WHERE installments_reconciliationexception.remittance_id = r.id
          AND installments_reconciliationexception.kind = 'over'
          AND installments_reconciliationexception.status = 'open'
          AND r.buyer_id {in_range} AND r.unmatched_amount > 0
          AND installments_reconciliationexception.amount <> r.unmatched_amount
        """,  # noqa: S608
        params,
    )
    absorbed_on = f"""(SELECT MAX({_match_day("r", "aw")}) FROM installments_remittancematch am
        JOIN installments_withholding aw ON aw.id = am.withholding_id WHERE am.remittance_id = r.id)"""  # noqa: S608
    touched += _execute(
        f"""
        UPDATE installments_reconciliationexception
        SET status = 'resolved', resolved_at = {_day_start("x.closed_on")}, updated = %(now)s, amount = x.amount,
            resolution_note = 'Matched to later withholdings by ' || x.closed_on
                              || '; closed by the reconciliation job.'
        FROM (
            SELECT e.id, r.closed_on,
                   ROUND(r.amount - COALESCE((
                       SELECT SUM(bm.amount) FROM installments_remittancematch bm
                       JOIN installments_withholding bw ON bw.id = bm.withholding_id
                       WHERE bm.remittance_id = r.id AND {_match_day("r", "bw")} < r.closed_on), 0), 2) AS amount
            FROM installments_reconciliationexception e
            JOIN (SELECT r.id, r.amount, r.paid_on, {absorbed_on} AS closed_on
                  FROM installments_remittance r
                  WHERE r.buyer_id {in_range} AND r.unmatched_amount <= 0
                    AND r.id IN (SELECT oe.remittance_id FROM installments_reconciliationexception oe
                                 WHERE oe.kind = 'over' AND oe.status = 'open' AND oe.buyer_id {in_range})
                  ) r ON r.id = e.remittance_id
            WHERE e.kind = 'over' AND e.status = 'open' AND r.closed_on IS NOT NULL
        ) x
        WHERE installments_reconciliationexception.id = x.id
        """,  # noqa: S608
        params,
    )
    # Withdrawn: flagged by a run before the remittance that paid it in time was loaded.
    touched += _execute(
        f"""
        DELETE FROM installments_reconciliationexception
        WHERE id IN (
            SELECT e.id FROM installments_reconciliationexception e
            JOIN installments_withholding w ON w.id = e.withholding_id
            JOIN buyers_buyer b ON b.id = w.buyer_id
            WHERE e.buyer_id {in_range} AND e.kind = 'overdue_unremitted' AND e.status = 'open'
              AND e.resolved_by_id IS NULL AND w.status = 'remitted' AND NOT {_late_match("w", "b")})
        """,  # noqa: S608
        params,
    )
    touched += _execute(
        f"""
        INSERT INTO installments_reconciliationexception
            (created, updated, buyer_id, kind, remittance_id, withholding_id, amount, detail, detected_on,
             status, resolved_by_id, resolved_at, resolution_note)
        SELECT %(now)s, %(now)s, w.buyer_id, 'overdue_unremitted', NULL, w.id, w.amount - w.remitted_amount,
               {OVERDUE_DETAIL}, {_plus_days("w.withheld_on", "b.remittance_days + 1")},
               'open', NULL, NULL, ''
        FROM installments_withholding w JOIN buyers_buyer b ON b.id = w.buyer_id
        WHERE w.buyer_id {in_range} AND w.status IN ('unremitted', 'partial')
          AND {days_between(day, "w.withheld_on")} > b.remittance_days
          AND NOT EXISTS (
              SELECT 1 FROM installments_reconciliationexception e
              WHERE e.kind = 'overdue_unremitted' AND e.withholding_id = w.id)
        """,  # noqa: S608
        params,
    )
    touched += _execute(
        f"""
        UPDATE installments_reconciliationexception
        SET amount = w.amount - w.remitted_amount, updated = %(now)s
        FROM installments_withholding w
        WHERE installments_reconciliationexception.withholding_id = w.id
          AND installments_reconciliationexception.kind = 'overdue_unremitted'
          AND installments_reconciliationexception.status = 'open'
          AND w.buyer_id {in_range} AND w.status = 'partial'
          AND installments_reconciliationexception.amount <> w.amount - w.remitted_amount
        """,  # noqa: S608
        params,
    )
    touched += _execute(
        f"""
        UPDATE installments_reconciliationexception
        SET status = 'resolved', resolved_at = x.resolved_at, amount = x.amount, updated = %(now)s,
            resolution_note = x.note
        FROM (
            SELECT e.id,
                   CASE WHEN w.status = 'reversed' THEN COALESCE(s.voided_at, %(now)s)
                        ELSE {_day_start("w.closed_on")} END AS resolved_at,
                   CASE WHEN w.status = 'reversed' THEN e.amount
                        ELSE {_withholding_open_before("w", "w.closed_on")} END AS amount,
                   CASE WHEN w.status = 'reversed' THEN 'Settlement voided; closed by the reconciliation job.'
                        ELSE 'Remitted in full on ' || w.closed_on || '; closed by the reconciliation job.'
                        END AS note
            FROM installments_reconciliationexception e
            JOIN (SELECT w.id, w.amount, w.withheld_on, w.status, w.settlement_id,
                         {_withholding_closed_on("w")} AS closed_on
                  FROM installments_withholding w
                  WHERE w.buyer_id {in_range} AND w.status IN ('remitted', 'reversed')
                    AND w.id IN (SELECT oe.withholding_id FROM installments_reconciliationexception oe
                                 WHERE oe.kind = 'overdue_unremitted' AND oe.status = 'open'
                                   AND oe.buyer_id {in_range})) w ON w.id = e.withholding_id
            JOIN buyers_settlement s ON s.id = w.settlement_id
            WHERE e.kind = 'overdue_unremitted' AND e.status = 'open'
              AND (w.status = 'reversed' OR w.closed_on IS NOT NULL)
        ) x
        WHERE installments_reconciliationexception.id = x.id
        """,  # noqa: S608
        params,
    )
    return touched


def reconcile_batch(*, as_of: dt.date, low: int, high: int) -> int:
    if is_postgres():
        _execute(
            "SELECT id FROM buyers_buyer WHERE id BETWEEN %(low)s AND %(high)s ORDER BY id FOR UPDATE",
            {"low": low, "high": high},
        )
    matched = match_remittances(as_of=as_of, buyer_range=(low, high))
    return matched + raise_exceptions(as_of=as_of, buyer_range=(low, high))


def run_reconciliation(
    *, as_of: dt.date, buyer_ids: list[int] | None = None, task_id: str = "", batch_size: int = 200
) -> JobRun:
    """Reconcile as of ``as_of`` (the job's date, never the clock): remittances and withholdings dated up
    to that day are matched, and the exceptions that hold as of that day are raised, closed or
    withdrawn with the dates the data gives them (see the comment above ``_match_table``)."""
    with job_run(RECONCILIATION_JOB, as_of=as_of, task_id=task_id) as run:
        if buyer_ids:
            ranges = [(pk, pk) for pk in sorted(set(buyer_ids))]
        else:
            ranges = _id_ranges("buyers_buyer", "1 = 1", {}, batch_size)
        for done, (low, high) in enumerate(ranges, start=1):
            with transaction.atomic():
                rows = reconcile_batch(as_of=as_of, low=low, high=high)
            _progress(run, done, len(ranges), rows)
        run.detail = {"batches": len(ranges), "buyers": buyer_ids or "all"}
    return run
