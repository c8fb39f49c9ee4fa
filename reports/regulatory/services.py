"""Generating the SBS reports and keeping them (``RegulatoryFile``): by hand, by a background job with a
progress bar, or by ``manage.py regulatory_report``, all through ``regulatory_files_generate``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record
from asmcredit.jobs import job_finish, job_progress, job_start
from asmcredit.models import JobRun
from reports.regulatory.anexo5 import anexo5_generate
from reports.regulatory.fixed_width import LayoutError
from reports.regulatory.models import RegulatoryFile, ReportLayout
from reports.regulatory.rcd import AccountBalances, Generated, LoanAccountBalances, Progress, rcd_generate

REGULATORY_JOB = "regulatory_report"

# Who generates and downloads the SBS files: the accountant once that role exists, the approver and the
# lender admin meanwhile.
REGULATORY_ROLES: tuple[str, ...] = (
    *((roles.ACCOUNTANT,) if hasattr(roles, "ACCOUNTANT") else ()),
    roles.CREDIT_APPROVER,
    roles.LENDER_ADMIN,
)


def regulatory_generate(
    *,
    kind: str,
    cutoff: dt.date,
    lang: str = "es",
    account_balances: AccountBalances | None = None,
    loan_account_balances: LoanAccountBalances | None = None,
    progress: Progress | None = None,
) -> list[Generated]:
    """The files of ``kind`` for ``cutoff``, not kept: the tied debtor file, or Anexo 5's CSV and PDF."""
    if kind == ReportLayout.Kind.RCD:
        return [
            rcd_generate(
                cutoff=cutoff,
                account_balances=account_balances,
                loan_account_balances=loan_account_balances,
                progress=progress,
            )
        ]
    if kind == ReportLayout.Kind.ANEXO5:
        return anexo5_generate(cutoff=cutoff, lang=lang)
    raise ValueError(f"Unknown report {kind!r}")


def _keep(generated: Generated, *, actor: Any, actor_name: str, job: JobRun | None) -> RegulatoryFile:
    previous = (
        RegulatoryFile.objects.filter(kind=generated.kind, format=generated.fmt, cutoff=generated.cutoff)
        .order_by("-generated_at", "-id")
        .first()
    )
    kept = RegulatoryFile(
        kind=generated.kind,
        format=generated.fmt,
        cutoff=generated.cutoff,
        layout=generated.layout,
        layout_version=generated.layout.version,
        size=len(generated.content),
        sha256=generated.sha256,
        generated_by=actor if getattr(actor, "pk", None) else None,
        generated_by_name=actor_name[:150],
        record_counts=generated.record_counts,
        totals=generated.totals,
        previous=previous,
        same_as_previous=None if previous is None else previous.sha256 == generated.sha256,
        job=job,
    )
    name = f"{generated.kind}-{generated.cutoff:%Y%m%d}-{generated.sha256[:16]}.{generated.fmt}"
    kept.content.save(name, ContentFile(generated.content), save=False)
    kept.save()
    audit_record(
        actor=actor if getattr(actor, "pk", None) else actor_name,
        action="regulatory_file.generate",
        obj=kept,
        after={
            "kind": kept.kind,
            "format": kept.format,
            "cutoff": kept.cutoff,
            "layout_version": kept.layout_version,
            "sha256": kept.sha256,
            "same_as_previous": kept.same_as_previous,
        },
    )
    return kept


def regulatory_files_generate(
    *,
    kind: str,
    cutoff: dt.date,
    actor: Any,
    lang: str = "es",
    job: JobRun | None = None,
    account_balances: AccountBalances | None = None,
    loan_account_balances: LoanAccountBalances | None = None,
    progress: Progress | None = None,
) -> list[RegulatoryFile]:
    """Generate and keep the files of ``kind`` for ``cutoff``; each names the previous file of the same
    cut-off and whether its bytes are identical. A debtor file that does not tie raises
    ``rcd.TieOutError`` and nothing is kept. ``actor`` is a user, or a label for a command."""
    if getattr(actor, "pk", None) and not roles.has_role(actor, *REGULATORY_ROLES):
        raise PermissionDenied(_("Your role cannot generate regulatory reports."))
    actor_name = actor.get_username() if getattr(actor, "pk", None) else str(actor)
    with transaction.atomic():  # one snapshot of the book for the file and its tie-out
        generated = regulatory_generate(
            kind=kind,
            cutoff=cutoff,
            lang=lang,
            account_balances=account_balances,
            loan_account_balances=loan_account_balances,
            progress=progress,
        )
        return [_keep(one, actor=actor, actor_name=actor_name, job=job) for one in generated]


def regulatory_job_start(*, actor: Any, kind: str, cutoff: dt.date) -> JobRun:
    """Record a generation job and queue it, through the outbox, with the record."""
    from asmcredit.outbox import outbox_enqueue

    if not roles.has_role(actor, *REGULATORY_ROLES):
        raise PermissionDenied(_("Your role cannot generate regulatory reports."))
    params = {"kind": kind, "cutoff": cutoff.isoformat(), "actor_id": actor.pk}
    with transaction.atomic():
        job = job_start(name=REGULATORY_JOB, as_of=cutoff, detail={"params": params, "requested_by": actor.pk})
        audit_record(actor=actor, action="regulatory_file.request", obj=job, after=params)
        outbox_enqueue("reports.tasks.regulatory_report", job.pk, params)
    return job


# What refuses a file (no rating that day, no layout or exchange rate, a tie-out difference).
REFUSALS = (ValidationError, LookupError, LayoutError)


def _fail(job_run_id: int, error: str) -> JobRun:
    JobRun.objects.filter(pk=job_run_id).update(
        status=JobRun.Status.FAILED, error=error[:4000], finished_at=timezone.now()
    )
    return JobRun.objects.get(pk=job_run_id)


def regulatory_job_run(*, job_run_id: int, kind: str, cutoff: str, actor_id: int | None = None) -> JobRun:
    """The job's work: generate and keep; a refusal (no rating that day, a tie-out difference) fails the
    job with the reason the page shows."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    job_progress(job_run_id, 2)
    try:
        files = regulatory_files_generate(
            kind=kind,
            cutoff=dt.date.fromisoformat(cutoff),
            actor=actor or f"job:{REGULATORY_JOB}",
            job=JobRun.objects.get(pk=job_run_id),
            progress=lambda percent: job_progress(job_run_id, max(2, percent)),
        )
    except REFUSALS as exc:  # a reason for the person who asked, not a crash: the job ends failed
        return _fail(job_run_id, str(exc))
    except Exception as exc:
        _fail(job_run_id, f"{type(exc).__name__}: {exc}")
        raise
    return job_finish(
        JobRun.objects.get(pk=job_run_id),
        ok=True,
        detail={"files": [kept.pk for kept in files]},
        rows_touched=int(files[0].record_counts.get("debtors", files[0].record_counts.get("loans", 0))),
    )
