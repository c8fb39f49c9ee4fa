"""Officer pages on the national-scale book: server time (median of 3 warm requests) and query count.

    .venv/bin/python bench/pages.py            # reuse asm_bench, as bench/portfolio.py left it
    .venv/bin/python bench/pages.py --build    # build it first: bench/portfolio.py --loans 150000 (drops it!)

The book is bench/portfolio.py's (DOMAIN.md §11: 300,000 miners, 150,000 loans, 15.6 million
settlements, 1,000 buyers). This script applies the pending migrations to it, brings the dashboard's
running totals up to date (``portfolio_tally --rebuild``: bench/portfolio.py loads its rows with triggers
off, ``session_replication_role = replica``), creates the staff user it signs in as (an admin, who
sees every queue on the dashboard and every document number) and then requests each
officer page through Django's test client, in process, against that database: one request to warm up,
then three timed. "Server time" is the test client's round trip — URL resolution, middleware, the view,
its queries and the template — without a network or a WSGI server. The day the pages are seen is the
book's own (``--as-of``, default the latest withholding date), as the tests pin it.

Target (issue #16): every page under 100 ms median, with a query count that does not grow with the book.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlencode, urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET_MS = 100
RUNS = 3
PAGE = 500  # "page 500" of a list: the rows after the first 499 pages of 25


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", default="asm_bench")
    parser.add_argument("--build", action="store_true", help="run bench/portfolio.py first (drops the database)")
    parser.add_argument("--as-of", default=None, help="the day the pages are seen (default: the book's latest)")
    parser.add_argument("--only", default="", help="only the pages whose label contains this text")
    parser.add_argument("--explain", action="store_true", help="print EXPLAIN ANALYZE of each page's slowest query")
    return parser.parse_args()


def database_url(name: str) -> str:
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/asmcredit")
    return urlunparse(urlparse(base)._replace(path=f"/{name}"))


def setup(args: argparse.Namespace) -> None:
    if args.build:
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "portfolio.py"), "--database", args.database], check=True, cwd=ROOT
        )
    os.environ["DATABASE_URL"] = database_url(args.database)
    os.environ.setdefault("SECRET_KEY", "bench-only")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "localhost,testserver")
    os.environ["DEBUG"] = "false"
    import django

    django.setup()
    from django.core.management import call_command

    from installments.tally import tally_rebuild

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"migrations applied in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    corrected = tally_rebuild()
    print(f"running totals rebuilt in {time.perf_counter() - started:.1f} s ({corrected} corrected)", flush=True)
    call_command("portfolio_tally", verbosity=0, stdout=open(os.devnull, "w"))  # noqa: SIM115 - compact
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def staff(username: str, role: str) -> Any:
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username=username, defaults={"first_name": "Bench", "last_name": role})
    user.groups.add(Group.objects.get(name=role))
    return user


def urls(as_of: dt.date) -> list[tuple[str, str]]:
    """Every officer page, with the rows it needs picked from the book."""
    from django.urls import reverse

    from asmcredit.web import page_after
    from buyers.models import Buyer
    from loans.models import Loan, LoanApplication, LoanProduct
    from miners.models import Miner

    loan = Loan.objects.filter(days_past_due__gt=0).order_by("id").first() or Loan.objects.order_by("id").first()
    assert loan is not None, "the database has no loans: build it with --build"
    miner, buyer, application = loan.miner, loan.withholding_buyer, loan.application
    product = LoanProduct.objects.order_by("id").first()
    officer = application.prepared_by
    assert buyer is not None and product is not None

    def deep(queryset: Any) -> str:
        row = queryset[(PAGE - 1) * 25 - 1]
        return urlencode({"after": page_after(queryset, row), "start": (PAGE - 1) * 25 + 1})

    miners = reverse("miners:list")
    loans = reverse("loans:list")
    applications = reverse("loans:applications")
    buyers = reverse("installments:buyers")
    active = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("-days_past_due", "-id")
    return [
        ("dashboard", reverse("dashboard")),
        ("miners list", miners),
        (f"miners list, page {PAGE}", f"{miners}?{deep(Miner.objects.order_by('last_names', 'first_names', 'pk'))}"),
        ("miner search by DNI", f"{miners}?q={miner.document_number}"),
        ("miner search by name, no accents", f"{miners}?q=huaman+nahui"),
        ("miner search by name, accents", f"{miners}?q=Huamán+Ñahui"),
        ("miner search, one common name", f"{miners}?q=quispe"),
        ("miners by region", f"{miners}?region=04"),
        ("miners by buyer", f"{miners}?buyer={buyer.pk}"),
        ("loans list", loans),
        (f"loans list, page {PAGE}", f"{loans}?{deep(active)}"),
        ("loans by buyer", f"{loans}?buyer={buyer.pk}"),
        ("loans by region", f"{loans}?region=04"),
        ("loans by product", f"{loans}?product={product.pk}"),
        ("loans by category (Deficiente)", f"{loans}?category=deficiente"),
        ("loans by officer", f"{loans}?officer={officer.pk}"),
        ("loans, all filters", f"{loans}?buyer={buyer.pk}&region=04&product={product.pk}&officer={officer.pk}&late=on"),
        ("loan search by number", f"{loans}?q={loan.code}"),
        ("loan search by borrower", f"{loans}?q=quispe+ramirez"),
        ("applications list", applications),
        (
            f"applications list, page {PAGE}",
            f"{applications}?{deep(LoanApplication.objects.order_by('-created', '-id'))}",
        ),
        ("applications by status", f"{applications}?status=disbursed"),
        ("applications by officer", f"{applications}?officer={officer.pk}"),
        ("applications by buyer", f"{applications}?buyer={buyer.pk}"),
        ("buyers list", buyers),
        ("buyers by region", f"{buyers}?region=04"),
        ("buyer search by RUC", f"{buyers}?q={Buyer.objects.order_by('-id').first().ruc}"),  # type: ignore[union-attr]
        ("loan detail", reverse("loans:detail", args=[loan.pk])),
        ("miner detail", reverse("miners:detail", args=[miner.pk])),
        ("buyer detail", reverse("installments:buyer-detail", args=[buyer.pk])),
        ("application detail", reverse("loans:application-detail", args=[application.pk])),
        ("remittances (treasury)", reverse("installments:remittances")),
        ("remittances by buyer", f"{reverse('installments:remittances')}?buyer={buyer.pk}"),
        ("reconciliation exceptions queue", reverse("installments:exceptions")),
        ("record a remittance, buyer chosen", f"{reverse('installments:remittance-new')}?buyer={buyer.pk}"),
        ("collections queue", reverse("lifecycle:collections")),
        ("collections queue, 90+ dpd", f"{reverse('lifecycle:collections')}?min_dpd=90"),
        ("loan collection file", reverse("lifecycle:loan-collection", args=[loan.pk])),
        ("payment reversals queue", reverse("lifecycle:reversals")),
        ("write-offs queue", reverse("lifecycle:write-offs")),
        ("portfolio report form", reverse("reports:portfolio")),
        ("payment page", reverse("installments:payment", args=[loan.pk])),
        ("loans by buyer, CSV", f"{loans}?buyer={buyer.pk}&format=csv"),
        ("loans by buyer, XLSX", f"{loans}?buyer={buyer.pk}&format=xlsx"),
        ("miners by buyer, CSV", f"{miners}?buyer={buyer.pk}&format=csv"),
    ]


def explain(queries: list[dict[str, Any]]) -> None:
    """The plan of the slowest query a page ran, as PostgreSQL executed it."""
    from django.db import connection

    slowest = max(queries, key=lambda query: float(query["time"]))
    if not slowest["sql"].lstrip().upper().startswith(("SELECT", "WITH")):
        return
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest["sql"])
        print("\n    " + "\n    ".join(row[0] for row in cursor.fetchall()) + "\n", flush=True)


def measure(client: Any, url: str, *, plan: bool = False) -> tuple[float, int, int]:
    """Median milliseconds of RUNS warm requests, the query count and the status."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get() -> Any:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
        return response

    get()  # warm: templates compiled, the database's pages cached
    times = []
    for _ in range(RUNS):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = get()
            times.append((time.perf_counter() - started) * 1000)
    if plan:
        explain(queries.captured_queries)
    return statistics.median(times), len(queries.captured_queries), response.status_code


