"""The accounting section (Spanish first): the journal browser, an entry and its source event, the trial
balance (page, CSV, PDF) and the months with their tie-outs, closed and reopened by an accountant."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from accounting import selectors, services
from accounting.models import AccountingPeriod, JournalEntry, TieOut
from asmcredit import roles
from asmcredit.exports import Column, csv_text, export_format, export_response
from asmcredit.web import paginate, role_required

READERS = roles.ACCOUNTING_READERS
CURRENCIES = ("PEN", "USD")

JOURNAL_COLUMNS = [
    Column(gettext_lazy("Entry"), "entry_id", Column.INTEGER),
    Column(gettext_lazy("Value date"), "entry.value_date", Column.DATE),
    Column(gettext_lazy("Event date"), "entry.source_value_date", Column.DATE),
    Column(gettext_lazy("Event"), lambda line: line.entry.get_event_display()),
    Column(gettext_lazy("Currency"), "entry.currency"),
    Column(gettext_lazy("Account"), "account.code"),
    Column(gettext_lazy("Account name"), "account.name"),
    Column(gettext_lazy("Loan"), lambda line: line.loan.code if line.loan_id else ""),
    Column(gettext_lazy("Debit"), "debit", Column.MONEY),
    Column(gettext_lazy("Credit"), "credit", Column.MONEY),
    Column(gettext_lazy("Memo"), "entry.memo"),
]


def parse_period(value: str | None) -> dt.date | None:
    try:
        return dt.datetime.strptime(value or "", "%Y-%m").date()
    except ValueError:
        return None


def _currency(request: HttpRequest) -> str:
    value = request.GET.get("currency") or "PEN"
    return value if value in CURRENCIES else "PEN"


@role_required(*READERS)
def journal(request: HttpRequest) -> HttpResponseBase:
    period = parse_period(request.GET.get("period")) or timezone.localdate().replace(day=1)
    event = request.GET.get("event") or ""
    if event not in JournalEntry.Event.values:
        event = ""
    currency = request.GET.get("currency") if request.GET.get("currency") in CURRENCIES else None
    account = (request.GET.get("account") or "").strip()[:20] or None
    loan_code = (request.GET.get("loan") or "").strip()[:20] or None
    filters = {"currency": currency, "event": event or None, "account": account, "loan_code": loan_code}
    lines = selectors.journal_lines(
        period=period, currency=currency, event=event or None, account=account, loan_code=loan_code
    )
    if export_format(request):
        return export_response(request, rows=lines, columns=JOURNAL_COLUMNS, filename=f"diario-{period:%Y-%m}")
    context = {
        "nav": "accounting-journal",
        "page": paginate(request, lines, per_page=50),
        "period": period,
        "filters": filters,
        "events": JournalEntry.Event.choices,
        "currencies": CURRENCIES,
    }
    return render(request, "accounting/journal.html", context)


def source_link(entry: JournalEntry) -> tuple[str, str] | None:
    """What the entry comes from, as (label, URL) for the officer's pages."""
    if entry.source_type is None:
        return None
    model = entry.source_type.model
    try:
        if model == "loantransaction" and entry.loan_id:
            return _("Loan transaction #%(id)s") % {"id": entry.source_id}, reverse(
                "loans:detail", args=[entry.loan_id]
            )
        if model == "remittance":
            url = reverse("installments:remittance-detail", args=[entry.source_id])
            return _("Remittance #%(id)s") % {"id": entry.source_id}, url
        if model == "writeoff":
            return _("Write-off #%(id)s") % {"id": entry.source_id}, reverse(
                "lifecycle:write-offs"
            ) + "?status=approved"
    except NoReverseMatch:
        return None
    return f"{model} #{entry.source_id}", ""


