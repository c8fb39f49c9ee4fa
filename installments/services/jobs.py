"""The portfolio jobs: reconciliation, moratory accrual, rating and the nightly run.

Each is set-based SQL over the whole book (``installments.batch``)."""

from __future__ import annotations

import datetime as dt

from asmcredit.models import JobRun
from installments import batch

# --- Portfolio jobs ------------------------------------------------------------------------------------


def reconcile_remittances(
    *, as_of: dt.date, buyer_ids: list[int] | None = None, task_id: str = "", batch_size: int = 200
) -> JobRun:
    """Match unmatched remittance money to open withholdings (oldest first) and raise or close
    exceptions, over the whole portfolio in set-based SQL (see ``installments.batch``)."""
    return batch.run_reconciliation(as_of=as_of, buyer_ids=buyer_ids, task_id=task_id, batch_size=batch_size)


def moratory_accrue(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000) -> JobRun:
    """Extend moratory interest, overdue status and the loans' cached state to ``as_of`` (set-based)."""
    return batch.run_accrual(as_of=as_of, task_id=task_id, batch_size=batch_size)


def portfolio_rate(*, as_of: dt.date, task_id: str = "", batch_size: int = 20000, pause_seconds: float = 0) -> JobRun:
    """Rate every active loan as of ``as_of`` (SBS category, alignment, provisions, early warnings) and
    store the portfolio totals (set-based; see ``installments.batch``)."""
    return batch.run_rating(as_of=as_of, task_id=task_id, batch_size=batch_size, pause_seconds=pause_seconds)


def nightly_servicing(*, as_of: dt.date, task_id: str = "") -> JobRun:
    """The nightly run: moratory accrual, then the rating, as of ``as_of`` (today in Lima)."""
    return batch.run_nightly(as_of=as_of, task_id=task_id)
