"""Miners: search, profile, registration and CSV/XLSX imports (officer web application)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from asmcredit import roles
from asmcredit.exports import Column, export_format, export_response
from asmcredit.listing import ListFilters, choice_field, count_per_row, search_field
from asmcredit.models import JobRun
from asmcredit.tabular import template_response
from asmcredit.web import LENDER_STAFF, OFFICERS, STAFF, paginate, role_required
from buyers.models import Buyer, Settlement, SupplierRelationship
from buyers.services import relationship_add
from installments.models import LoanRating
from loans.models import Loan, LoanApplication
from loans.underwriting import median, month_key, monthly_totals, months_before
from miners import imports
from miners.forms import CsvUploadForm, MinerForm, RelationshipForm, SettlementsUploadForm
from miners.identity import DEPARTMENTS
from miners.models import Association, Miner
from miners.search import by_folded_name, is_document_query, miner_search

CHART_MONTHS = 12


class MinerFilters(ListFilters):
    def prepare(self, request: HttpRequest) -> None:
        sees_documents = roles.has_role(request.user, *LENDER_STAFF)
        self.fields["q"].widget.attrs["placeholder"] = (
            _("Name, DNI, RUC or REINFO code") if sees_documents else _("Name")
        )
        self.set_choices("association", Association.objects.values_list("pk", "name"))
        self.set_choices("buyer", Buyer.objects.order_by("name").values_list("pk", "name"))

    q = search_field(gettext_lazy("Search"))
    region = choice_field(gettext_lazy("Region"), sorted(DEPARTMENTS.items(), key=lambda item: item[1]), coerce=str)
    association = choice_field(gettext_lazy("Association"), [])
    buyer = choice_field(gettext_lazy("Buyer"), [])


MINER_COLUMNS = [
    Column(gettext_lazy("Last names"), "last_names"),
    Column(gettext_lazy("First names"), "first_names"),
    Column(gettext_lazy("Document type"), "document_type"),
    Column(gettext_lazy("Document"), "document_number", sensitive=True),
    Column("RUC", "ruc", sensitive=True),
    Column(gettext_lazy("Gender"), lambda miner: miner.get_gender_display()),
    Column(gettext_lazy("Role"), lambda miner: miner.get_role_display()),
    Column(gettext_lazy("Region"), lambda miner: DEPARTMENTS.get(miner.department_code, "")),
    Column("Ubigeo", "ubigeo"),
    Column(gettext_lazy("Association"), "association.name"),
    Column(gettext_lazy("REINFO status"), lambda miner: miner.get_reinfo_status_display()),
    Column(gettext_lazy("REINFO code"), "reinfo_code"),
    Column(gettext_lazy("Active loans"), "active_loans", kind=Column.INTEGER),
]


def region_range(code: str, field: str = "ubigeo") -> Q:
    """The ubigeos of a department (``"04"`` → 040000 ≤ ubigeo < 050000): a range the ubigeo index reads."""
    return Q(**{f"{field}__gte": code, f"{field}__lt": f"{int(code) + 1:02d}"})


def miner_rows(request: HttpRequest, filters: MinerFilters) -> QuerySet[Miner]:
    """The miners the list shows, filtered, in name order (the order its keyset pages by)."""
    values = filters.values
    miners = miner_search(
        Miner.objects.all(), values.get("q", ""), by_document=roles.has_role(request.user, *LENDER_STAFF)
    )
    if "region" in values:
        miners = miners.filter(region_range(values["region"]))
    if "association" in values:
        miners = miners.filter(association_id=values["association"])
    if "buyer" in values:
        miners = miners.filter(
            Exists(
                SupplierRelationship.objects.filter(
                    miner=OuterRef("pk"), buyer_id=values["buyer"], status=SupplierRelationship.Status.ACTIVE
                )
            )
        )
    miners = miners.annotate(active_loans=count_per_row(Loan.objects.filter(status=Loan.Status.ACTIVE), link="miner"))
    if values.get("q") and not is_document_query(values["q"]):
        return by_folded_name(miners)  # the matches, sorted (pages by OFFSET: a search finds a few thousand)
    return miners.order_by("last_names", "first_names", "pk")  # the whole list, paged by keyset


@role_required(*STAFF)
def miner_list(request: HttpRequest) -> HttpResponseBase:
    filters = MinerFilters(request)
    miners = miner_rows(request, filters)
    if export_format(request):
        return export_response(
            request, rows=miners.select_related("association"), columns=MINER_COLUMNS, filename="mineros"
        )
    page = paginate(request, miners)
    context = {
        "nav": "miners",
        "page": page,
        "filters": filters,
        "query": filters.values.get("q", ""),
        "departments": DEPARTMENTS,
    }
    if getattr(request, "htmx", False) and request.htmx.target == "miner-results":  # type: ignore[attr-defined]
        return render(request, "miners/_results.html", context)
    return render(request, "miners/list.html", context)


def monthly_payable(settlements: list[tuple[dt.date, Decimal, Decimal]], as_of: dt.date) -> list[tuple[str, Decimal]]:
    """Total payable per month in soles (US$ payable × the settlement's exchange rate), last 12 full months
    and the current one."""
    months = months_before(as_of, CHART_MONTHS - 1) + [month_key(as_of)]
    totals = monthly_totals(((day, usd * rate) for day, usd, rate in settlements), months)
    return list(zip(months, totals, strict=True))


def bar_chart(points: list[tuple[str, Decimal]], *, width: int = 560, height: int = 170) -> dict[str, Any]:
    """Geometry for a small inline SVG bar chart, computed server-side (no JavaScript charting)."""
    top, bottom, left = 12, 26, 8
    plot_height = height - top - bottom
    peak = max((amount for _m, amount in points), default=Decimal(0)) or Decimal(1)
    slot = (width - left * 2) / max(len(points), 1)
    bars = []
    for index, (month, amount) in enumerate(points):
        bar_height = float(amount / peak) * plot_height if amount > 0 else 2.0
        x = left + index * slot + slot * 0.15
        bars.append(
            {
                "x": round(x, 1),
                "y": round(top + plot_height - bar_height, 1),
                "w": round(slot * 0.7, 1),
                "h": round(bar_height, 1),
                "label": f"{month[5:]}/{month[2:4]}",
                "label_x": round(x + slot * 0.35, 1),
                "amount": amount,
                "zero": amount <= 0,
            }
        )
    middle = median([amount for _m, amount in points])
    median_y = round(top + plot_height - float(middle / peak) * plot_height, 1) if middle > 0 else None
    return {
        "width": width,
        "height": height,
        "bars": bars,
        "baseline": top + plot_height,
        "label_y": height - 8,
        "median": middle,
        "median_y": median_y,
    }


@role_required(*STAFF)
def miner_detail(request: HttpRequest, pk: int) -> HttpResponse:
    miner = get_object_or_404(Miner.objects.select_related("association"), pk=pk)
    today = timezone.localdate()
    relationships = list(miner.relationships.select_related("buyer").order_by("since"))
    settlements = list(
        Settlement.objects.filter(miner=miner).select_related("buyer").order_by("-settled_on", "-id")[:20]
    )
    first_month = months_before(today, CHART_MONTHS - 1)[0]
    chart_start = dt.date(int(first_month[:4]), int(first_month[5:]), 1)
    chart_rows = list(
        Settlement.objects.filter(
            miner=miner, status=Settlement.Status.POSTED, settled_on__gte=chart_start
        ).values_list("settled_on", "payable_usd", "exchange_rate")
    )
    from installments.next_due import loans_with_next_due

    loans = list(
        loans_with_next_due(Loan.objects.filter(miner=miner)).select_related("product").order_by("-disbursed_on")
    )
    applications = list(
        LoanApplication.objects.filter(miner=miner)
        .exclude(status=LoanApplication.Status.DISBURSED)
        .select_related("product")
        .order_by("-created")[:10]
    )
    ratings = list(LoanRating.objects.filter(loan__miner=miner).select_related("loan").order_by("-as_of")[:12])
    trainings = list(miner.trainings.all()[:10])
    context = {
        "nav": "miners",
        "miner": miner,
        "department": DEPARTMENTS.get(miner.department_code, ""),
        "relationships": relationships,
        "settlements": settlements,
        "chart": bar_chart(monthly_payable(chart_rows, today)),
        "loans": loans,
        "applications": applications,
        "ratings": ratings,
        "trainings": trainings,
        "can_edit": roles.has_role(request.user, *OFFICERS),
    }
    context.update(_miner_notices_context(request, miner))
    return render(request, "miners/detail.html", context)


# --- Messages to the miner and statement links (issue #15) --------------------------------------------
def _miner_notices_context(request: HttpRequest, miner: Miner) -> dict[str, Any]:
    """The miner's messages (every staff role) and live statement links (officers only: a link's URL
    opens the statement, so it is shown only to those who may send it)."""
    from notices.links import statement_link_absolute_url
    from notices.models import Notice, StatementLink

    can_send = roles.has_role(request.user, *OFFICERS)
    links = []
    if can_send:
        live = StatementLink.objects.filter(miner=miner, revoked_at__isnull=True, expires_at__gt=timezone.now())
        for link in live.select_related("created_by").order_by("-created")[:5]:
            link.url = statement_link_absolute_url(link)  # type: ignore[attr-defined]
            links.append(link)
    notices = list(Notice.objects.filter(miner=miner).select_related("loan").order_by("-created", "-id")[:30])
    return {"miner_notices": notices, "statement_links": links, "can_send_links": can_send}


def _apply_errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@role_required(*OFFICERS)
def miner_create(request: HttpRequest) -> HttpResponse:
    form = MinerForm(request.POST or None)
    relationship_form = RelationshipForm(request.POST or None, prefix="rel")
    if request.method == "POST" and form.is_valid() and relationship_form.is_valid():
        try:
            with transaction.atomic():
                miner = imports.miner_create(actor=request.user, **form.cleaned_data)
                rel = relationship_form.cleaned_data
                if rel.get("buyer"):
                    relationship_add(
                        miner=miner,
                        buyer=rel["buyer"],
                        since=rel["since"],
                        agreement_kind=rel.get("agreement_kind") or "supply_contract",
                        actor=request.user,
                    )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Miner %(name)s registered.") % {"name": miner.full_name})
            return redirect("miners:detail", pk=miner.pk)
    return render(
        request,
        "miners/form.html",
        {"nav": "miners", "form": form, "relationship_form": relationship_form, "miner": None},
    )


@role_required(*OFFICERS)
def miner_edit(request: HttpRequest, pk: int) -> HttpResponse:
    miner = get_object_or_404(Miner, pk=pk)
    form = MinerForm(request.POST or None, instance=Miner.objects.get(pk=pk))
    relationship_form = RelationshipForm(request.POST or None, prefix="rel", miner=miner)
    if request.method == "POST" and form.is_valid() and relationship_form.is_valid():
        try:
            with transaction.atomic():
                imports.miner_update(miner=miner, actor=request.user, **form.cleaned_data)
                rel = relationship_form.cleaned_data
                if rel.get("buyer"):
                    relationship_add(
                        miner=miner,
                        buyer=rel["buyer"],
                        since=rel["since"],
                        agreement_kind=rel.get("agreement_kind") or "supply_contract",
                        actor=request.user,
                    )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("miners:detail", pk=miner.pk)
    return render(
        request,
        "miners/form.html",
        {"nav": "miners", "form": form, "relationship_form": relationship_form, "miner": miner},
    )


def _enqueue(task: Any, *args: Any) -> None:
    # Through the outbox: published after commit (a worker never looks for a JobRun that is not there
    # yet), and kept for the next drain if the broker is down.
    from asmcredit.outbox import outbox_enqueue

    outbox_enqueue(task.name, *args)


def _upload_status(request: HttpRequest, form: CsvUploadForm, *, too_large: bool) -> int:
    """413 for a file refused for its size (bytes or rows), 400 for a form to fix, else 200: a script
    or a browser extension uploading the file sees the failure in the status too."""
    if too_large or form.has_error(NON_FIELD_ERRORS, code="too_large"):
        return 413
    if request.method == "POST" and form.is_bound and not form.is_valid():
        return 400
    return 200


@role_required(*OFFICERS)
def miners_import(request: HttpRequest) -> HttpResponse:
    from miners.tasks import import_miners

    form = CsvUploadForm(request.POST if request.method == "POST" else None, request.FILES or None)
    preview = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        if request.POST.get("action") == "confirm":
            preview = imports.miners_import_csv(text=text, actor=request.user, dry_run=True)
            if preview.ok:
                job = JobRun.objects.create(
                    name="import_miners",
                    as_of=timezone.localdate(),
                    detail={"actor_id": request.user.pk, "rows": len(preview.rows), "next": "miners:list"},
                )
                _enqueue(import_miners, job.pk, text, request.user.pk)
                return redirect("job-detail", pk=job.pk)
        else:
            preview = imports.miners_import_csv(text=text, actor=request.user, dry_run=True)
        form = CsvUploadForm(initial={"content": text})
    return render(
        request,
        "miners/import.html",
        {"nav": "import-miners", "form": form, "preview": preview, "columns": imports.TEMPLATE_COLUMNS},
        status=_upload_status(request, form, too_large=preview is not None and preview.too_large),
    )


@role_required(*OFFICERS)
def miners_import_template(request: HttpRequest, fmt: str) -> HttpResponse:
    """The miners import's template, CSV or XLSX: the Spanish headers and an example row."""
    return template_response(
        imports.TEMPLATE_COLUMNS, fmt=fmt, filename="plantilla-mineros", sheet=imports.TEMPLATE_SHEET
    )


