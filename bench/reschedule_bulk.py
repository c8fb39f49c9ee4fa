"""Benchmark of a bulk reprogramación (issue 13): every loan of one buyer, two months of payment holiday.

    .venv/bin/python bench/reschedule_bulk.py                 # 1,000 loans
    .venv/bin/python bench/reschedule_bulk.py --loans 5000

Builds a separate PostgreSQL database (``asm_bench_resched`` by default, dropped and recreated) with the
project's migrations and ``--loans`` loans of one buyer's suppliers (the first disbursed through the real
service, ``loan_disburse``: 12 monthly installments, cronograma version 1; the others copies of its rows),
then times:

- the preview of the reprogramación (what ``POST /api/v1/reschedules/`` with ``"preview": true`` does);
- the request (the proposal and one item per loan);
- the approval, once for all: a ``reschedule`` entry per loan, each loan replayed and its new cronograma
  version written (the write-back in batches of ``lifecycle.reschedules.APPLY_BATCH``), the audit rows and
  one outbox message for the miners' notices.

Each step's SQL statements are counted, so a per-loan query storm shows up as a count near the number of
loans rather than a handful per batch.
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
    parser.add_argument("--loans", type=int, default=1_000)
    parser.add_argument("--database", default="asm_bench_resched")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def timed(label: str, fn, *args, **kwargs):  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    start = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        value = fn(*args, **kwargs)
    elapsed = time.perf_counter() - start
    print(f"  {label:<52} {elapsed:8.2f} s  {len(queries):>6} queries", flush=True)
    return value


def build(loans: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from buyers.models import Buyer, SupplierRelationship
    from installments.models import LoanTransaction, ScheduleLine
    from installments.services import loan_disburse
    from loans.models import Loan, LoanApplication, LoanProduct
    from miners.models import Miner

    call_command("migrate", verbosity=0)
    officer = User.objects.create_user("bench.officer")
    officer.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    approver = User.objects.create_user("bench.approver")
    approver.groups.add(Group.objects.get_or_create(name="credit_approver")[0])
    buyer = Buyer.objects.create(ruc="20100000001", name="Minera Orex S.A.C.", region="04", kind="mining_company")
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
    )
    miners = Miner.objects.bulk_create(
        Miner(
            first_names="Minero",
            last_names=f"Bench {i}",
            document_type="DNI",
            document_number=f"{40000000 + i}",
            gender="M",
            ubigeo="040112",
        )
        for i in range(loans)
    )
    since = dt.date(2023, 1, 1)
    SupplierRelationship.objects.bulk_create(
        SupplierRelationship(buyer=buyer, miner=miner, since=since) for miner in miners
    )
    today = dt.date.today()
    disbursed = today - dt.timedelta(days=20)
    applications = LoanApplication.objects.bulk_create(
        LoanApplication(
            miner=miner,
            product=product,
            amount=Decimal(20000),
            term=12,
            tea_pct=product.tea_pct,
            disbursement_date=disbursed,
            first_due_on=disbursed + dt.timedelta(days=30),
            withholding_buyer=buyer,
            status=LoanApplication.Status.APPROVED,
            prepared_by=officer,
        )
        for miner in miners
    )
    # The first loan through the real service; the others are copies of its rows (same terms, their own
    # miner, application and code), so the build takes seconds, not one service call per loan.
    template = loan_disburse(application=applications[0], actor=officer, disbursed_on=disbursed, reference="B-0")
    lines = list(ScheduleLine.objects.filter(loan=template))
    entries = list(LoanTransaction.objects.filter(loan=template))
    copies = []
    for i, application in enumerate(applications[1:], start=1):
        loan = Loan.objects.get(pk=template.pk)
        loan.pk = None
        loan.code = f"AC-BENCH-{i:06d}"
        loan.miner_id = application.miner_id
        loan.application = application
        copies.append(loan)
    copies = Loan.objects.bulk_create(copies, batch_size=500)
    ScheduleLine.objects.bulk_create(
        [_copy(line, loan_id=loan.pk) for loan in copies for line in lines], batch_size=2000
    )
    LoanTransaction.objects.bulk_create(
        [_copy(entry, loan_id=loan.pk) for loan in copies for entry in entries], batch_size=2000
    )
    LoanApplication.objects.filter(pk__in=[a.pk for a in applications]).update(status=LoanApplication.Status.DISBURSED)
    return buyer, officer, approver


def _copy(row, **changes):  # type: ignore[no-untyped-def]
    clone = type(row).objects.model(**{f.attname: getattr(row, f.attname) for f in row._meta.concrete_fields})
    clone.pk = None
    for name, value in changes.items():
        setattr(clone, name, value)
    return clone


def main() -> None:
    args = parse()
    recreate_database(args.server, args.database)
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from config.celery import app

    app.conf.task_always_eager = False  # the outbox keeps the notices' message; no worker runs here

    from lifecycle.reschedules import reschedule_approve, reschedule_bulk_preview, reschedule_request
    from loans.models import Loan
    from loans.schedule import RescheduleOptions

    print(f"{args.database}: {args.loans:,} loans of one buyer, 12 installments each")
    start = time.perf_counter()
    buyer, officer, approver = build(args.loans)
    print(f"  {'build (migrate + disburse through the service)':<52} {time.perf_counter() - start:8.2f} s")
    options = [{"holiday_periods": 2}, {"extra_installments": 3}]
    preview = timed(
        "preview (eligible loans, before/after)",
        reschedule_bulk_preview,
        options=RescheduleOptions(holiday_periods=2),
        buyer=buyer,
    )
    proposal, _preview = timed(
        "request (proposal + items)",
        reschedule_request,
        actor=officer,
        options=options,
        chosen=0,
        reason="Temporada de lluvias",
        buyer=buyer,
    )
    outcome = timed(
        "approve (entries, replay, new versions, audit)", reschedule_approve, proposal=proposal, actor=approver
    )
    versions = set(Loan.objects.values_list("schedule_version", flat=True))
    print(f"  eligible {len(preview.eligible):,}, applied {outcome.applied:,}, skipped {len(outcome.skipped)}")
    print(f"  schedule versions now: {sorted(versions)}")


if __name__ == "__main__":
    main()
