# ruff: noqa: T201 - a benchmark prints its figures
"""The nightly close of the loan sub-ledger at scale (issue 14, item 7).

    .venv/bin/python bench/nightly_close.py --loans 20000            # builds asm_bench_accounting, times
    .venv/bin/python bench/nightly_close.py --database asm_bench --reuse   # bench/portfolio.py's book

Builds the book with ``bench/portfolio.py``'s loader into its own database (``asm_bench_accounting``, so
the shared ``asm_bench`` keeps its schema), or reuses one with ``--reuse`` (its journal emptied), then:

- the initial load, in this process: the servicing as of ``--as-of`` (accrual, rating) and the first
  posting of the whole journal (every disbursement, payment, withholding, remittance and the state
  true-ups), then ``VACUUM ANALYZE`` as autovacuum would after it, and a rerun (posts nothing);
- the nightly close of the next day and of the day after as they run in production: the
  ``accounting.tasks.nightly_close`` task queued to a real Celery worker (Redis broker on
  ``--broker``) with ``--concurrency 1``, then with ``--workers`` processes — accrual, rating and
  posting each a chord of batches — timed from the task's queueing to the close's JobRun finishing,
  with each step's own time from its JobRun.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=20_000)
    parser.add_argument("--buyers", type=int, default=200)
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--withholdings", type=int, default=5_000)
    parser.add_argument("--database", default="asm_bench_accounting")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--as-of", default="2026-06-30")
    parser.add_argument("--batch-size", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--broker", default=os.environ.get("BENCH_BROKER", "redis://127.0.0.1:6379/12"))
    return parser.parse_args()


def _setup(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()


def close_in_process(as_of: dt.date, batch_size: int) -> int:
    from accounting.posting import journal_post

    return journal_post(as_of=as_of, batch_size=batch_size)


def close_on_workers(url: str, broker: str, as_of: dt.date, batch_size: int, workers: int) -> dict[str, float]:
    """Queue the nightly close to a Celery worker of ``workers`` processes; wait for the close's JobRun.
    Returns the wall time and each step's time (seconds)."""
    from asmcredit.models import JobRun

    env = {**os.environ, "DATABASE_URL": url, "CELERY_BROKER_URL": broker, "DEBUG": "false"}
    worker = subprocess.Popen(  # noqa: S603 - our own command line
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            f"--concurrency={workers}",
            "--loglevel=WARNING",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "-n",
            f"bench{workers}@%h",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        ping = [sys.executable, "-m", "celery", "-A", "config", "inspect", "ping", "-t", "2"]
        while subprocess.run(ping, cwd=ROOT, env=env, capture_output=True, check=False).returncode:  # noqa: S603
            time.sleep(0.5)
        before = JobRun.objects.filter(name="accounting_close").order_by("-pk").values_list("pk", flat=True).first()
        start = time.perf_counter()
        out = subprocess.run(  # noqa: S603
            [
                sys.executable,
                "-c",
                f"import django; django.setup(); from accounting.tasks import nightly_close; "
                f"nightly_close.delay({as_of.isoformat()!r}, {batch_size})",
            ],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
        )
        del out
        while True:
            run = JobRun.objects.filter(name="accounting_close", pk__gt=before or 0).order_by("-pk").first()
            if run is not None and run.status != JobRun.Status.RUNNING:
                break
            time.sleep(0.2)
        wall = time.perf_counter() - start
        if run.status != JobRun.Status.SUCCEEDED:
            raise SystemExit(f"the close failed: {run.error}")
        figures = {"wall": wall}
        for name, pk in run.detail["steps"].items():
            step = JobRun.objects.get(pk=pk)
            assert step.finished_at is not None
            figures[name] = (step.finished_at - step.started_at).total_seconds()
        figures["entries"] = float(run.detail.get("entries", 0))
        return figures
    finally:
        worker.terminate()
        worker.wait(timeout=60)


def main() -> None:
    import portfolio

    args = parse()
    args.miners = 2 * args.loans
    as_of = dt.date.fromisoformat(args.as_of)
    url = f"{args.server}/{args.database}"
    if not args.reuse:
        portfolio.recreate_database(args.server, args.database)
    _setup(url)
    from django.core.management import call_command

    from installments.services import moratory_accrue, portfolio_rate

    timer = portfolio.Timer()
    if not args.reuse:
        portfolio.build(args, as_of, timer)
    else:
        timer("migrate", call_command, "migrate", verbosity=0)
        # Time a first posting, not a rerun of the previous one (TRUNCATE is not row-level: allowed).
        portfolio.sql(
            "TRUNCATE accounting_journalline, accounting_journalentry, accounting_tieout, accounting_postingmark"
        )
        # And the servicing of the nights this bench times, so they are first runs, not reruns.
        portfolio.sql("DELETE FROM installments_loanrating WHERE as_of > %(d)s", {"d": as_of})
        portfolio.sql("DELETE FROM installments_portfoliorating WHERE as_of > %(d)s", {"d": as_of})
        portfolio.sql("UPDATE loans_loan SET state_as_of = NULL WHERE state_as_of > %(d)s", {"d": as_of})
    print(f"timings ({args.loans:,} loans, posting batches of {args.batch_size:,})")
    timer("initial load: servicing (accrual)", moratory_accrue, as_of=as_of)
    timer("initial load: servicing (rating)", portfolio_rate, as_of=as_of)
    first = timer("initial load: first posting of the whole journal", close_in_process, as_of, args.batch_size)
    timer("VACUUM ANALYZE after the bulk load", portfolio.sql, "VACUUM ANALYZE")
    again = timer("rerun, same date (posts nothing)", close_in_process, as_of, args.batch_size)
    nights = {}
    for day, workers in ((as_of + dt.timedelta(days=1), 1), (as_of + dt.timedelta(days=2), args.workers)):
        figures = close_on_workers(url, args.broker, day, args.batch_size, workers)
        nights[workers] = figures
        steps = [figures.get(f"accounting_close_{step}", 0.0) for step in ("accrual", "rating", "posting")]
        print(
            f"  nightly close {day}, {workers} worker process(es): {figures['wall']:.1f} s wall "
            f"(accrual {steps[0]:.1f}, rating {steps[1]:.1f}, posting {steps[2]:.1f}; "
            f"{int(figures['entries']):,} entries)"
        )
    print("summary")
    print(f"  initial load: {first:,} entries; rerun {again}")
    one, many = nights[1], nights[args.workers]
    print(f"  nightly close, 1 worker: {one['wall']:.1f} s (target < 60 s)")
    print(
        f"  1 worker / {args.workers} workers = {one['wall'] / many['wall']:.2f}× "
        f"(accrual {one['accounting_close_accrual'] / many['accounting_close_accrual']:.2f}×, "
        f"rating {one['accounting_close_rating'] / many['accounting_close_rating']:.2f}×, "
        f"posting {one['accounting_close_posting'] / many['accounting_close_posting']:.2f}×)"
    )


if __name__ == "__main__":
    start = time.perf_counter()
    main()
    print(f"  ({time.perf_counter() - start:.0f} s in all)")
