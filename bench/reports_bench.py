# ruff: noqa: S608 - builds the benchmark data with SQL text; no input reaches it
"""Benchmark of the report figures: portfolio_summary + the portfolio PDF, and one cronograma.

    .venv/bin/python bench/reports_bench.py                 # asm_bench if the servicing bench built it,
                                                            # else a generated portfolio (--loans, default 20000)
    .venv/bin/python bench/reports_bench.py --loans 150000  # the national-scale portfolio (DOMAIN.md §7)

Targets (issue #6): portfolio report over 150,000 loans under 30 s with bounded memory (the
aggregation runs in SQL); a cronograma under 1 s.

The generated portfolio lives in its own database (``asm_reports_bench`` unless --database): one
template row per table is made through the ORM, then cloned set-based in SQL with generate_series, so
150,000 loans with 18 installments each (2.7 million schedule lines, with a principal allocation per
paid installment) are built in a few minutes. Roughly one loan in seven falls behind after its
second installment, so PAR, categories and repayment are not trivially zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

AS_OF = dt.date(2025, 6, 30)
TERM = 18


def _database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/asmcredit")
    parts = urlparse(base)
    return urlunparse(parts._replace(path=f"/{name}"))


def _exists(url: str) -> bool:
    import psycopg2

    parts = urlparse(url)
    try:
        with (
            psycopg2.connect(
                host=parts.hostname,
                port=parts.port or 5432,
                user=parts.username,
                password=parts.password,
                dbname=parts.path.lstrip("/"),
            ) as conn,
            conn.cursor() as cur,
        ):
            cur.execute("SELECT to_regclass('loans_loan') IS NOT NULL")
            if not cur.fetchone()[0]:
                return False
            cur.execute("SELECT count(*) FROM loans_loan")
            return cur.fetchone()[0] > 0
    except psycopg2.OperationalError:
        return False


def _create_database(url: str) -> None:
    import psycopg2

    parts = urlparse(url)
    conn = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cur:
        name = parts.path.lstrip("/")
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if not cur.fetchone():
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def _clone(
    cursor, model, template_pk: int, *, count_sql: str, overrides: dict[str, str], source: str = "", where: str = ""
) -> int:
    """INSERT one row per row of ``count_sql`` copying the template row, with ``overrides`` (SQL expressions)."""
    table = model._meta.db_table
    columns = [f.column for f in model._meta.concrete_fields if f.column != "id"]
    select = ", ".join(overrides.get(column, f"t.{column}") for column in columns)
    sql = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} t, {count_sql} {source} "
    sql += f"WHERE {where or 'true'}"
    # The overrides use SQL's % (modulo); only the template id is a parameter.
    cursor.execute(sql.replace("%", "%%") + " AND t.id = %s", [template_pk])
    return cursor.rowcount


def generate(loans: int) -> None:
    """Fill the (migrated, empty) database with ``loans`` loans and their cronogramas."""
    from decimal import Decimal

    from django.contrib.auth.models import User
    from django.db import connection, transaction

    from buyers.models import Buyer
    from installments.models import Allocation, LoanTransaction, ScheduleLine
    from loans.models import Equipment, EquipmentSupplier, Loan, LoanApplication, LoanProduct
    from miners.identity import ruc_check_digit
    from miners.models import Miner

    def ruc(prefix: str, n: int) -> str:
        body = f"{prefix}{n:08d}"
        return body + str(ruc_check_digit(body))

    started = time.perf_counter()
    with transaction.atomic():
        officer = User.objects.create_user("bench.officer")
        buyers = [
            Buyer.objects.create(ruc=ruc("20", 70000000 + i), name=f"Compradora {i:03d} S.A.C.", region="04")
            for i in range(200)
        ]
        products = [
            LoanProduct.objects.create(
                code=code,
                name=name,
                purpose=purpose,
                currency="PEN",
                tea_pct=Decimal("40"),
                max_tea_pct=Decimal("60"),
                moratory_tea_pct=Decimal("15"),
                min_amount=Decimal("1000"),
                max_amount=Decimal("100000"),
                min_term=3,
                max_term=36,
                requires_reinfo=purpose != "micro_enterprise",
            )
            for code, name, purpose in (
                ("equipo", "Equipo libre de mercurio", "mercury_free_equipment"),
                ("capital", "Capital de trabajo", "working_capital"),
                ("micro", "Micro-negocio", "micro_enterprise"),
            )
        ]
        supplier = EquipmentSupplier.objects.create(name="Proveedor", ruc=ruc("20", 80000000))
        equipment = Equipment.objects.create(
            supplier=supplier,
            name="Concentrador",
            kind="concentrator",
            mercury_free=True,
            mercury_avoided_kg_year=Decimal("12.50"),
            price=Decimal("45000"),
        )
        miner = Miner.objects.create(
            first_names="Bench",
            last_names="Template",
            document_number="49999999",
            gender="M",
            ubigeo="040101",
        )
        application = LoanApplication.objects.create(
            miner=miner,
            product=products[0],
            amount=Decimal("10000"),
            term=TERM,
            tea_pct=Decimal("40"),
            disbursement_date=dt.date(2024, 1, 1),
            first_due_on=dt.date(2024, 2, 1),
            prepared_by=officer,
            status="disbursed",
        )
        loan = Loan.objects.create(
            code="TEMPLATE",
            application=application,
            miner=miner,
            product=products[0],
            principal=Decimal("10000"),
            tea_pct=Decimal("40"),
            tcea_pct=Decimal("40"),
            term=TERM,
            installment_amount=Decimal("700"),
            disbursed_on=dt.date(2024, 1, 1),
            first_due_on=dt.date(2024, 2, 1),
            payee="miner",
            disbursed_by=officer,
            status="written_off",  # the template row stays out of the portfolio
        )
        line = ScheduleLine.objects.create(
            loan=loan,
            number=1,
            due_on=dt.date(2024, 2, 1),
            days=30,
            opening_balance=Decimal("10000"),
            principal=Decimal("500"),
            interest=Decimal("200"),
            total=Decimal("700"),
            closing_balance=Decimal("9500"),
        )
        tx = LoanTransaction.objects.create(
            loan=loan, kind="payment", value_date=dt.date(2024, 2, 1), amount=Decimal("700"), currency="PEN"
        )
        allocation = Allocation.objects.create(transaction=tx, schedule_line=line, component="principal", amount=1)

        miners_n = max(loans * 5 // 6, 1)
        buyer_ids = [b.pk for b in buyers]
        product_ids = [p.pk for p in products]
        with connection.cursor() as cur:
            _clone(
                cur,
                Miner,
                miner.pk,
                count_sql=f"generate_series(1, {miners_n}) g",
                overrides={
                    "document_number": "lpad((10000000 + g)::text, 8, '0')",
                    "first_names": "'Minero ' || g",
                    "gender": "CASE WHEN g % 3 = 0 THEN 'F' ELSE 'M' END",
                    "role": "CASE WHEN g % 20 = 0 THEN 'pallaquera' WHEN g % 4 = 0 THEN 'worker' "
                    "ELSE 'owner_operator' END",
                    "ubigeo": "(ARRAY['040101','210101','170101','130101','050101','030101'])[1 + g % 6]",
                },
            )
            cur.execute("SELECT min(id) FROM miners_miner WHERE id <> %s", [miner.pk])
            first_miner = cur.fetchone()[0]
            series = f"generate_series(1, {loans}) g"
            miner_of = f"({first_miner} + (g - 1) % {miners_n})"
            disbursed = "(DATE '2024-07-01' + ((g * 37) % 345))"
            _clone(
                cur,
                LoanApplication,
                application.pk,
                count_sql=series,
                overrides={
                    "miner_id": miner_of,
                    "disbursement_date": disbursed,
                    "first_due_on": f"({disbursed} + 30)",
                },
            )
            cur.execute("SELECT min(id) FROM loans_loanapplication WHERE id <> %s", [application.pk])
            first_app = cur.fetchone()[0]
            _clone(
                cur,
                Loan,
                loan.pk,
                count_sql=series,
                overrides={
                    "code": "'B' || lpad(g::text, 7, '0')",
                    "status": "'active'",
                    "application_id": f"({first_app} + g - 1)",
                    "miner_id": miner_of,
                    "product_id": f"(ARRAY{product_ids})[1 + g % 3]",
                    "withholding_buyer_id": f"CASE WHEN g % 10 = 0 THEN NULL ELSE (ARRAY{buyer_ids})[1 + g % 200] END",
                    "equipment_id": f"CASE WHEN g % 3 = 1 THEN {equipment.pk} ELSE NULL END",
                    "principal": "(3000 + (g % 48) * 1000)::numeric",
                    "disbursed_on": disbursed,
                    "first_due_on": f"({disbursed} + 30)",
                },
            )
            # Straight-line principal (the figures under test are sums, not the cuota fija itself).
            _clone(
                cur,
                ScheduleLine,
                line.pk,
                count_sql=f"generate_series(1, {TERM}) k",
                source=", loans_loan l",
                where=f"l.id <> {loan.pk}",
                overrides={
                    "loan_id": "l.id",
                    "number": "k",
                    "due_on": "(l.first_due_on + (k - 1) * INTERVAL '1 month')::date",
                    "opening_balance": f"round(l.principal * ({TERM} - k + 1) / {TERM}, 2)",
                    "principal": f"round(l.principal / {TERM}, 2)",
                    "interest": f"round(l.principal * ({TERM} - k + 1) / {TERM} * 0.028, 2)",
                    "total": f"round(l.principal / {TERM}, 2) "
                    f"+ round(l.principal * ({TERM} - k + 1) / {TERM} * 0.028, 2)",
                    "closing_balance": f"round(l.principal * ({TERM} - k) / {TERM}, 2)",
                },
            )
            cur.execute(f"DELETE FROM installments_allocation WHERE id = {allocation.pk}")
            cur.execute(f"DELETE FROM installments_scheduleline WHERE loan_id = {loan.pk}")
            # Paid on time, except one loan in seven that stops after its second installment.
            cur.execute(
                "UPDATE installments_scheduleline s SET paid_on = s.due_on, status = 'paid', "
                "paid_principal = s.principal, paid_interest = s.interest "
                f"WHERE s.due_on <= DATE '{AS_OF.isoformat()}' AND (s.loan_id % 7 <> 0 OR s.number <= 2)"
            )
            _clone(
                cur,
                LoanTransaction,
                tx.pk,
                count_sql="installments_scheduleline s",
                overrides={
                    "loan_id": "s.loan_id",
                    "value_date": "s.paid_on",
                    "amount": "s.total",
                    "reference": "s.id::text",
                },
                where="s.paid_on IS NOT NULL",
            )
            cur.execute(
                "INSERT INTO installments_allocation (transaction_id, schedule_line_id, component, amount) "
                "SELECT x.id, s.id, c.component, "
                "CASE c.component WHEN 'principal' THEN s.principal ELSE s.interest END "
                "FROM installments_loantransaction x JOIN installments_scheduleline s ON s.id::text = x.reference "
                "CROSS JOIN (VALUES ('principal'), ('interest')) c(component) WHERE x.kind = 'payment'"
            )
            cur.execute(
                "INSERT INTO miners_training (created, updated, miner_id, topic, held_on, provider, hours) "
                "SELECT now(), now(), id, (ARRAY['safety','bookkeeping','mercury_free'])[1 + id % 3], "
                "DATE '2025-01-15' + (id % 150)::int, 'ONG', 4 FROM miners_miner WHERE id % 5 = 0"
            )
            cur.execute("ANALYZE")
    print(f"generated {loans:,} loans in {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=20000, help="size of the generated portfolio")
    parser.add_argument("--database", default="", help="database to use (default: asm_bench, else asm_reports_bench)")
    parser.add_argument("--regenerate", action="store_true", help="drop the generated database and build it again")
    parser.add_argument("--pdf", default=str(ROOT / "test-artifacts" / "reports" / "portfolio-bench.pdf"))
    args = parser.parse_args()

    servicing = _database_url("asm_bench")
    if args.database:
        url = _database_url(args.database)
    elif _exists(servicing) and not args.regenerate:
        url = servicing
    else:
        url = _database_url(f"asm_reports_bench_{args.loans}")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost")

    if args.regenerate and url.endswith(f"asm_reports_bench_{args.loans}"):
        import psycopg2

        parts = urlparse(url)
        conn = psycopg2.connect(host=parts.hostname, port=parts.port or 5432, user=parts.username, dbname="postgres")
        conn.autocommit = True
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}"')
        conn.close()
    fresh = not _exists(url)
    if fresh:
        _create_database(url)

    import django

    django.setup()
    from django.core.management import call_command

    if fresh:
        call_command("migrate", verbosity=0)
        generate(args.loans)

    from loans.models import Loan
    from reports import services
    from reports.selectors import portfolio_summary

    print(f"database: {urlparse(url).path.lstrip('/')}, loans: {Loan.objects.count():,}", flush=True)
    print("load average at the start (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()), flush=True)
    from installments.models import LoanRating

    # The report is normally run for a date the nightly job has rated (it reads the stored ratings);
    # the generated databases have none, so they time the derived path.
    rated_on = LoanRating.objects.order_by("-as_of").values_list("as_of", flat=True).first()
    as_of = rated_on or (
        AS_OF
        if "asm_reports_bench" in url
        else (Loan.objects.order_by("-disbursed_on").values_list("disbursed_on", flat=True).first() or AS_OF)
    )
    if rated_on is not None:
        unrated = rated_on - dt.timedelta(days=1)
        started = time.perf_counter()
        portfolio_summary(as_of=unrated, date_from=unrated.replace(month=1, day=1))
        print(f"portfolio_summary for an unrated date ({unrated}): {time.perf_counter() - started:.2f} s", flush=True)

    date_from = as_of.replace(month=1, day=1)
    started = time.perf_counter()
    summary = portfolio_summary(as_of=as_of, date_from=date_from)
    figures = time.perf_counter() - started
    document = services.portfolio_pdf(summary, lang="es")
    total = time.perf_counter() - started
    Path(args.pdf).write_bytes(document)
    # Memory in a second pass: tracemalloc slows WeasyPrint several-fold, so it stays out of the timing.
    tracemalloc.start()
    services.portfolio_pdf(portfolio_summary(as_of=as_of, date_from=date_from), lang="es")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    loan = Loan.objects.order_by("pk").last()
    if loan is None:
        raise SystemExit("The benchmark database has no loans.")
    services.cronograma_pdf(services.loan_cronograma(loan=loan))  # warm fonts and templates
    started = time.perf_counter()
    services.cronograma_pdf(services.loan_cronograma(loan=loan))
    cronograma = time.perf_counter() - started

    print(
        f"as of {as_of}: {summary.active_loans:,} active loans, outstanding S/ {summary.outstanding:,}, "
        f"PAR30 {summary.par30 * 100:.2f}%, repayment {summary.repayment_rate * 100:.2f}%"
    )
    print(f"portfolio_summary: {figures:.2f} s")
    print(f"PDF render: {total - figures:.2f} s")
    print(f"portfolio_summary + PDF ({len(document):,} bytes -> {args.pdf}): {total:.2f} s  (target < 30 s)")
    print(
        f"peak Python memory during the report: {peak / 1e6:.1f} MB; process max RSS "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3:.0f} MB"
    )
    print(f"cronograma ({loan.code}, {loan.term} installments): {cronograma * 1000:.0f} ms  (target < 1 s)")
    # The machine may be shared: the load average tells how far the timings above can be trusted.
    print("load average (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
