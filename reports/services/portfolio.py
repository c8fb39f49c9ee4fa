"""The portfolio and impact report: its charts, PDF, tables and CSV, and the background job that builds it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from asmcredit.exports import csv_text
from asmcredit.fields import CURRENCY_SYMBOL
from asmcredit.jobs import job_finish, job_progress, job_start
from asmcredit.models import JobRun
from asmcredit.money import ZERO
from miners.identity import DEPARTMENTS
from reports import charts, pdf
from reports.selectors import BreakdownRow, PortfolioSummary, _ratio, portfolio_summary

PORTFOLIO_JOB = "portfolio_report"
REPORTS_DIR = "reports"


# A chart stays readable with this many bars; the CSV export lists every group.
CHART_GROUPS = 15


def _largest(rows: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple(sorted(rows, key=lambda row: row.outstanding, reverse=True)[:CHART_GROUPS])


def portfolio_charts(summary: PortfolioSummary) -> dict[str, str]:
    """The report's charts as inline SVG, titled in the active language."""
    symbol = CURRENCY_SYMBOL.get(summary.currency, summary.currency)
    drawn = {
        "categories": charts.category_stack(summary.categories, title=_("Portfolio by SBS category")),
        "region": charts.breakdown_bar(
            _largest(summary.by_region), title=_("Outstanding by region"), currency_symbol=symbol
        )
        if summary.by_region
        else "",
        "buyer": charts.breakdown_bar(
            _largest(summary.by_buyer), title=_("Outstanding by buyer"), currency_symbol=symbol
        )
        if summary.by_buyer
        else "",
        "months": charts.months_line(summary.months, title=_("Disbursed, withheld and remitted per month"))
        if summary.months
        else "",
        "equipment": charts.equipment_bar(
            [str(row.label) for row in summary.equipment],
            [row.amount for row in summary.equipment],
            title=_("Equipment financed (%(symbol)s)") % {"symbol": symbol},
        )
        if len(summary.equipment) > 1
        else "",
    }
    return drawn


# A breakdown longer than this (a thousand buyers) lists its largest groups by outstanding in the PDF,
# with the rest summed in one "others" row; the summary, the API and the CSV export keep every group.
PDF_GROUPS = 15


@dataclass(frozen=True)
class OtherGroups:
    """The groups of a breakdown the PDF does not list one by one, summed in one row."""

    label: str
    groups: int
    loans_disbursed: int
    amount_disbursed: Decimal
    active_loans: int
    outstanding: Decimal
    par30_amount: Decimal
    # Borrowers are not summed: a miner with loans withheld by two of these buyers would count twice.
    borrowers: None = None

    @property
    def par30(self) -> Decimal:
        return _ratio(self.par30_amount, self.outstanding)


def pdf_breakdown(rows: tuple[BreakdownRow, ...], *, others: str) -> tuple[BreakdownRow | OtherGroups, ...]:
    """``rows`` as the PDF lists them: all of them when there are at most ``PDF_GROUPS`` + 1, else the
    ``PDF_GROUPS`` largest by outstanding and one row summing the rest (``others`` % {"n": how many})."""
    if len(rows) <= PDF_GROUPS + 1:
        return rows
    ranked = sorted(rows, key=lambda row: (-row.outstanding, str(row.label)))
    shown, rest = ranked[:PDF_GROUPS], ranked[PDF_GROUPS:]
    other = OtherGroups(
        label=others % {"n": len(rest)},
        groups=len(rest),
        loans_disbursed=sum(row.loans_disbursed for row in rest),
        amount_disbursed=sum((row.amount_disbursed for row in rest), ZERO),
        active_loans=sum(row.active_loans for row in rest),
        outstanding=sum((row.outstanding for row in rest), ZERO),
        par30_amount=sum((row.par30_amount for row in rest), ZERO),
    )
    return (*shown, other)


