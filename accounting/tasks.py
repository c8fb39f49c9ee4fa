"""Celery tasks of the nightly close: thin, they take dates and ids and call ``accounting.close``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db import OperationalError
from django.utils import timezone


def _day(as_of: str | None) -> dt.date:
    return dt.date.fromisoformat(as_of) if as_of else timezone.localdate()


@shared_task(name="accounting.tasks.nightly_close")
def nightly_close(as_of: str | None = None, batch_size: int | None = None) -> int:
    from accounting.close import nightly_close_start

    return nightly_close_start(as_of=_day(as_of), batch_size=batch_size or settings.ACCOUNTING_BATCH_SIZE).pk


# A batch that fails (a lost connection, a deadlock) is retried alone; the others keep what they did.
@shared_task(
    acks_late=True,
    name="accounting.tasks.accrue_batch",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def accrue_batch(as_of: str, low: int, high: int, step_id: int) -> int:
    from accounting.close import accrue_batch as run_batch

    return run_batch(as_of=_day(as_of), low=low, high=high, step_id=step_id)


@shared_task(
    acks_late=True,
    name="accounting.tasks.rate_batch",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def rate_batch(as_of: str, low: int, high: int, step_id: int) -> int:
    from accounting.close import rate_batch as run_batch

    return run_batch(as_of=_day(as_of), low=low, high=high, step_id=step_id)


@shared_task(acks_late=True, name="accounting.tasks.close_next")
def close_next(as_of: str, close_id: int, stage: str) -> None:
    from accounting.close import close_next as run_next

    run_next(as_of=_day(as_of), close_id=close_id, stage=stage)


@shared_task(
    bind=True,
    acks_late=True,
    name="accounting.tasks.post_batch",
    autoretry_for=(OperationalError,),
    retry_backoff=5,
    max_retries=3,
)
def post_batch(  # noqa: ARG001 - bound for the retries
    self: Any, as_of: str, loan_ids: list[int], close_id: int, index: int, since: dict[str, Any] | None = None
) -> int:
    from accounting.close import post_batch as run_batch

    return run_batch(as_of=_day(as_of), loan_ids=loan_ids, close_id=close_id, index=index, since=since)


@shared_task(acks_late=True, name="accounting.tasks.finish_close")
def finish_close(batch_entries: list[Any], as_of: str, close_id: int) -> int:
    from accounting.close import finish_close as run_finish

    return run_finish(as_of=_day(as_of), close_id=close_id, batch_entries=batch_entries).pk


@shared_task(name="accounting.tasks.close_failed")
def close_failed(close_id: int) -> None:
    from accounting.close import close_fail

    close_fail(close_id=close_id)
