# ruff: noqa: E501 - the SQL reads better unwrapped
"""National-scale benchmark of the nightly rating and a day's remittance reconciliation.

    .venv/bin/python bench/portfolio.py --loans 150000            # full size (DOMAIN.md §7)
    .venv/bin/python bench/portfolio.py --loans 5000 --weeks 8    # a quick run

Builds a separate PostgreSQL database (``asm_bench`` by default, dropped and recreated) with the
project's migrations, fills it server-side with ``INSERT … SELECT generate_series`` (no rows travel
through Python), then times:

- the nightly moratory accrual (``installments.services.moratory_accrue``);
- the rating (``portfolio_rate``), and its idempotent rerun;
- the same rating work as one plain SQL statement with no batching, upsert or bookkeeping — the lower
  bound the job is compared with;
- a day's reconciliation (``reconcile_remittances``) of ``--withholdings`` withholdings against one
  remittance per buyer (some short, some over), and its plain-SQL lower bound (the FIFO match alone).

Data shape: ``--miners`` miners (default 2 × loans), ``--buyers`` buyers; one active loan for each of
the first ``--loans`` miners, 12–36 monthly installments, disbursed up to 11 months ago; 85% of loans
current, 15% behind by 1–5 installments; a third pledged as collateral (two in three of those
registered); every miner delivers weekly for ``--weeks`` weeks (52 = a year,
~15.6 million settlements for 300,000 miners); the last three periods of each loan withheld; the
servicing log the journal posts from: each loan's disbursement, each paid installment paid by its
withholding or a counter payment, allocated to its principal and interest.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=150_000)
    parser.add_argument("--miners", type=int, default=None, help="default: 2 × loans")
    parser.add_argument("--buyers", type=int, default=1_000)
    parser.add_argument("--weeks", type=int, default=52, help="weeks of settlement history")
    parser.add_argument("--withholdings", type=int, default=60_000, help="withholdings in the reconciled day")
    parser.add_argument("--database", default="asm_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--reuse", action="store_true", help="skip the build, time an existing database")
    return parser.parse_args()


class Timer:
    def __init__(self) -> None:
        self.results: list[tuple[str, float]] = []

    def __call__(self, label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
        start = time.perf_counter()
        value = fn(*args, **kwargs)
        elapsed = time.perf_counter() - start
        self.results.append((label, elapsed))
        print(f"  {label:<58} {elapsed:8.2f} s", flush=True)
        return value


def recreate_database(server: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def sql(statement: str, params: dict | None = None) -> int:  # type: ignore[type-arg]
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(statement, params or {})
        return cur.rowcount


def build(args: argparse.Namespace, as_of: dt.date, timer: Timer) -> None:
    from django.contrib.auth.models import User
    from django.core.management import call_command

    from loans.models import LoanProduct
    from rates.models import ExchangeRate

    timer("migrate", call_command, "migrate", verbosity=0)
    officer = User.objects.create_user("bench.officer")
    # The rating states foreign-currency balances in soles at the rate of its date (DOMAIN.md §4).
    ExchangeRate.objects.create(
        currency="USD", rate_on=as_of - dt.timedelta(days=1), soles_per_unit=Decimal("3.7500"), source="bench"
    )
    product = LoanProduct.objects.create(
        code="bench",
        name="Bench",
        purpose="mercury_free_equipment",
        currency="PEN",
        tea_pct=40,
        max_tea_pct=60,
        moratory_tea_pct=15,
        min_amount=1000,
        max_amount=500000,
        min_term=1,
        max_term=36,
        requires_reinfo=False,
        guarantee_fund_coverage_pct=80,
    )
    p = {
        "loans": args.loans,
        "miners": args.miners,
        "buyers": args.buyers,
        "weeks": args.weeks,
        "as_of": as_of,
        "officer": officer.pk,
        "product": product.pk,
        "day_n": args.withholdings,
    }
    sql("SET synchronous_commit = off")
    # A throwaway database filled consistently by construction: skip the per-row FK triggers, and build
    # the big tables' secondary indexes once after the load instead of row by row.
    sql("SET session_replication_role = replica")
    sql("SET maintenance_work_mem = '512MB'")
    dropped = drop_indexes("buyers_settlement") + drop_indexes("installments_scheduleline")
    timer(
        f"buyers ({args.buyers:,})",
        sql,
        """
        INSERT INTO buyers_buyer (created, updated, ruc, name, region, kind, remittance_days, contact_email, is_active)
        SELECT now(), now(), '20' || lpad(i::text, 9, '0'), 'Buyer ' || i, '04', 'mining_company', 7, '', true
        FROM generate_series(1, %(buyers)s) i""",
        p,
    )
    timer(
        f"miners ({args.miners:,})",
        sql,
        """
        INSERT INTO miners_miner (created, updated, first_names, last_names, document_type, document_number, ruc, gender,
               phone, ubigeo, role, reinfo_code, reinfo_status, formalization_stage, accepts_messages)
        SELECT now(), now(),
               (ARRAY['Juan','María','José','Rosa','Víctor','Ángela','Efraín','Inés','Raúl','Sofía','Néstor','Lucía','Óscar','Julián','Nélida'])[1 + i %% 15],
               (ARRAY['Huamán','Quispe','Mamani','Condori','Chávez','Flores','Ccama','Gutiérrez','Ramírez','Cárdenas','Yupanqui','Ñahui','Pérez','Rodríguez','Apaza','Sánchez','Ticona'])[1 + i %% 17]
               || ' ' ||
               (ARRAY['Huamán','Quispe','Mamani','Condori','Chávez','Flores','Ccama','Gutiérrez','Ramírez','Cárdenas','Yupanqui','Ñahui','Pérez','Rodríguez','Apaza','Sánchez','Ticona','Limachi','Vilca'])[1 + (i / 17) %% 19],
               'DNI', lpad(i::text, 8, '0'), '', CASE WHEN i %% 4 = 0 THEN 'F' ELSE 'M' END,
               '', '040112', 'owner_operator', '', '', 'informal', i %% 3 = 0
        FROM generate_series(1, %(miners)s) i""",
        p,
    )
    # Loan i: miner i, buyer (i % buyers) + 1, term 12–36, disbursed 1–11 months before as_of.
    timer(
        f"applications + loans ({args.loans:,})",
        sql,
        """
        CREATE TEMP TABLE bench_loan AS
        SELECT i, i AS miner_id, (i %% %(buyers)s) + 1 AS buyer_id, 12 + (i * 7) %% 25 AS term,
               (10000 + (i * 37) %% 40000)::numeric(14, 2) AS principal,
               (%(as_of)s::date - ((1 + i %% 11) * 30 + 5)) AS disbursed_on
        FROM generate_series(1, %(loans)s) i;
        INSERT INTO loans_loanapplication (id, created, updated, miner_id, product_id, withholding_buyer_id, amount, term,
               tea_pct, disbursement_date, first_due_on, grace_periods, purpose_note, status, prepared_by_id, decision_comment,
               underwriting, approved_as_exception, exception_justification, is_refinancing)
        SELECT i, now(), now(), miner_id, %(product)s, buyer_id, principal, term, 40, disbursed_on, disbursed_on + 30, 0, '',
               'disbursed', %(officer)s, '', '{}', false, '', false
        FROM bench_loan;
        INSERT INTO loans_loan (id, created, updated, code, application_id, miner_id, product_id, withholding_buyer_id,
               currency, principal, tea_pct, moratory_tea_pct, tcea_pct, insurance_monthly_rate_pct, upfront_fees,
               fee_per_installment, max_withholding_share_pct, guarantee_coverage_pct, term, grace_kind, grace_periods,
               installment_amount, disbursed_on, first_due_on, payee, disbursement_reference, disbursed_by_id, status,
               schedule_version, verification_note, outstanding_principal, overdue_amount, moratory_accrued, days_past_due,
               rated_category, category, late_interest_accrued, overpayment_credit, withholding_treatment, lender_number,
               is_refinanced, refinance_category, refinance_floor)
        SELECT i, now(), now(), 'AC-B-' || lpad(i::text, 7, '0'), i, miner_id, %(product)s, buyer_id, 'PEN', principal, 40, 15,
               40, 0, 0, 0, 30, 80, term, 'none', 0, round(principal / term * 1.2, 2), disbursed_on, disbursed_on + 30,
               'miner', '', %(officer)s, 'active', 1, '', principal, 0, 0, 0, '', 'normal', 0, 0, 'auto', '',
               false, '', ''
        FROM bench_loan;
        SELECT setval(pg_get_serial_sequence('loans_loan', 'id'), %(loans)s);
        SELECT setval(pg_get_serial_sequence('loans_loanapplication', 'id'), %(loans)s);""",
        p,
    )
    # Garantía mobiliaria on a third of the loans (the equipment they financed): two in three of those
    # registered, so the rating's covered share reads the collateral table as it would at national scale.
    timer(
        "collateral",
        sql,
        """
        INSERT INTO loans_collateral (created, updated, loan_id, description, registry_entry, registered_on,
               appraised_value, currency, appraised_on, insurer, policy_number, policy_expires_on, recorded_by_id)
        SELECT now(), now(), id, 'Equipo ' || id, CASE WHEN id %% 9 <> 3 THEN 'RMC-B-' || id ELSE '' END,
               CASE WHEN id %% 9 <> 3 THEN disbursed_on + 10 END, round(principal * 0.6, 2), 'PEN', disbursed_on,
               'Aseguradora', 'POL-' || id, %(as_of)s::date + (id %% 400)::int - 30, %(officer)s
        FROM loans_loan WHERE id %% 3 = 0""",
        p,
    )
    # Equal-principal lines at ~2.84% a month; loans with i % 20 in (3, 7, 11) are 1–5 installments behind.
    timer(
        "schedule lines",
        sql,
        """
        INSERT INTO installments_scheduleline (loan_id, version, is_current, number, due_on, days, opening_balance,
               principal, interest, insurance, fees, total, closing_balance, capitalized, paid_principal, paid_interest,
               paid_insurance, paid_fees, moratory_accrued, paid_moratory, moratory_base, late_interest_accrued,
               paid_late_interest, late_interest_base, status, deferred_interest, paid_deferred_interest, paid_on)
        SELECT l.i, 1, true, k, d.due_on, 30, l.principal - pr.per * (k - 1), pr.line_principal,
               round((l.principal - pr.per * (k - 1)) * 0.0284, 2), 0, 0,
               pr.line_principal + round((l.principal - pr.per * (k - 1)) * 0.0284, 2),
               l.principal - pr.per * (k - 1) - pr.line_principal, 0,
               CASE WHEN paid THEN pr.line_principal ELSE 0 END,
               CASE WHEN paid THEN round((l.principal - pr.per * (k - 1)) * 0.0284, 2) ELSE 0 END,
               0, 0, 0, 0, 0, 0, 0, 0, CASE WHEN paid THEN 'paid' ELSE 'pending' END, 0, 0,
               CASE WHEN paid THEN d.due_on END
        FROM bench_loan l
        CROSS JOIN LATERAL generate_series(1, l.term) k
        CROSS JOIN LATERAL (SELECT round(l.principal / l.term, 2) AS per) p0
        CROSS JOIN LATERAL (SELECT p0.per,
                                   CASE WHEN k = l.term THEN l.principal - p0.per * (l.term - 1) ELSE p0.per END
                                   AS line_principal) pr
        CROSS JOIN LATERAL (SELECT (l.disbursed_on + 30 + (k - 1) * 30) AS due_on) d
        CROSS JOIN LATERAL (SELECT d.due_on <= %(as_of)s::date
                                   - CASE WHEN l.i %% 20 IN (3, 7, 11) THEN (1 + l.i %% 5) * 30 ELSE 0 END AS paid) s""",
        p,
    )
    sql(
        "UPDATE loans_loan l SET outstanding_principal = s.o FROM (SELECT loan_id, SUM(principal - paid_principal) o "
        "FROM installments_scheduleline GROUP BY loan_id) s WHERE s.loan_id = l.id"
    )
    sql("ALTER TABLE buyers_settlement DROP CONSTRAINT settlement_unique_buyer_lot")
    timer(
        f"settlements ({args.miners * args.weeks:,})",
        sql,
        """
        INSERT INTO buyers_settlement (id, created, updated, buyer_id, miner_id, lot_code, settled_on, currency, exchange_rate,
               wet_tonnes, moisture_pct, grade_oz_tc, recovery, gold_price_usd_oz, gold_price_source,
               commercial_deduction_usd_oz, maquila_usd_tc, reagents_usd_tms, freight_usd_tms, other_usd_tms, dry_tonnes,
               value_per_tms, payable_usd, contained_gold_usd, price_share, value_share, fair_price_flags, maquila_source,
               terms_deviations, status, void_reason,
               source)
        SELECT (m - 1) * %(weeks)s + w + 1, now(), now(), (m %% %(buyers)s) + 1, m, 'L' || m || '-' || w,
               %(as_of)s::date - (w * 7 + m %% 7), 'PEN', 3.75,
               -- one miner in ten stopped delivering two months ago (the no-deliveries warning)
               CASE WHEN m %% 10 = 0 AND w < 9 THEN 0.5 ELSE 10 END, 8, 0.5, 0.84, 3322.10, 'LBMA PM', 80, 110, 30.26, 22,
               0, 9.2, 1327.4816, 12212.83, 16845.13, 0.9759, 0.8631, '[]', 'stated', '[]', 'posted', '', 'seed'
        FROM generate_series(1, %(miners)s) m CROSS JOIN generate_series(0, %(weeks)s - 1) w""",
        p,
    )
    timer(
        "settlements: unique (buyer, lot) rebuilt",
        sql,
        "ALTER TABLE buyers_settlement ADD CONSTRAINT settlement_unique_buyer_lot UNIQUE (buyer_id, lot_code)",
    )
    sql("SELECT setval(pg_get_serial_sequence('buyers_settlement', 'id'), %(n)s)", {"n": args.miners * args.weeks})
    # Each loan's last three periods were withheld (already remitted): the withholding-short signal's input.
    timer(
        "past withholdings (3 per loan, remitted)",
        sql,
        """
        CREATE TEMP TABLE bench_w AS
        SELECT row_number() OVER () AS n, sl.loan_id, l.buyer_id, sl.due_on,
               (l.miner_id - 1) * %(weeks)s + LEAST(%(weeks)s - 1, (%(as_of)s::date - sl.due_on) / 7 + 1) + 1 AS settlement_id,
               CASE WHEN sl.loan_id %% 9 = 0 THEN round(sl.total / 3, 2) ELSE sl.total END AS amount
        FROM installments_scheduleline sl JOIN bench_loan l ON l.i = sl.loan_id
        WHERE sl.due_on <= %(as_of)s::date AND sl.due_on > %(as_of)s::date - 90;
        INSERT INTO installments_loantransaction (id, loan_id, kind, value_date, amount, currency, settlement_id,
               prepayment_mode, treatment, reference, note, recorded_at, parameters)
        SELECT %(loans)s + n, loan_id, 'withholding', due_on, amount, 'PEN', settlement_id, '', 'auto', '', '', now(), '{}' FROM bench_w;
        INSERT INTO installments_withholding (created, updated, settlement_id, loan_id, buyer_id, transaction_id, withheld_on,
               amount, currency, amount_settlement_currency, remitted_amount, status)
        SELECT now(), now(), settlement_id, loan_id, buyer_id, %(loans)s + n, due_on, amount, 'PEN', amount, amount, 'remitted'
        FROM bench_w;""",
        p,
    )
    # The reconciled day: ``day_n`` withholdings on as_of (from that day's settlements), one remittance per buyer.
    timer(
        f"the day's withholdings ({args.withholdings:,}) and remittances",
        sql,
        """
        CREATE TEMP TABLE bench_day AS
        SELECT i AS n, (i - 1) * %(weeks)s + 1 AS settlement_id, i AS loan_id, buyer_id,
               (500 + i %% 1500)::numeric(14, 2) AS amount
        FROM bench_loan WHERE i <= %(day_n)s;
        INSERT INTO installments_loantransaction (id, loan_id, kind, value_date, amount, currency, settlement_id,
               prepayment_mode, treatment, reference, note, recorded_at, parameters)
        SELECT 100000000 + n, loan_id, 'withholding', %(as_of)s::date, amount, 'PEN', settlement_id, '', 'auto', '', '', now(), '{}'
        FROM bench_day;
        INSERT INTO installments_withholding (created, updated, settlement_id, loan_id, buyer_id, transaction_id, withheld_on,
               amount, currency, amount_settlement_currency, remitted_amount, status)
        SELECT now(), now(), settlement_id, loan_id, buyer_id, 100000000 + n, %(as_of)s::date, amount, 'PEN', amount, 0,
               'unremitted'
        FROM bench_day;
        INSERT INTO installments_remittance (created, updated, buyer_id, reference, amount, currency, paid_on,
               unmatched_amount)
        SELECT now(), now(), buyer_id, 'TRF-' || buyer_id, t, 'PEN', %(as_of)s::date, t
        FROM (SELECT buyer_id, CASE WHEN buyer_id %% 10 = 0 THEN round(SUM(amount) * 0.9, 2)
                                    WHEN buyer_id %% 10 = 1 THEN SUM(amount) + 100 ELSE SUM(amount) END AS t
              FROM bench_day GROUP BY buyer_id) x;""",
        p,
    )
    # The servicing log a real book has, so the journal posts from it (issue 14): each loan's disbursement;
    # each paid installment paid by its withholding when it had one, else by a counter payment on its due
    # date, allocated to its principal and interest; a withholding whose installment is still unpaid (a
    # loan behind) and the reconciled day's withholdings sit as the miner's overpayment credit.
    timer(
        "servicing log: disbursements, payments and allocations",
        sql,
        """
        INSERT INTO installments_loantransaction (id, loan_id, kind, value_date, amount, currency, settlement_id,
               prepayment_mode, treatment, reference, note, recorded_at, parameters)
        SELECT 200000000 + i, i, 'disbursement', disbursed_on, principal, 'PEN', NULL, '', 'auto', '', '', now(), '{}'
        FROM bench_loan;
        CREATE TEMP TABLE bench_paid AS
        SELECT sl.id AS line_id, sl.loan_id, sl.due_on, sl.paid_principal, sl.paid_interest, w.n
        FROM installments_scheduleline sl LEFT JOIN bench_w w ON w.loan_id = sl.loan_id AND w.due_on = sl.due_on
        WHERE sl.status = 'paid';
        INSERT INTO installments_loantransaction (id, loan_id, kind, value_date, amount, currency, settlement_id,
               prepayment_mode, treatment, reference, note, recorded_at, parameters)
        SELECT 300000000 + line_id, loan_id, 'payment', due_on, paid_principal + paid_interest, 'PEN', NULL, '', 'auto',
               '', '', now(), '{}'
        FROM bench_paid WHERE n IS NULL;
        INSERT INTO installments_allocation (transaction_id, schedule_line_id, component, amount)
        SELECT COALESCE(%(loans)s + p.n, 300000000 + p.line_id), p.line_id, c.component, c.amount
        FROM bench_paid p
        CROSS JOIN LATERAL (VALUES ('principal', p.paid_principal), ('interest', p.paid_interest)) c(component, amount)
        WHERE c.amount > 0;
        INSERT INTO installments_allocation (transaction_id, schedule_line_id, component, amount)
        SELECT %(loans)s + w.n, NULL, 'overpayment', w.amount
        FROM bench_w w LEFT JOIN bench_paid p ON p.n = w.n WHERE p.line_id IS NULL;
        INSERT INTO installments_allocation (transaction_id, schedule_line_id, component, amount)
        SELECT 100000000 + n, NULL, 'overpayment', amount FROM bench_day;""",
        p,
    )
    timer("secondary indexes rebuilt", lambda: [sql(definition) for definition in dropped])
    sql("SET session_replication_role = origin")
    timer("ANALYZE", sql, "ANALYZE")


def drop_indexes(table: str) -> list[str]:
    """Drop ``table``'s plain indexes (not primary keys or constraints); return how to recreate them."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """SELECT i.indexname, i.indexdef FROM pg_indexes i
               WHERE i.tablename = %s AND NOT EXISTS (
                   SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)""",
            [table],
        )
        rows = cur.fetchall()
        for name, _ in rows:
            cur.execute(f'DROP INDEX "{name}"')
    return [definition for _, definition in rows]


def lower_bound_rating(as_of: dt.date) -> int:
    """The rating's work as one statement: no batches, no upsert, no JobRun — just the answer."""
    from installments import batch

    sql("DROP TABLE IF EXISTS bench_lower_bound")
    sql(f"SET work_mem = '{batch.RATING_WORK_MEM}'")  # the same memory the job's batches get
    params = batch._rating_params(as_of, 0, 2**62)
    rates = batch.book_fx_rates(as_of=as_of)
    return sql(f"CREATE TEMP TABLE bench_lower_bound AS {batch.rating_select_sql(rates)}", params)  # noqa: S608