def main() -> None:
    args = parse()
    setup(args)
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    if args.as_of:
        as_of = dt.date.fromisoformat(args.as_of)
    else:
        with connection.cursor() as cursor:
            cursor.execute("SELECT MAX(withheld_on) FROM installments_withholding")
            as_of = cursor.fetchone()[0] or dt.date.today()
    admin = staff("bench.admin", "lender_admin")
    # As the tests do: the static files as they are (no collectstatic manifest), no login lockout.
    plain = {**settings.STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with (
        override_settings(STORAGES=plain, AXES_ENABLED=False),
        mock.patch("django.utils.timezone.localdate", lambda *a, **k: as_of),
    ):
        pages = urls(as_of)
        client = Client()
        client.force_login(admin)
        print(f"\nOfficer pages on {args.database}, as of {as_of} (median of {RUNS} warm requests)\n", flush=True)
        print("| page | median ms | queries | status |")
        print("|---|---:|---:|---:|")
        slow = []
        for label, url in pages:
            if args.only not in label:
                continue
            median, queries, status = measure(client, url, plan=args.explain)
            flag = "" if median < TARGET_MS else " ⚠"
            print(f"| {label} | {median:,.1f}{flag} | {queries} | {status} |", flush=True)
            if median >= TARGET_MS or status != 200:
                slow.append(label)
    print(
        f"\n{len(pages) - len(slow)} of {len(pages)} pages under {TARGET_MS} ms"
        + (f"; over: {', '.join(slow)}" if slow else "")
    )


if __name__ == "__main__":
    main()
