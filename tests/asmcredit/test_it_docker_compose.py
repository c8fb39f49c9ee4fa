"""docker-compose.yml cannot be run here (no Docker engine), so it is checked by reading it."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_VARIABLES = {
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "TIME_ZONE",
}


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_it_defines_the_five_services() -> None:
    assert set(_compose()["services"]) >= {"postgres", "redis", "web", "worker", "beat"}


def test_it_serves_the_web_app_with_gunicorn() -> None:
    web = _compose()["services"]["web"]
    assert "gunicorn config.wsgi:application" in web["command"]


def test_it_runs_celery_worker_and_beat_on_our_app() -> None:
    services = _compose()["services"]
    assert services["worker"]["command"].startswith("celery -A config worker")
    assert services["beat"]["command"].startswith("celery -A config beat")


def test_it_gives_web_worker_and_beat_the_same_settings_variables() -> None:
    services = _compose()["services"]
    environments = [services[name]["environment"] for name in ("web", "worker", "beat")]
    assert environments[0] == environments[1] == environments[2]
    assert set(environments[0]) >= SETTINGS_VARIABLES


def test_it_points_the_app_at_the_compose_postgres_and_redis() -> None:
    env = _compose()["services"]["web"]["environment"]
    assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in env["DATABASE_URL"]
    assert env["CELERY_BROKER_URL"].startswith("redis://redis:6379")
    assert env["DEBUG"] == "false"


def test_it_reads_only_variables_that_settings_reads() -> None:
    settings_source = (ROOT / "config" / "settings.py").read_text()
    for name in _compose()["services"]["web"]["environment"]:
        assert f'"{name}"' in settings_source, f"{name} is set in docker-compose.yml but settings never read it"
