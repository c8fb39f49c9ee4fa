"""Tesorería on screen: record a buyer's remittance (remesa) and see what it matched, the remittances of
all buyers, and one queue of reconciliation exceptions for all buyers (DOMAIN.md §5).

Recording goes through ``remittance_record``, the service the API calls, so a remittance typed here
is matched FIFO and raises exceptions exactly as one posted by the lender's systems.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, Min, OuterRef, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from asmcredit import roles
from asmcredit.exports import Column, export_format, export_response
from asmcredit.listing import count_per_row
from asmcredit.models import IdempotencyRecord
from asmcredit.web import LENDER_STAFF, paginate, role_required
from buyers.models import Buyer
from installments.exception_text import exception_description, exception_resolution
from installments.forms import ExceptionFilters, RemittanceFilters, RemittanceForm, ResolveForm
from installments.models import ReconciliationException, Remittance, RemittanceMatch, Withholding
from installments.services import remittance_record

# Loan officers and approvers follow the money too; NGO analysts work with aggregates, not transfers.
TREASURY_READERS = (*LENDER_STAFF, roles.TREASURY)
OPEN = (Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL)
OWED_ROWS = 15


# --- What a buyer owes -------------------------------------------------------------------------------


def buyer_owed(buyer: Buyer) -> dict[str, Any]:
    """The buyer's unremitted withholdings, oldest first (the order a remittance pays them in), their
    totals per currency, and earlier money not yet applied (a remittance pays that first)."""
    open_withholdings = Withholding.objects.filter(buyer=buyer, status__in=OPEN)
    totals = list(
        open_withholdings.order_by()
        .values("currency")
        .annotate(owed=Sum(F("amount") - F("remitted_amount")), count=Count("id"), oldest=Min("withheld_on"))
        .order_by("currency")
    )
    credit = list(
        Remittance.objects.filter(buyer=buyer, unmatched_amount__gt=0)
        .order_by()
        .values("currency")
        .annotate(amount=Sum("unmatched_amount"))
        .order_by("currency")
    )
    rows = list(open_withholdings.select_related("settlement", "loan__miner").order_by("withheld_on", "id")[:OWED_ROWS])
    for row in rows:
        row.owed = row.amount - row.remitted_amount  # type: ignore[attr-defined]
    shown = len(rows)
    return {
        "buyer": buyer,
        "totals": totals,
        "credit": credit,
        "rows": rows,
        "more": sum(total["count"] for total in totals) - shown,
    }


def _chosen_buyer(request: HttpRequest) -> Buyer | None:
    raw = request.GET.get("buyer") or request.POST.get("buyer")
    if not raw or not str(raw).isdigit():
        return None
    return Buyer.objects.filter(pk=int(raw)).first()


# --- Recording a remittance ----------------------------------------------------------------------------


def _client(request: HttpRequest) -> str:
    return f"web-user:{request.user.pk}"


def _recorded_by_token(client: str, token: str) -> Remittance | None:
    record = IdempotencyRecord.objects.filter(client=client, key=token).first()
    if record is None or not isinstance(record.response_body, dict):
        return None
    return Remittance.objects.filter(pk=int(record.response_body["remittance"])).first()


def _record_once(request: HttpRequest, form: RemittanceForm) -> tuple[Remittance | None, bool]:
    """Record the form's remittance once per form token: ``(remittance, replayed)``, or ``(None, False)``
    with the service's refusals added to ``form``.

    The token is stored as an ``IdempotencyRecord`` in the service's transaction. A double click posts
    the form twice: the second post waits behind the first on the buyer's lock (taken by the service),
    then is refused for the reference the first just recorded — or, had it raced past the check, by the
    token's unique key — and finds the first one's record instead."""
    data = form.cleaned_data
    client, token = _client(request), data["token"]
    try:
        with transaction.atomic():
            earlier = _recorded_by_token(client, token)
            if earlier is not None:
                return earlier, True
            outcome = remittance_record(
                buyer=data["buyer"],
                reference=data["reference"],
                amount=data["amount"],
                currency=data["currency"],
                paid_on=data["paid_on"],
                note=data["note"],
                actor=request.user,
            )
            IdempotencyRecord.objects.create(
                client=client,
                key=token,
                method="POST",
                path=request.path[:255],
                request_hash=hashlib.sha256(request.POST.urlencode().encode()).hexdigest(),
                status_code=303,
                response_body={"remittance": outcome.remittance.pk},
            )
            return outcome.remittance, False
    except (ValidationError, IntegrityError) as exc:
        earlier = _recorded_by_token(client, token)
        if earlier is not None:
            return earlier, True
        if isinstance(exc, IntegrityError):
            raise
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return None, False


@role_required(*roles.TREASURY_WRITERS)
def remittance_new(request: HttpRequest) -> HttpResponse:
    """Record a remittance in two steps: choose the buyer, then see its unremitted withholdings before
    typing the transfer. On save, the remittance's page shows what it matched and what it raised."""
    form = RemittanceForm(request.POST) if request.method == "POST" else None
    if form is not None and form.is_valid():
        remittance, replayed = _record_once(request, form)
        if remittance is not None:
            if replayed:
                messages.info(request, _("This form was already sent: this is the remittance it recorded."))
            else:
                messages.success(request, _("Remittance %(reference)s recorded.") % {"reference": remittance.reference})
            return redirect("installments:remittance-detail", pk=remittance.pk)
    buyer = _chosen_buyer(request)
    owed = buyer_owed(buyer) if buyer else None
    if form is None:
        currencies = [total["currency"] for total in owed["totals"]] if owed else []
        form = RemittanceForm(
            initial={
                "token": RemittanceForm.new_token(),
                "buyer": buyer,
                "paid_on": timezone.localdate(),
                "currency": currencies[0] if len(currencies) == 1 else "PEN",
            }
        )
    context = {
        "nav": "treasury-new",
        "form": form,
        "buyer": buyer,
        "owed": owed,
        "buyers": Buyer.objects.order_by("name").only("pk", "name") if buyer is None else [],
    }
    return render(request, "treasury/remittance_form.html", context, status=400 if form.is_bound else 200)