def lower_bound_matching(as_of: dt.date) -> int:
    """The reconciliation's core (the FIFO match of every open withholding) as one SELECT."""
    return sql("""
        CREATE TEMP TABLE bench_lb_match AS
        WITH r AS (SELECT id, buyer_id, unmatched_amount a,
                          SUM(unmatched_amount) OVER (PARTITION BY buyer_id ORDER BY paid_on, id) - unmatched_amount s
                   FROM installments_remittance WHERE unmatched_amount > 0),
             w AS (SELECT id, buyer_id, amount - remitted_amount a,
                          SUM(amount - remitted_amount) OVER (PARTITION BY buyer_id ORDER BY withheld_on, id)
                          - (amount - remitted_amount) s
                   FROM installments_withholding WHERE status IN ('unremitted', 'partial'))
        SELECT r.id rid, w.id wid, LEAST(r.s + r.a, w.s + w.a) - GREATEST(r.s, w.s) m
        FROM r JOIN w ON w.buyer_id = r.buyer_id AND w.s < r.s + r.a AND r.s < w.s + w.a""")


def main() -> None:
    args = parse()
    args.miners = args.miners or 2 * args.loans
    if args.weeks < 2:
        raise SystemExit("--weeks must be at least 2")
    as_of = dt.date.fromisoformat(args.as_of)
    if not args.reuse:
        recreate_database(args.server, args.database)
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.db import connection

    from installments.services import moratory_accrue, portfolio_rate, reconcile_remittances

    timer = Timer()
    print(f"asm_bench: {args.loans:,} loans, {args.miners:,} miners, {args.buyers:,} buyers, {args.weeks} weeks")
    if not args.reuse:
        build(args, as_of, timer)
    with connection.cursor() as cur:
        for table in ("loans_loan", "installments_scheduleline", "buyers_settlement", "installments_withholding"):
            cur.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
            print(f"  {table:<40} {cur.fetchone()[0]:>12,} rows")
    if args.reuse:  # time a fresh rating and reconciliation, not a rerun of the previous one
        sql("DELETE FROM installments_loanrating WHERE as_of = %(d)s", {"d": as_of})
        sql("DELETE FROM installments_portfoliorating WHERE as_of = %(d)s", {"d": as_of})
        sql("DELETE FROM installments_reconciliationexception")
        sql("DELETE FROM installments_remittancematch")
        sql("UPDATE installments_remittance SET unmatched_amount = amount, reconciled_at = NULL")
        sql(
            "UPDATE installments_withholding SET remitted_amount = 0, status = 'unremitted' WHERE withheld_on = %(d)s",
            {"d": as_of},
        )
        sql("VACUUM ANALYZE")
    print("timings")
    accrual = timer("nightly moratory accrual (moratory_accrue)", moratory_accrue, as_of=as_of)
    rating = timer("rating (portfolio_rate)", portfolio_rate, as_of=as_of)
    rerun = timer("rating rerun, same date (changes nothing)", portfolio_rate, as_of=as_of)
    timer("rating lower bound: one plain SQL statement", lower_bound_rating, as_of)
    timer("matching lower bound: one plain SQL statement", lower_bound_matching, as_of)
    recon = timer("reconciliation of the day (reconcile_remittances)", reconcile_remittances, as_of=as_of)
    recon2 = timer("reconciliation rerun (changes nothing)", reconcile_remittances, as_of=as_of)
    results = dict(timer.results)
    ratio = results["rating (portfolio_rate)"] / results["rating lower bound: one plain SQL statement"]
    print("summary")
    print(
        f"  accrual rows touched {accrual.rows_touched:,}; rating rows {rating.rows_touched:,} "
        f"(rerun {rerun.rows_touched}); reconciliation rows {recon.rows_touched:,} (rerun {recon2.rows_touched})"
    )
    print(
        f"  rating / lower bound = {ratio:.2f}× (target ≤ 3×); rating {results['rating (portfolio_rate)']:.1f} s "
        f"(target < 60 s); reconciliation {results['reconciliation of the day (reconcile_remittances)']:.1f} s "
        "(target < 10 s)"
    )


if __name__ == "__main__":
    main()
