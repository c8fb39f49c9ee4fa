"""`manage.py check --deploy` with production settings reports only the two TLS settings that the
README explains (TLS is terminated by the reverse proxy)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_it_reports_only_the_tls_settings_the_readme_explains() -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "CELERY_BROKER_URL"}}
    env.update(
        DEBUG="false",
        SECRET_KEY="a-production-like-secret-key-with-enough-entropy-0123456789-abcdefghij",
        ALLOWED_HOSTS="credito.example.pe",
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/postgres",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/0",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = result.stdout + result.stderr
    reported = sorted({word.strip("():") for word in output.split() if word.startswith("(security.")})
    assert reported == ["security.W004", "security.W008"], output
    readme = (ROOT / "README.md").read_text()
    assert "W004" in readme and "W008" in readme