def portfolio_pdf(
    summary: PortfolioSummary, *, lang: str = "es", progress: Callable[[int], None] | None = None
) -> bytes:
    with translation.override(pdf.language(lang)):
        drawn = portfolio_charts(summary)
        if progress:
            progress(70)
        breakdowns = {
            "buyer": pdf_breakdown(summary.by_buyer, others=_("Other buyers (%(n)s)")),
            "product": pdf_breakdown(summary.by_product, others=_("Other products (%(n)s)")),
        }
        context = {
            "s": summary,
            "charts": drawn,
            "breakdowns": breakdowns,
            "filters": _filters(summary),
            "exceptions": approval_exceptions_table(date_from=summary.date_from, date_to=summary.as_of),
            "fair_price": fair_price_context(summary),
            "notices": _notice_counts(summary),
        }
        return pdf.render_pdf("reports/pdf/portfolio.html", context, lang=lang)


def _filters(summary: PortfolioSummary) -> list[tuple[str, str]]:
    filters = []
    if summary.buyer_name:
        filters.append((_("Buyer"), f"{summary.buyer_name} (RUC {summary.buyer_ruc})"))
    if summary.region:
        filters.append((_("Region"), DEPARTMENTS.get(summary.region, summary.region)))
    if summary.product_code:
        filters.append((_("Product"), summary.product_code))
    return filters


@dataclass(frozen=True)
class Table:
    slug: str
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


def _pct(value: Decimal) -> Decimal:
    """A 4-decimal fraction as a 2-decimal percentage number (0.1234 → 12.34) for spreadsheets."""
    return (value * 100).quantize(Decimal("0.01"))


def _breakdown_table(slug: str, title: str, first: str, rows: Iterable[Any]) -> Table:
    return Table(
        slug=slug,
        title=title,
        headers=(
            first,
            _("Loans disbursed"),
            _("Amount disbursed"),
            _("Active loans"),
            _("Borrowers"),
            _("Outstanding"),
            _("PAR30 amount"),
            _("PAR30 (%)"),
        ),
        rows=tuple(
            (
                row.label,
                row.loans_disbursed,
                row.amount_disbursed,
                row.active_loans,
                row.borrowers,
                row.outstanding,
                row.par30_amount,
                _pct(row.par30),
            )
            for row in rows
        ),
    )


def approval_exceptions_table(*, date_from: dt.date | None, date_to: dt.date) -> Table:
    """Applications approved against a failed eligibility rule in the period, with who approved them and
    the written justification (DOMAIN.md §7): the exceptions an auditor reviews."""
    from loans.models import LoanApplication

    rows = LoanApplication.objects.approval_exceptions(date_from, date_to).select_related("miner", "decided_by")
    return Table(
        "approval-exceptions",
        _("Approvals by exception"),
        (_("Application"), _("Miner"), _("Amount"), _("Approved on"), _("Approved by"), _("Justification")),
        tuple(
            (
                application.pk,
                application.miner.full_name,
                application.amount,
                timezone.localtime(application.decided_at).date().isoformat() if application.decided_at else "",
                application.decided_by.get_username() if application.decided_by else "",
                application.exception_justification,
            )
            for application in rows
        ),
    )


