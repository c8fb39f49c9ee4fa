"""Load benchmark for the buyer API: posting one settlement with a withholding, and a bulk of 1,000.

Loopback only, bounded: it creates its own data in the database named by DATABASE_URL (use a scratch
one), starts gunicorn with 2 sync workers on 127.0.0.1, drives it at a fixed request rate from an asyncio
loop with every request built beforehand (open loop: a request is sent on schedule whether or not earlier
ones have answered, so queueing shows up in the latencies; the generator itself costs well under a
millisecond of CPU per request, and it shares the machine's cores with gunicorn and PostgreSQL), then
posts one bulk request of 1,000 settlements, prints the figures and stops gunicorn. It also prints the
CPU gunicorn spent per request, which moves with the machine: on the 2-core VM the same build measured
from 9 to 12 ms from one run to the next, and the p99 follows it.

Two scenarios. ``arrears`` (the default): every loan is a year in arrears and the lots are small, so every
settlement really withholds (30% of its payable) and each loan's log grows by one withholding per post, as
for a miner who sells every few days. ``fresh``: one installment overdue and bigger lots, so after a
miner's first settlement or two there is nothing left to withhold until the next due date (the loans are
still locked and replayed). The output says how many responses carried a withholding, and the load
average of the machine (the figures are only comparable on an otherwise idle machine). With
``--idempotency-keys`` each POST carries its own Idempotency-Key, as an integration that retries should.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/asm_h7 SECRET_KEY=x DEBUG=false \\
    ALLOWED_HOSTS=localhost,127.0.0.1 .venv/bin/python bench/api_load.py --rate 100 --seconds 30

Targets (issue #4): p99 under 100 ms at 100 requests/s; bulk of 1,000 under 3 s.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import urllib.request
import uuid
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


SCENARIOS = {
    # loan amount, days since disbursement, wet tonnes per lot
    "arrears": (Decimal("30000"), 400, "0.25"),
    "fresh": (Decimal("10000"), 45, "1.5"),
}


def setup(miners: int, scenario: str = "arrears") -> tuple[str, list[int]]:
    """A buyer with ``miners`` suppliers, each with an active loan (a year in arrears, or one installment
    overdue for ``fresh``); its API key."""
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.utils import timezone

    from buyers.models import Buyer, SupplierRelationship
    from buyers.services import api_key_issue
    from installments.services import loan_disburse
    from loans.models import LoanApplication, LoanProduct
    from loans.services import application_approve, application_create, application_submit
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
    amount, days, _tonnes = SCENARIOS[scenario]
    start = timezone.localdate() - dt.timedelta(days=days)
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
            amount=amount,
            term=12,
            disbursement_date=start,
            first_due_on=start + dt.timedelta(days=30),
            prepared_by=officer,
            withholding_buyer=buyer,
        )
        application_submit(application=application, actor=officer, underwriting={})
        application_approve(application=application, approver=approver)
        # Approved on the day it is paid out: a disbursement may not precede its approval.
        LoanApplication.objects.filter(pk=application.pk).update(
            decided_at=timezone.make_aware(dt.datetime.combine(start, dt.time(9)))
        )
        loan_disburse(application=application, actor=officer, disbursed_on=start)
        ids.append(miner.pk)
    raw, _ = api_key_issue(buyer=buyer, name="bench")
    return raw, ids


def settlement(miner: int, lot: str, wet_tonnes: str = "1.5") -> dict[str, object]:
    return {
        "miner": miner,
        "lot_code": lot,
        "settled_on": dt.date.today().isoformat(),
        "currency": "USD",
        "exchange_rate": "3.75",
        "wet_tonnes": wet_tonnes,
        "moisture_pct": "8",
        "grade_oz_tc": "0.5",
        "recovery": "0.84",
        "gold_price_usd_oz": "3322.10",
        "commercial_deduction_usd_oz": "80",
        "maquila_usd_tc": "110",
        "reagents_usd_tms": "30.26",
        "freight_usd_tms": "22",
    }


def http_request(port: int, path: str, key: str, body: object, idempotency_key: str | None = None) -> bytes:
    """A whole HTTP/1.1 POST, built before the run so the load generator spends its time sending."""
    data = json.dumps(body).encode()
    headers = [
        f"POST {path} HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Authorization: Api-Key {key}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
    ]
    if idempotency_key:
        headers.append(f"Idempotency-Key: {idempotency_key}")
    return ("\r\n".join(headers) + "\r\n\r\n").encode() + data


async def send(port: int, request: bytes) -> tuple[int, float, bytes]:
    started = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(request)
        response = await reader.read()  # the server closes the connection after the answer
        writer.close()
    except OSError:
        return 0, time.perf_counter() - started, b""
    seconds = time.perf_counter() - started
    head, _, content = response.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return status, seconds, content


async def open_loop(port: int, requests: list[bytes], rate: float) -> list[tuple[int, float, bytes]]:
    """Send request n at n / rate seconds whether or not earlier ones have been answered (open loop: a slow
    server shows up as queueing in the latencies, as it would for buyers' systems)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    tasks = []
    for n, request in enumerate(requests):
        delay = started + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(port, request)))
    return await asyncio.gather(*tasks)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of a process and its children that are still running (gunicorn's workers)."""
    pids = [pid, *(int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
    return sum(_process_cpu(each) for each in pids)


def postgres_cpu_seconds() -> float:
    """CPU of every PostgreSQL process on the machine (backends and background workers); 0 where it
    runs elsewhere. Other databases' activity counts too: run on an otherwise idle server."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().startswith("postgres"):
                    total += _process_cpu(int(entry.name))
            except OSError:
                continue  # ended meanwhile
    return total


def _process_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def withheld(content: bytes) -> bool:
    try:
        return Decimal(json.loads(content)["withholding"]["amount"]) > 0
    except (ValueError, KeyError, TypeError):
        return False


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


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
    parser.add_argument("--threads", type=int, default=1, help="gunicorn threads per worker (gthread when > 1)")
    parser.add_argument("--scenario", choices=sorted(SCENARIOS), default="arrears")
    parser.add_argument("--idempotency-keys", action="store_true", help="send an Idempotency-Key with each POST")
    parser.add_argument("--bulk", type=int, default=1000, help="rows in the bulk request (0: none)")
    args = parser.parse_args()

    key, miners = setup(args.miners, args.scenario)
    tonnes = SCENARIOS[args.scenario][2]
    env = {**os.environ, "API_THROTTLE_RATE": "1000000/min", "LOG_LEVEL": "WARNING"}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi",
            "-w",
            str(args.workers),
            "--threads",
            str(args.threads),
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
    path = "/api/v1/settlements/"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{args.port}/healthz", timeout=1).read()  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        # Warm both workers (imports, connections) before measuring.
        lots = [settlement(miners[n % len(miners)], f"W-{uuid.uuid4().hex[:10]}", tonnes) for n in range(20)]
        warm = [http_request(args.port, path, key, lot) for lot in lots]
        asyncio.run(open_loop(args.port, warm, rate=10))

        total = int(args.rate * args.seconds)
        requests = [
            http_request(
                args.port,
                path,
                key,
                settlement(miners[n % len(miners)], f"B-{uuid.uuid4().hex[:12]}", tonnes),
                idempotency_key=uuid.uuid4().hex if args.idempotency_keys else None,
            )
            for n in range(total)
        ]
        load_before = load_average()
        cpu_before, postgres_before = cpu_seconds(server.pid), postgres_cpu_seconds()
        started = time.perf_counter()
        results = asyncio.run(open_loop(args.port, requests, args.rate))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server.pid) - cpu_before
        postgres_cpu = postgres_cpu_seconds() - postgres_before
        load_after = load_average()
        latencies = [seconds for _status, seconds, _content in results]
        statuses: dict[int, int] = {}
        for status, _seconds, _content in results:
            statuses[status] = statuses.get(status, 0) + 1
        with_withholding = sum(withheld(content) for _status, _seconds, content in results)

        bulk_status, bulk_seconds, bulk_withheld = 0, 0.0, 0
        if args.bulk:
            rows = [settlement(miners[n % len(miners)], f"K-{uuid.uuid4().hex[:12]}", tonnes) for n in range(args.bulk)]
            bulk = http_request(args.port, f"{path}bulk/", key, {"rows": rows})
            bulk_status, bulk_seconds, content = asyncio.run(send(args.port, bulk))
            if bulk_status == 201:
                bulk_withheld = sum(Decimal(s["withholding"]["amount"]) > 0 for s in json.loads(content)["settlements"])

        print(
            f"single settlement POST, scenario {args.scenario}, {args.workers} gunicorn workers, {args.miners} miners"
        )
        print(f"  offered {args.rate:.0f} req/s for {args.seconds:.0f} s: {len(latencies)} requests in {elapsed:.1f} s")
        print(f"  statuses: {statuses}; {with_withholding} responses withheld something")
        print(f"  load average before {load_before}, after {load_after} (1, 5, 15 min; {os.cpu_count()} CPUs)")
        print(
            f"  CPU per request: gunicorn {server_cpu / len(results) * 1000:.1f} ms, "
            f"PostgreSQL {postgres_cpu / len(results) * 1000:.1f} ms"
            f"{' (with an Idempotency-Key each)' if args.idempotency_keys else ''}"
        )
        print(
            f"  median {statistics.median(latencies) * 1000:.1f} ms, p90 {percentile(latencies, 90) * 1000:.1f} ms, "
            f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
        )
        if args.bulk:
            print(
                f"bulk of {args.bulk:,} settlements: HTTP {bulk_status} in {bulk_seconds:.2f} s "
                f"({bulk_withheld} withheld something)"
            )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
