"""Load benchmark for the buyer API: posting one settlement with a withholding, and a bulk of 1,000.

Loopback only, bounded: it creates its own data in the database named by DATABASE_URL (use a scratch
one), starts gunicorn with 2 workers on 127.0.0.1, drives it at a fixed request rate from a thread pool
(open loop: a request is sent on schedule whether or not earlier ones have answered, so queueing shows
up in the latencies), then posts one bulk request of 1,000 settlements, prints the figures and stops
gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/asm_h4 SECRET_KEY=x DEBUG=false \\
    ALLOWED_HOSTS=localhost,127.0.0.1 .venv/bin/python bench/api_load.py --rate 100 --seconds 30

Targets (issue #4): p99 under 100 ms at 100 requests/s; bulk of 1,000 under 3 s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "asmcredit.settings")


def setup(miners: int) -> tuple[str, list[int]]:
    """A buyer with ``miners`` suppliers, each with an active loan one installment overdue; its API key."""
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from buyers.models import Buyer, SupplierRelationship
    from buyers.services import api_key_issue
    from loans.models import LoanProduct
    from loans.services import application_approve, application_create, application_submit, loan_disburse
    from miners.identity import ruc_check_digit
    from miners.models import Miner

    call_command("migrate", verbosity=0)
    tag = uuid.uuid4().int % 10**6
    officer = User.objects.create_user(f"bench.officer.{tag}")
    officer.groups.add(Group.objects.get(name="loan_officer"))
    approver = User.objects.create_user(f"bench.approver.{tag}")
    approver.groups.add(Group.objects.get(name="credit_approver"))
    body = f"20{70000000 + tag:08d}"
    buyer = Buyer.objects.create(ruc=body + str(ruc_check_digit(body)), name=f"Bench buyer {tag}", region="04")
    product = LoanProduct.objects.create(
        code=f"bench-{tag}",
        name="Bench",
        purpose="working_capital",
        currency="PEN",
        tea_pct=40,
        max_tea_pct=60,
        min_amount=1000,
        max_amount=100000,
        min_term=3,
        max_term=36,
        requires_reinfo=False,
    )
    start = timezone.localdate() - dt.timedelta(days=45)
    ids = []
    for n in range(miners):
        miner = Miner.objects.create(
            first_names="Bench",
            last_names=f"Minero {n}",
            document_number=f"{(tag * 1000 + n) % 10**8:08d}",
            gender="M",
            ubigeo="040112",
        )
        SupplierRelationship.objects.create(buyer=buyer, miner=miner, since=dt.date(2023, 1, 1))
        application = application_create(
            miner=miner,
            product=product,
            amount=Decimal("10000"),
            term=12,
            disbursement_date=start,
            first_due_on=start + dt.timedelta(days=30),
            prepared_by=officer,
            withholding_buyer=buyer,
        )
        application_submit(application=application, actor=officer, underwriting={})
        application_approve(application=application, approver=approver)
        loan_disburse(application=application, actor=officer, disbursed_on=start)
        ids.append(miner.pk)
    raw, _ = api_key_issue(buyer=buyer, name="bench")
    return raw, ids


def settlement(miner: int, lot: str) -> dict[str, object]:
    return {
        "miner": miner,
        "lot_code": lot,
        "settled_on": dt.date.today().isoformat(),
        "currency": "USD",
        "exchange_rate": "3.75",
        "wet_tonnes": "1.5",
        "moisture_pct": "8",
        "grade_oz_tc": "0.5",
        "recovery": "0.84",
        "gold_price_usd_oz": "3322.10",
        "commercial_deduction_usd_oz": "80",
        "maquila_usd_tc": "110",
        "reagents_usd_tms": "30.26",
        "freight_usd_tms": "22",
    }


def post(url: str, key: str, body: object, timeout: float = 60) -> tuple[int, float]:
    data = json.dumps(body).encode()
    request = urllib.request.Request(  # noqa: S310 - loopback http only
        url,
        data=data,
        method="POST",
        headers={"Authorization": f"Api-Key {key}", "Content-Type": "application/json"},
    )
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, time.perf_counter() - started


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=100, help="requests per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--miners", type=int, default=50)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    key, miners = setup(args.miners)
    env = {**os.environ, "API_THROTTLE_RATE": "1000000/min", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "asmcredit.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "--timeout",
            "120",
        ],
        cwd=ROOT,
        env=env,
    )
    base = f"http://127.0.0.1:{args.port}/api/v1"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        # Warm both workers (imports, connections) before measuring.
        for n in range(20):
            post(f"{base}/settlements/", key, settlement(miners[n % len(miners)], f"W-{uuid.uuid4().hex[:10]}"))

        total = int(args.rate * args.seconds)
        latencies: list[float] = []
        statuses: dict[int, int] = {}
        lock = threading.Lock()

        def one(n: int) -> None:
            status, seconds = post(
                f"{base}/settlements/", key, settlement(miners[n % len(miners)], f"B-{uuid.uuid4().hex[:12]}")
            )
            with lock:
                latencies.append(seconds)
                statuses[status] = statuses.get(status, 0) + 1

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=64) as pool:
            for n in range(total):
                # Open loop: request n is due at n / rate seconds.
                delay = started + n / args.rate - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
                pool.submit(one, n)
        elapsed = time.perf_counter() - started

        rows = [settlement(miners[n % len(miners)], f"K-{uuid.uuid4().hex[:12]}") for n in range(1000)]
        bulk_status, bulk_seconds = post(f"{base}/settlements/bulk/", key, {"rows": rows}, timeout=120)

        print(f"single settlement POST with withholding, {args.workers} gunicorn workers, {args.miners} miners")
        print(f"  offered {args.rate:.0f} req/s for {args.seconds:.0f} s: {len(latencies)} requests in {elapsed:.1f} s")
        print(f"  statuses: {statuses}")
        print(
            f"  median {statistics.median(latencies) * 1000:.1f} ms, p90 {percentile(latencies, 90) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )
        print(f"bulk of 1,000 settlements: HTTP {bulk_status} in {bulk_seconds:.2f} s")
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