@role_required(*READERS)
def entry_detail(request: HttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(JournalEntry.objects.select_related("loan", "source_type"), pk=pk)
    lines = list(entry.lines.select_related("account", "loan").order_by("-debit", "id"))
    context = {
        "nav": "accounting-journal",
        "entry": entry,
        "lines": lines,
        "source": source_link(entry),
        "total_debit": sum(line.debit for line in lines),
        "total_credit": sum(line.credit for line in lines),
    }
    return render(request, "accounting/entry.html", context)


@role_required(*READERS)
def trial_balance(request: HttpRequest) -> HttpResponse:
    period = parse_period(request.GET.get("period")) or timezone.localdate().replace(day=1)
    currency = _currency(request)
    balance = selectors.trial_balance(period=period, currency=currency)
    chosen = request.GET.get("format")
    if chosen == "csv":
        header = [_("Account"), _("Name"), _("Opening"), _("Debit"), _("Credit"), _("Closing")]
        rows = [[r.code, r.name, r.opening, r.debit, r.credit, r.closing] for r in balance.rows]
        rows.append(["", _("Total"), "", balance.total_debit, balance.total_credit, ""])
        response = HttpResponse("\ufeff" + csv_text(header, rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="balance-comprobacion-{period:%Y-%m}-{currency}.csv"'
        return response
    context = {
        "nav": "accounting-trial-balance",
        "balance": balance,
        "period": period,
        "currency": currency,
        "currencies": CURRENCIES,
        "closed": selectors.period_is_closed(period),
    }
    if chosen == "pdf":
        from reports.pdf import render_pdf

        document = render_pdf("accounting/pdf/trial_balance.html", context, lang=request.GET.get("lang") or "es")
        response = HttpResponse(document, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="balance-comprobacion-{period:%Y-%m}-{currency}.pdf"'
        return response
    return render(request, "accounting/trial_balance.html", context)


@role_required(*READERS)
def periods(request: HttpRequest) -> HttpResponse:
    months = set(JournalEntry.objects.order_by().values_list("period", flat=True).distinct())
    records = {p.month: p for p in AccountingPeriod.objects.select_related("closed_by")}
    months |= set(records)
    rows = []
    for month in sorted(months, reverse=True)[:36]:
        rows.append({"month": month, "record": records.get(month), "tie_outs": selectors.latest_tie_outs(period=month)})
    context = {
        "nav": "accounting-periods",
        "rows": rows,
        "can_close": roles.has_role(request.user, *roles.ACCOUNTING_CLOSERS),
    }
    return render(request, "accounting/periods.html", context)


def _month_or_404(value: str) -> dt.date:
    period = parse_period(value)
    if period is None:
        raise Http404
    return period


def _act(request: HttpRequest, action: Any, done: str) -> HttpResponse:
    try:
        action()
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("Your role does not allow this."))
    else:
        messages.success(request, done)
    return redirect("accounting:periods")


@require_POST
@role_required(*roles.ACCOUNTING_CLOSERS)
def period_close(request: HttpRequest, period: str) -> HttpResponse:
    month = _month_or_404(period)
    return _act(request, lambda: services.period_close(period=month, actor=request.user), _("The month is closed."))


@require_POST
@role_required(*roles.ACCOUNTING_CLOSERS)
def period_reopen(request: HttpRequest, period: str) -> HttpResponse:
    month = _month_or_404(period)
    reason = request.POST.get("reason", "")
    return _act(
        request,
        lambda: services.period_reopen(period=month, actor=request.user, reason=reason),
        _("The month is open again."),
    )


@require_POST
@role_required(*roles.ACCOUNTING_CLOSERS)
def tie_out(request: HttpRequest, period: str) -> HttpResponse:
    month = _month_or_404(period)

    def run() -> None:
        for currency in CURRENCIES:
            services.tie_out_run(period=month, currency=currency, actor=request.user)

    return _act(request, run, _("Tie-out recorded."))


@role_required(*READERS)
def tie_out_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = get_object_or_404(TieOut.objects.select_related("run_by"), pk=pk)
    context = {"nav": "accounting-periods", "tie_out": record, "labels": TIE_OUT_LABELS}
    return render(request, "accounting/tie_out.html", context)


TIE_OUT_LABELS = {
    "principal": gettext_lazy("Outstanding principal (vigente and vencido)"),
    "accrued_interest": gettext_lazy("Accrued interest receivable"),
    "suspended_interest": gettext_lazy("Interest in suspense (memo)"),
    "provisions": gettext_lazy("Provisions"),
    "buyer_receivables": gettext_lazy("Buyers' receivables"),
    "overpayment_credit": gettext_lazy("Overpayment credits owed to miners"),
}
