"""The monthly SBS debtor file (RCD / Anexo 6) and the Anexo 5 summary over a national-scale book.

    .venv/bin/python bench/portfolio.py --loans 150000                   # builds and rates asm_bench
    .venv/bin/python bench/regulatory_report.py                          # times the reports over it
    .venv/bin/python bench/regulatory_report.py --database asm_bench_x --as-of 2026-06-30

Uses a database the servicing benchmark built and rated (``bench/portfolio.py``, whose as-of date is the
cut-off), applies the project's migrations (the layouts are seeded by them), and times, with files kept
under a temporary MEDIA_ROOT:

- building the debtor file (``rcd_build``: one streamed SQL query, Python formatting);
- its validation pass (``rcd_validate``: the file read back, tied to the default ledger);
- generating and keeping it (``regulatory_files_generate``: both, plus SHA-256 and the file), and again
  (the regeneration, compared by SHA-256);
- the Anexo 5 summary, CSV and PDF.
Target (issue #14): the monthly debtor report for 150,000 loans in under 30 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="asm_bench")
    parser.add_argument("--server", default=os.environ.get("BENCH_SERVER", "postgres://postgres@127.0.0.1:5432"))
    parser.add_argument("--as-of", default="2026-06-30", help="the cut-off: a day the bench book was rated")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = f"{args.server}/{args.database}"
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["MEDIA_ROOT"] = tempfile.mkdtemp(prefix="regulatory-bench-")
    os.environ.pop("CELERY_BROKER_URL", None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from reports.regulatory import rcd
    from reports.regulatory.services import regulatory_files_generate

    cutoff = dt.date.fromisoformat(args.as_of)
    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM installments_loanrating WHERE as_of = %s", [cutoff])
        rated = cursor.fetchone()[0]
    print(f"{args.database}: {rated:,} loans rated on {cutoff}")

    def timed(label: str, fn, *a, **kw):  # type: ignore[no-untyped-def]
        # Wall time and this process's CPU time: on a shared machine the wall time also holds the wait
        # for a core; the difference is PostgreSQL's share and that wait.
        start, cpu = time.perf_counter(), time.process_time()
        value = fn(*a, **kw)
        print(
            f"  {label:<52} {time.perf_counter() - start:8.2f} s wall {time.process_time() - cpu:8.2f} s Python CPU",
            flush=True,
        )
        return value

    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    built = timed("debtor file: build (rcd_build)", rcd.rcd_build, cutoff=cutoff)
    differences = timed(
        "debtor file: validation pass (rcd_validate)",
        rcd.rcd_validate,
        content=built.content,
        layout=built.layout,
        cutoff=cutoff,
    )
    assert differences == [], differences
    (first,) = timed(
        "debtor file: generate, tie out and keep", regulatory_files_generate, kind="rcd", cutoff=cutoff, actor="bench"
    )
    (again,) = timed("debtor file: regenerate", regulatory_files_generate, kind="rcd", cutoff=cutoff, actor="bench")
    timed("Anexo 5: summary, CSV and PDF", regulatory_files_generate, kind="anexo5", cutoff=cutoff, actor="bench")
    print("summary")
    print(
        f"  {first.record_counts['debtors']:,} debtors, {first.record_counts['balances']:,} balance records, "
        f"{first.size:,} bytes; regenerated identical: {again.sha256 == first.sha256}; "
        f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )


if __name__ == "__main__":
    main()