# --- The remittances ------------------------------------------------------------------------------------

REMITTANCE_COLUMNS = [
    Column(gettext_lazy("Paid on"), "paid_on", kind=Column.DATE),
    Column(gettext_lazy("Buyer"), "buyer.name"),
    Column(gettext_lazy("RUC"), "buyer.ruc"),
    Column(gettext_lazy("Reference"), "reference"),
    Column(gettext_lazy("Currency"), "currency"),
    Column(gettext_lazy("Amount"), "amount", kind=Column.MONEY),
    Column(gettext_lazy("Matched"), "matched", kind=Column.MONEY),
    Column(gettext_lazy("Unmatched"), "unmatched_amount", kind=Column.MONEY),
    Column(gettext_lazy("Open exceptions"), "open_exceptions", kind=Column.INTEGER),
    Column(gettext_lazy("Note"), "note"),
    Column(gettext_lazy("Recorded by"), lambda r: _person(r.created_by)),
    Column(gettext_lazy("Recorded at"), "created", kind=Column.DATETIME),
]


def _person(user: Any) -> str:
    if user is None:
        return _("System")
    return user.get_full_name() or user.get_username()


def _remittances(filters: RemittanceFilters) -> QuerySet[Remittance]:
    values = filters.values
    open_exceptions = ReconciliationException.objects.filter(status=ReconciliationException.Status.OPEN)
    remittances = Remittance.objects.select_related("buyer", "created_by").annotate(
        open_exceptions=count_per_row(open_exceptions, link="remittance"), matched=F("amount") - F("unmatched_amount")
    )
    if "buyer" in values:
        remittances = remittances.filter(buyer_id=values["buyer"])
    if "paid_from" in values:
        remittances = remittances.filter(paid_on__gte=values["paid_from"])
    if "paid_to" in values:
        remittances = remittances.filter(paid_on__lte=values["paid_to"])
    if "currency" in values:
        remittances = remittances.filter(currency=values["currency"])
    status = values.get("status")
    if status == "unmatched":
        remittances = remittances.filter(unmatched_amount__gt=0)
    elif status == "reconciled":
        remittances = remittances.filter(unmatched_amount=0)
    elif status == "exceptions":
        remittances = remittances.filter(Exists(open_exceptions.filter(remittance=OuterRef("pk"))))
    return remittances.order_by("-paid_on", "-id")


@role_required(*TREASURY_READERS)
def remittance_list(request: HttpRequest) -> HttpResponseBase:
    """Every buyer's remittances, newest first, with the filters treasury reconciles by."""
    filters = RemittanceFilters(request)
    remittances = _remittances(filters)
    if export_format(request):
        return export_response(request, rows=remittances, columns=REMITTANCE_COLUMNS, filename="remesas")
    context = {"nav": "treasury-remittances", "filters": filters, "page": paginate(request, remittances)}
    return render(request, "treasury/remittance_list.html", context)


