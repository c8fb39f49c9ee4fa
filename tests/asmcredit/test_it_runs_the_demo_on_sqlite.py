"""`make demo` runs on SQLite with tasks in-process: migrate, seed and rate there, in a subprocess, and
check the book reads the same as on PostgreSQL (SQLite keeps decimals as floats, so residues of a
céntimo's fraction must not make a paid installment look unpaid)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
from installments.models import LoanRating
from loans.models import Loan
ratings = LoanRating.objects.filter(as_of='2026-11-20')
late = Loan.objects.filter(days_past_due__gt=30, status='active')  # the written-off loan is out of the book
assert late.count() == 1, list(Loan.objects.values_list('code', 'days_past_due'))
# The refinanced loan is CPP at best (DOMAIN.md §7); the others are Normal.
refinanced = Loan.objects.get(is_refinanced=True)
assert ratings.get(loan=refinanced).category == 'cpp'
assert set(ratings.exclude(loan__in=late).exclude(loan=refinanced).values_list('category', flat=True)) == {
    'normal'}, list(ratings.values_list('loan__code', 'days_past_due', 'category'))
print('demo-ok', ratings.count())
"""


@pytest.mark.slow
def test_it_seeds_and_rates_the_demo_book_on_sqlite(tmp_path: Path) -> None:
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
    assert "Demo-Andes-2025" in manage("seed_demo", "--today", "2026-11-20")
    assert "demo-ok" in manage("shell", "-c", CHECK)