def portfolio_tables(summary: PortfolioSummary) -> dict[str, Table]:
    """Every table of the portfolio report, with headers in the active language (also the CSV exports)."""
    s = summary
    key_figures = (
        (_("Loans disbursed in the period"), s.loans_disbursed),
        (_("Amount disbursed in the period"), s.amount_disbursed),
        (_("Average loan disbursed"), s.average_disbursed),
        (_("Borrowers reached in the period"), s.borrowers_disbursed),
        (_("Women reached in the period"), s.women_disbursed),
        (_("Active loans"), s.active_loans),
        (_("Active borrowers"), s.borrowers),
        (_("Active women borrowers"), s.women_borrowers),
        (_("Active pallaquera borrowers"), s.pallaquera_borrowers),
        (_("Outstanding principal"), s.outstanding),
        (_("PAR1 (%)"), _pct(s.par1)),
        (_("PAR30 (%)"), _pct(s.par30)),
        (_("PAR90 (%)"), _pct(s.par90)),
        (_("Repayment rate (%)"), _pct(s.repayment_rate)),
        (_("Due in the period"), s.due_in_period),
        (_("Collected toward it"), s.collected_in_period),
        (_("Share rated Normal (%)"), _pct(s.normal_share)),
        (_("Sector baseline rated Normal (%)"), _pct(s.sector_normal_baseline)),
        (_("Withheld by buyers"), s.withheld),
        (_("Remitted by buyers"), s.remitted_in_period),
        (_("Average remittance delay (days)"), s.average_remittance_delay_days),
        (_("Unremitted at the as-of date"), s.unremitted),
        (_("Unremitted past the agreed days"), s.unremitted_overdue),
        (_("Mercury avoided per year, equipment financed in the period (kg)"), s.mercury_avoided_kg_year),
        (_("Mercury avoided per year, all equipment financed (kg)"), s.mercury_avoided_kg_year_to_date),
        (_("Miners trained"), s.trained_miners),
        (_("Women trained"), s.trained_women),
        (_("Training hours"), s.training_hours),
    )
    tables = [
        Table("key-figures", _("Key figures"), (_("Figure"), _("Value")), key_figures),
        Table(
            "categories",
            _("SBS risk categories"),
            (_("Category"), _("Loans"), _("Loans (%)"), _("Outstanding"), _("Outstanding (%)")),
            tuple(
                (row.label, row.loans, _pct(row.loans_share), row.outstanding, _pct(row.outstanding_share))
                for row in s.categories
            ),
        ),
        _breakdown_table("gender", _("By gender"), _("Gender"), s.by_gender),
        _breakdown_table("role", _("By role"), _("Role"), s.by_role),
        _breakdown_table("region", _("By region"), _("Region"), s.by_region),
        _breakdown_table("buyer", _("By buyer"), _("Buyer"), s.by_buyer),
        _breakdown_table("product", _("By product"), _("Product"), s.by_product),
        Table(
            "equipment",
            _("Equipment financed"),
            (_("Equipment"), _("Loans"), _("Amount"), _("Mercury-free"), _("Mercury avoided (kg/year)")),
            tuple(
                (row.label, row.loans, row.amount, row.mercury_free_loans, row.mercury_avoided_kg_year)
                for row in s.equipment
            ),
        ),
        Table(
            "trainings",
            _("Trainings received"),
            (_("Topic"), _("Sessions"), _("Miners"), _("Women"), _("Hours")),
            tuple((row.label, row.sessions, row.participants, row.women, row.hours) for row in s.trainings),
        ),
        Table(
            "months",
            _("Month by month"),
            (_("Month"), _("Loans disbursed"), _("Amount disbursed"), _("Withheld"), _("Remitted")),
            tuple(
                (row.month.strftime("%Y-%m"), row.loans_disbursed, row.amount_disbursed, row.withheld, row.remitted)
                for row in s.months
            ),
        ),
    ]
    tables.append(fair_price_table(summary))
    tables.append(notices_table(summary))
    if s.guarantees is not None:
        tables.append(guarantees_table(s.guarantees))
    return {table.slug: table for table in tables}


def guarantee_rows(g: Any) -> tuple[tuple[Any, Any, Any], ...]:
    """The guarantee funds' figures (``lifecycle.guarantees.GuaranteeFigures``): label, count, amount."""
    return (
        (_("Covered exposure (coverage × outstanding principal)"), g.covered_loans, g.covered_exposure),
        (_("Claims filed on guarantee funds"), g.claims_filed, g.claimed),
        (_("Claims paid by the funds"), g.claims_paid, g.paid_by_funds),
        (_("Recovered after the funds paid"), "", g.recovered_after_claims),
        (_("Funds' share of those recoveries"), "", g.shared_with_funds),
        (_("Remitted to the funds"), "", g.remitted_to_funds),
        (_("Still owed to the funds"), "", g.owed_to_funds),
    )


def guarantees_table(g: Any) -> Table:
    return Table(
        "guarantees", _("Guarantee funds"), (_("Figure"), _("Loans or claims"), _("Amount")), guarantee_rows(g)
    )


# --- Messages to miners (DOMAIN.md §10; figures in notices.selectors) ------------------------------------


