"""Test set-up: real PostgreSQL and Redis (see README "Tests"), and a few named personas."""

from __future__ import annotations

import os

import pytest

# The suite runs against PostgreSQL; settings read DATABASE_URL (set by `make test`).
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/asmcredit")


@pytest.fixture(autouse=True)
def _test_settings(settings):  # type: ignore[no-untyped-def]
    settings.AXES_ENABLED = False  # the lockout test turns it back on
    # With DEBUG off the settings use whitenoise's manifest storage, which needs `collectstatic`;
    # the tests serve the source files as they are.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _services_speak_english():  # type: ignore[no-untyped-def]
    """Services called directly speak the source language (the msgids), whatever language the web
    request of an earlier test left active in the thread; a request still speaks its own language."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _tasks_in_process():  # type: ignore[no-untyped-def]
    """Tasks queued by services run in-process unless a test starts a real worker (those tests turn
    this off and mark themselves ``worker``)."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


def _user(django_user_model, username: str, role: str | None):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username=username, password="correct-horse-battery-9")
    if role:
        # get_or_create: a transactional test's flush empties the groups the migration made.
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    return user


@pytest.fixture
def officer(django_user_model):  # type: ignore[no-untyped-def]
    return _user(django_user_model, "olga.officer", "loan_officer")


@pytest.fixture
def approver(django_user_model):  # type: ignore[no-untyped-def]
    return _user(django_user_model, "arturo.approver", "credit_approver")


@pytest.fixture
def analyst(django_user_model):  # type: ignore[no-untyped-def]
    return _user(django_user_model, "nadia.ngo", "ngo_analyst")


@pytest.fixture
def admin_user(django_user_model):  # type: ignore[no-untyped-def]
    """The lender's administrator: also the Django admin (pytest-django's ``admin_client`` uses her)."""
    user = _user(django_user_model, "lucia.admin", "lender_admin")
    user.is_staff = user.is_superuser = True
    user.save(update_fields=["is_staff", "is_superuser"])
    return user
