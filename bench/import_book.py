"""A lender's book migrated: the dry run of ``--loans`` opening loans (``lifecycle.book_import``).

    .venv/bin/python bench/import_book.py                 # 2,000 loans, 12 installments, 5 paid
    .venv/bin/python bench/import_book.py --loans 200 --commit

Builds a separate PostgreSQL database (``asm_bench_book`` by default, dropped and recreated) with the
project's migrations, ``--loans`` miners and one product, writes the files a lender would send (CSV:
loans with their terms, payments on the due dates; 1% of the declared balances off by 10.00), then times
reading and checking the files alone and the whole dry run: each loan created, its payments recorded,
replayed to the cut-off date, compared and rolled back in its own savepoint. ``--commit`` times the
import of the loans that tie as well (``loan_recompute`` of each as of today).
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
    parser.add_argument("--loans", type=int, default=2_000)
    parser.add_argument("--installments", type=int, default=12)
    parser.add_argument("--paid", type=int, default=5, help="installments paid before the cut-off")
    parser.add_argument("--database", default="asm_bench_book")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--commit", action="store_true", help="time the commit too")
    return parser.parse_args()


def recreate_database(server: str, name: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def files(args: argparse.Namespace, cutoff: dt.date) -> tuple[str, str]:
    """The loans and payments files: every loan on its terms, the first ``--paid`` installments paid on
    their due dates, the declared balance the schedule's (1% of them 10.00 off)."""
    from asmcredit.money import pct_to_rate
    from loans.schedule import ScheduleTerms, build_schedule

    loans = [
        "numero_prestamo,documento_minero,producto,moneda,capital,tea,fecha_desembolso,primer_vencimiento,cuotas,"
        "saldo_capital"
    ]
    payments = ["numero_prestamo,fecha,monto,tipo"]
    disbursed_on = cutoff - dt.timedelta(days=30 * args.paid + 10)
    first_due_on = disbursed_on + dt.timedelta(days=30)
    for n in range(args.loans):
        principal = Decimal(5000 + (n % 40) * 1000)
        schedule = build_schedule(
            ScheduleTerms(
                principal=principal,
                tea=pct_to_rate(Decimal("40")),
                disbursed_on=disbursed_on,
                first_due_on=first_due_on,
                installments=args.installments,
            )
        )
        declared = schedule.lines[args.paid - 1].closing_balance + (Decimal("10.00") if n % 100 == 99 else 0)
        loans.append(
            f"B-{n:06d},{50000000 + n:08d},bench,PEN,{principal:.2f},40,{disbursed_on:%d/%m/%Y},"
            f"{first_due_on:%d/%m/%Y},{args.installments},{declared}"
        )
        for line in schedule.lines[: args.paid]:
            payments.append(f"B-{n:06d},{line.due_on:%d/%m/%Y},{line.total},{'retencion' if n % 2 else 'pago'}")
    return "\n".join(loans), "\n".join(payments)


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
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from lifecycle.book_import.reading import read_book
    from lifecycle.book_import.services import book_import_create, book_import_run
    from loans.models import LoanProduct
    from miners.models import Miner

    print(f"{args.database}: {args.loans:,} loans, {args.installments} installments, {args.paid} paid")
    call_command("migrate", verbosity=0)
    admin = User.objects.create_user("bench.admin")
    admin.groups.add(Group.objects.get_or_create(name="lender_admin")[0])
    LoanProduct.objects.create(
        code="bench",
        name="Bench",
        purpose=LoanProduct.Purpose.WORKING_CAPITAL,
        currency="PEN",
        tea_pct=Decimal("40"),
        max_tea_pct=Decimal("60"),
        moratory_tea_pct=Decimal("15"),
        min_amount=Decimal("1000"),
        max_amount=Decimal("500000"),
        min_term=1,
        max_term=36,
        requires_reinfo=False,
    )
    Miner.objects.bulk_create(
        Miner(
            first_names=f"Minero {n}",
            last_names="Bench",
            document_type="DNI",
            document_number=f"{50000000 + n:08d}",
            gender="M",
            ubigeo="040112",
            role=Miner.Role.OWNER_OPERATOR,
        )
        for n in range(args.loans)
    )
    cutoff = timezone.localdate() - dt.timedelta(days=1)
    loans, payments = files(args, cutoff)
    print(f"  files: {len(loans) + len(payments):,} characters")

    start = time.perf_counter()
    book = read_book(loans=loans, payments=payments, cutoff=cutoff)
    read = time.perf_counter() - start
    assert not book.errors, book.errors[:3]
    print(f"  read and check the files                   {read:8.2f} s")

    start = time.perf_counter()
    batch = book_import_run(batch=book_import_create(actor=admin, cutoff=cutoff, loans=loans, payments=payments))
    dry = time.perf_counter() - start
    print(
        f"  dry run ({batch.tied:,} tie, {batch.mismatched:,} do not)       {dry:8.2f} s"
        f"   {batch.loans / dry:,.0f} loans/s"
    )
    if args.commit:
        start = time.perf_counter()
        batch = book_import_run(
            batch=book_import_create(actor=admin, cutoff=cutoff, loans=loans, payments=payments, commit=True)
        )
        elapsed = time.perf_counter() - start
        rate = batch.loans / elapsed
        print(f"  commit ({batch.imported:,} imported)                {elapsed:8.2f} s   {rate:,.0f} loans/s")


if __name__ == "__main__":
    main()