def _notice_counts(summary: PortfolioSummary) -> Any:
    from notices.selectors import notice_counts

    return notice_counts(date_from=summary.date_from, date_to=summary.as_of)


def notices_table(summary: PortfolioSummary) -> Table:
    counts = _notice_counts(summary)
    return Table(
        "messages",
        _("Messages to miners by channel"),
        (_("Channel"), _("Messages"), _("Delivered"), _("Failed"), _("Waiting")),
        tuple((row.label, row.made, row.delivered, row.failed, row.pending) for row in counts.channels),
    )


# --- Fair-price check per buyer and month (DOMAIN.md §4; figures in reports.services.fair_price) ---------


def _fair_price(summary: PortfolioSummary) -> Any:
    from reports.services.fair_price import fair_price_by_buyer_month

    return fair_price_by_buyer_month(date_from=summary.date_from, date_to=summary.as_of, buyer=summary.buyer_ruc)


def fair_price_context(summary: PortfolioSummary) -> dict[str, Any]:
    from reports.services.fair_price import fair_price_pdf_rows

    figures = _fair_price(summary)
    rows, hidden = fair_price_pdf_rows(figures)
    return {"summary": figures, "rows": rows, "hidden": hidden}


def fair_price_table(summary: PortfolioSummary) -> Table:
    from reports.services.fair_price import fair_price_table_headers, fair_price_table_rows

    figures = _fair_price(summary)
    return Table(
        "fair-price",
        _("Fair-price check per buyer and month"),
        fair_price_table_headers(),
        fair_price_table_rows(figures),
    )


def table_csv(table: Table) -> str:
    """A table as CSV: plain numbers ("1234.50"), so spreadsheets read them as numbers; a text that a
    spreadsheet would run as a formula (a buyer named "=HYPERLINK(…)") is neutralised."""
    return csv_text(table.headers, table.rows)


def portfolio_job_start(*, actor: Any, params: dict[str, Any]) -> JobRun:
    """Record a portfolio report job and queue it, through the outbox, with the record."""
    from asmcredit.outbox import outbox_enqueue

    with transaction.atomic():  # the job and its message commit together: no job left waiting forever
        job = job_start(
            name=PORTFOLIO_JOB,
            as_of=dt.date.fromisoformat(params["as_of"]),
            detail={"params": params, "requested_by": getattr(actor, "pk", None)},
        )
        outbox_enqueue("reports.tasks.portfolio_report", job.pk, params)
    return job


def portfolio_report_generate(
    *,
    job_run_id: int,
    as_of: str,
    date_from: str | None = None,
    buyer: str | None = None,
    region: str | None = None,
    product: str | None = None,
    lang: str = "es",
) -> JobRun:
    """Compute the figures, draw and render the report, store it under MEDIA_ROOT/reports/."""
    job_progress(job_run_id, 5)
    try:
        summary = portfolio_summary(
            as_of=dt.date.fromisoformat(as_of),
            date_from=dt.date.fromisoformat(date_from) if date_from else None,
            buyer=buyer or None,
            region=region or None,
            product=product or None,
        )
        job_progress(job_run_id, 50)
        document = portfolio_pdf(summary, lang=lang, progress=lambda value: job_progress(job_run_id, value))
        job_progress(job_run_id, 95)
        name = default_storage.save(f"{REPORTS_DIR}/portfolio-{as_of}-{job_run_id}.pdf", ContentFile(document))
    except Exception as exc:
        # Not job_finish: it needs the row loaded and rewrites every field; a failure sets only these three.
        JobRun.objects.filter(pk=job_run_id).update(
            status=JobRun.Status.FAILED, error=f"{type(exc).__name__}: {exc}", finished_at=timezone.now()
        )
        raise
    return job_finish(
        JobRun.objects.get(pk=job_run_id),
        ok=True,
        detail={"file": name, "bytes": len(document)},
        rows_touched=summary.active_loans,
    )


def report_file_path(job: JobRun) -> Path | None:
    name = (job.detail or {}).get("file")
    if not name or not default_storage.exists(name):
        return None
    return Path(settings.MEDIA_ROOT) / name