@role_required(*TREASURY_READERS)
def remittance_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A remittance and its reconciliation: the withholdings it paid, what is left unmatched, and the
    exceptions it raised."""
    remittance = get_object_or_404(Remittance.objects.select_related("buyer", "created_by"), pk=pk)
    matches = list(
        RemittanceMatch.objects.filter(remittance=remittance)
        .select_related("withholding__settlement", "withholding__loan__miner")
        .order_by("withholding__withheld_on", "withholding_id")
    )
    exceptions = list(
        ReconciliationException.objects.filter(remittance=remittance).select_related("resolved_by").order_by("id")
    )
    context = {
        "nav": "treasury-remittances",
        "remittance": remittance,
        "matches": matches,
        "matched": sum((m.amount for m in matches), Decimal("0.00")),
        "exceptions": exceptions,
        "listed": list(remittance.settlements.order_by("settled_on", "id").values_list("lot_code", flat=True)),
        "can_record": roles.has_role(request.user, *roles.TREASURY_WRITERS),
    }
    return render(request, "treasury/remittance_detail.html", context)


# --- The exceptions queue -------------------------------------------------------------------------------


def _refers_to(exception: ReconciliationException) -> str:
    if exception.withholding_id:
        withholding = exception.withholding
        assert withholding is not None
        return f"{withholding.settlement.lot_code} · {withholding.loan.code} · {withholding.loan.miner.full_name}"
    if exception.remittance_id:
        assert exception.remittance is not None
        return exception.remittance.reference
    return ""


EXCEPTION_COLUMNS = [
    Column(gettext_lazy("Detected on"), "detected_on", kind=Column.DATE),
    Column(gettext_lazy("Age (days)"), "age", kind=Column.INTEGER),
    Column(gettext_lazy("Buyer"), "buyer.name"),
    Column(gettext_lazy("RUC"), "buyer.ruc"),
    Column(gettext_lazy("Kind"), lambda e: e.get_kind_display()),
    Column(gettext_lazy("Refers to"), _refers_to),
    Column(gettext_lazy("Currency"), "currency"),
    Column(gettext_lazy("Amount"), "amount", kind=Column.MONEY),
    Column(gettext_lazy("Detail"), exception_description),
    Column(gettext_lazy("Status"), lambda e: e.get_status_display()),
    Column(gettext_lazy("Resolution"), lambda e: e.get_resolution_display()),
    Column(gettext_lazy("Resolution note"), exception_resolution),
    Column(gettext_lazy("Resolved by"), lambda e: _person(e.resolved_by) if e.resolved_at else ""),
    Column(gettext_lazy("Resolved at"), "resolved_at", kind=Column.DATETIME),
]


def _exceptions(filters: ExceptionFilters, today: dt.date) -> QuerySet[ReconciliationException]:
    values = filters.values
    exceptions = ReconciliationException.objects.select_related(
        "buyer", "remittance", "withholding__settlement", "withholding__loan__miner", "resolved_by"
    ).annotate(
        # An exception has no currency of its own: it is the remittance's or the withholding's.
        currency=Coalesce("remittance__currency", "withholding__currency", Value("PEN")),
    )
    status = values.get("status", ReconciliationException.Status.OPEN)
    if status != "all":
        exceptions = exceptions.filter(status=status)
    if "buyer" in values:
        exceptions = exceptions.filter(buyer_id=values["buyer"])
    if "kind" in values:
        exceptions = exceptions.filter(kind=values["kind"])
    if "age" in values:
        exceptions = exceptions.filter(detected_on__lte=today - dt.timedelta(days=values["age"]))
    return exceptions.order_by("detected_on", "id")


def _with_age(exceptions: Any, today: dt.date) -> Any:
    for exception in exceptions:
        exception.age = (today - exception.detected_on).days
        yield exception


@role_required(*TREASURY_READERS)
def exception_queue(request: HttpRequest) -> HttpResponseBase:
    """One queue of reconciliation exceptions for all buyers, oldest first, resolved from the row."""
    today = timezone.localdate()
    filters = ExceptionFilters(request)
    exceptions = _exceptions(filters, today)
    if export_format(request):
        rows = _with_age(exceptions.iterator(chunk_size=2000), today)
        return export_response(request, rows=rows, columns=EXCEPTION_COLUMNS, filename="excepciones")
    page = paginate(request, exceptions)
    page.object_list = list(_with_age(page.object_list, today))
    context = {
        "nav": "treasury-exceptions",
        "filters": filters,
        "page": page,
        "resolve_form": ResolveForm(),
        "can_resolve": roles.has_role(request.user, *roles.TREASURY_WRITERS),
        "here": request.get_full_path(),
    }
    return render(request, "treasury/exception_queue.html", context)