@role_required(*OFFICERS)
def settlements_import(request: HttpRequest) -> HttpResponse:
    from installments.services.settlement_batches import settlements_import_csv
    from installments.tasks import import_settlements

    form = SettlementsUploadForm(
        request.POST if request.method == "POST" else None,
        request.FILES or None,
        initial={"buyer": request.GET.get("buyer")},
    )
    preview = None
    buyer: Buyer | None = None
    if request.method == "POST" and form.is_valid():
        text = form.cleaned_data["text"]
        buyer = form.cleaned_data["buyer"]
        preview = settlements_import_csv(buyer=buyer, actor=request.user, text=text, dry_run=True)
        if request.POST.get("action") == "confirm" and preview.ok:
            job = JobRun.objects.create(
                name="import_settlements",
                as_of=timezone.localdate(),
                detail={"actor_id": request.user.pk, "rows": preview.rows, "buyer_id": buyer.pk},
            )
            _enqueue(import_settlements, job.pk, text, request.user.pk, buyer.pk)
            return redirect("job-detail", pk=job.pk)
        form = SettlementsUploadForm(initial={"content": text, "buyer": buyer.pk})
    return render(
        request,
        "miners/import_settlements.html",
        {
            "nav": "import-settlements",
            "form": form,
            "preview": preview,
            "buyer": buyer,
            "errors": preview.error_lines() if preview else [],
            "withheld": sum((o.withholding_amount for o in preview.outcomes), Decimal(0)) if preview else None,
        },
        status=_upload_status(request, form, too_large=preview is not None and preview.too_large),
    )
