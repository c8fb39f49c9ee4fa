"""The demo's SQLite has no ``unaccent``, no trigram index and no triggers keeping the dashboard's totals:
there names are folded in Python (``miners.search.asm_fold``) and the dashboard reads the book itself.
Seeded like ``make demo``, in a subprocess: "huaman" finds the Huamáns, the lists filter, page and export,
and the dashboard states the same book as the loans do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import csv, io, datetime as dt
from unittest import mock
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django.test.utils import override_settings
from loans.models import Loan
from miners.models import Miner
from miners.search import miner_search
from reports.selectors import portfolio_current

huamans = {m.pk for m in Miner.objects.all() if 'huamán' in (m.last_names + ' ' + m.first_names).lower()}
assert huamans, 'the demo has miners named Huamán'
for query in ('huaman', 'HUAMAN', 'Huamán'):
    found = set(miner_search(Miner.objects.all(), query, by_document=True).values_list('pk', flat=True))
    assert found == huamans, (query, found, huamans)

plain = {**settings.STORAGES, 'staticfiles': {'BACKEND': 'django.contrib.staticfiles.storage.StaticFilesStorage'}}
with override_settings(STORAGES=plain, AXES_ENABLED=False, ALLOWED_HOSTS=['testserver']), mock.patch(
    'django.utils.timezone.localdate', lambda *a, **k: dt.date(2026, 11, 20)
):
    client = Client()
    client.force_login(User.objects.get(username='admin'))
    page = client.get('/miners/?q=huaman').content.decode()
    assert all(Miner.objects.get(pk=pk).first_names in page for pk in huamans)
    for url in ('/', '/loans/?category=normal', '/loans/applications/?status=disbursed', '/buyers/?region=04'):
        response = client.get(url)
        assert response.status_code == 200, url
    download = client.get('/miners/?q=huaman&format=csv')
    rows = list(csv.reader(io.StringIO(b''.join(download.streaming_content).decode('utf-8-sig'))))
    assert len(rows) == len(huamans) + 1, rows

    current = portfolio_current(as_of=dt.date(2026, 11, 20))
    active = [loan for loan in Loan.objects.all() if loan.status == 'active' and loan.outstanding_principal > 0]
    assert current.active_loans == len(active) > 0
print('lists-ok')
"""


@pytest.mark.slow
def test_it_searches_filters_and_exports_on_the_demo_sqlite(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "SECRET_KEY"}}
    env.update(DEBUG="true", DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", LOG_LEVEL="WARNING")

    def manage(*args: str) -> str:
        result = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
        return result.stdout

    manage("migrate", "--noinput", "-v0")
    manage("seed_demo", "--today", "2026-11-20")
    assert "lists-ok" in manage("shell", "-c", CHECK)
