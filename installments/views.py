"""Servicing pages: direct payments and prepayments, buyers with their withholdings, remittances and
reconciliation exceptions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from asmcredit import roles
from asmcredit.exports import Column, export_format, export_response
from asmcredit.listing import ListFilters, choice_field, count_per_row, search_field
from asmcredit.templatetags.money import format_money
from asmcredit.web import OFFICERS, STAFF, paginate, role_required
from buyers.models import Buyer, SupplierRelationship
from installments.forms import CreditApplyForm, CreditRefundForm, PaymentForm, ResolveForm
from installments.models import ReconciliationException, Remittance, Withholding
from installments.services.common import COLLECTING_STATUSES
from loans.models import Loan
from miners.identity import DEPARTMENTS

MONEY: Any = DecimalField(max_digits=16, decimal_places=2)


def _messages_of(exc: ValidationError) -> list[str]:
    return [str(m) for m in exc.messages]


# --- Payments --------------------------------------------------------------------------------------------


def _options(loan: Loan, form: PaymentForm) -> tuple[dict[str, Any] | None, list[str]]:
    from installments.services import prepayment_options

    try:
        return (
            prepayment_options(
                loan=loan,
                amount=form.cleaned_data["amount"],
                paid_on=form.cleaned_data["paid_on"],
                treatment=form.cleaned_data.get("treatment") or "auto",
            ),
            [],
        )
    except ValidationError as exc:
        return None, _messages_of(exc)


@role_required(*OFFICERS)
def payment(request: HttpRequest, pk: int) -> HttpResponse:
    """Record a direct payment or a prepayment: the options (adelanto, or pago anticipado with a shorter
    term or a lower installment) are shown before anything is recorded."""
    from installments.services import payment_record

    loan = get_object_or_404(Loan.objects.select_related("miner", "product"), pk=pk)
    form = PaymentForm(
        request.POST or None,
        initial={"paid_on": timezone.localdate(), "prepayment_mode": "reduce_term", "treatment": "auto"},
    )
    options = None
    problems: list[str] = []
    over_limit = ""
    if request.method == "POST" and form.is_valid():
        options, problems = _options(loan, form)
        over_limit = _over_limit(loan, options)
        # Only the form's own submission records: htmx's preview also carries the confirm button once it
        # was pressed (a change still pending when it was would post a second, recorded payment).
        confirmed = request.POST.get("action") == "confirm" and not getattr(request, "htmx", False)
        if confirmed and options is not None:
            try:
                transaction = payment_record(
                    loan=loan,
                    amount=form.cleaned_data["amount"],
                    paid_on=form.cleaned_data["paid_on"],
                    actor=request.user,
                    reference=form.cleaned_data["reference"],
                    prepayment_mode=form.cleaned_data["prepayment_mode"] or None,
                    treatment=form.cleaned_data.get("treatment") or "auto",
                )
            except ValidationError as exc:
                problems = _messages_of(exc)
            else:
                applied = _("pago anticipado") if options["kind"] == "anticipado" else _("adelanto de cuotas")
                if loan.status == Loan.Status.WRITTEN_OFF:
                    # Castigo: the balance left the book, so what arrives is income (DOMAIN.md §7).
                    applied = _("a recovery of a written-off loan")
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded (%(applied)s).")
                    % {"applied": applied, "amount": format_money(transaction.amount, transaction.currency)},
                )
                return redirect("loans:detail", pk=loan.pk)
    context = {
        "nav": "loans",
        "loan": loan,
        "form": form,
        "options": options,
        "problems": problems,
        "over_limit": over_limit,
        "prepay": bool(request.GET.get("prepay")),
        "payoff": _payoff_on(loan, options["paid_on"] if options else timezone.localdate()),
    }
    if getattr(request, "htmx", False):
        return render(request, "loans/_payment_options.html", context)
    return render(request, "loans/payment.html", context)


def _over_limit(loan: Loan, options: dict[str, Any] | None) -> str:
    """Why the amount previewed cannot be recorded, or "": above the payoff that day, which closes the
    loan (the largest payment ``payment_record`` accepts, and it refuses more on confirmation too)."""
    if options is None or options["amount"] <= options["maximum"]:
        return ""
    return _("The amount is more than the payoff on %(date)s (%(payoff)s): no payment can be larger.") % {
        "date": date_format(options["paid_on"], "SHORT_DATE_FORMAT"),
        "payoff": format_money(options["maximum"], loan.currency),
    }


def _payoff_on(loan: Loan, on: dt.date) -> Any:
    from installments.services import payoff_quote

    if loan.status not in COLLECTING_STATUSES or loan.disbursed_on is None or on < loan.disbursed_on:
        return None
    return payoff_quote(loan=loan, on=on)


@role_required(*OFFICERS)
def credit(request: HttpRequest, pk: int) -> HttpResponse:
    """Refund a loan's overpayment credit (with the bank reference) or apply it to another loan of the
    same miner (with the reference of the miner's written request)."""
    from installments.services import overpayment_apply, overpayment_refund

    loan = get_object_or_404(Loan.objects.select_related("miner"), pk=pk)
    today = timezone.localdate()
    action = request.POST.get("action")
    refund_form = CreditRefundForm(
        request.POST if action == "refund" else None,
        initial={"amount": loan.overpayment_credit, "refunded_on": today},
    )
    apply_form = CreditApplyForm(
        request.POST if action == "apply" else None,
        loan=loan,
        initial={"amount": loan.overpayment_credit, "applied_on": today},
    )
    if request.method == "POST":
        try:
            if action == "refund" and refund_form.is_valid():
                overpayment_refund(loan=loan, actor=request.user, **refund_form.cleaned_data)
                messages.success(request, _("Credit refunded."))
                return redirect("loans:detail", pk=loan.pk)
            if action == "apply" and apply_form.is_valid():
                overpayment_apply(loan=loan, actor=request.user, **apply_form.cleaned_data)
                messages.success(request, _("Credit applied to the other loan."))
                return redirect("loans:detail", pk=loan.pk)
        except ValidationError as exc:
            form = refund_form if action == "refund" else apply_form
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
    context = {"nav": "loans", "loan": loan, "refund_form": refund_form, "apply_form": apply_form}
    return render(request, "loans/credit.html", context, status=400 if request.method == "POST" else 200)


# --- Buyers ----------------------------------------------------------------------------------------------


def _owed_subquery() -> Coalesce:
    open_withholdings = (
        Withholding.objects.filter(
            buyer=OuterRef("pk"), status__in=[Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL]
        )
        .order_by()
        .values("buyer")
        .annotate(total=Sum(F("amount") - F("remitted_amount")))
        .values("total")
    )
    return Coalesce(Subquery(open_withholdings, output_field=MONEY), Value(Decimal("0.00")), output_field=MONEY)


class BuyerFilters(ListFilters):
    q = search_field(gettext_lazy("Search"), gettext_lazy("Name or RUC"))
    region = choice_field(gettext_lazy("Region"), sorted(DEPARTMENTS.items(), key=lambda item: item[1]), coerce=str)
    kind = choice_field(gettext_lazy("Kind"), Buyer.Kind.choices, coerce=str)


BUYER_COLUMNS = [
    Column(gettext_lazy("Buyer"), "name"),
    Column("RUC", "ruc"),
    Column(gettext_lazy("Kind"), lambda buyer: buyer.get_kind_display()),
    Column(gettext_lazy("Region"), lambda buyer: DEPARTMENTS.get(buyer.region, buyer.region)),
    Column(capfirst(Buyer._meta.get_field("is_active").verbose_name), "is_active"),
    Column(gettext_lazy("Suppliers"), "suppliers", kind=Column.INTEGER),
    Column(gettext_lazy("Active loans"), "active_loans", kind=Column.INTEGER),
    Column(gettext_lazy("Unremitted"), "owed", kind=Column.MONEY),
    Column(gettext_lazy("Open exceptions"), "open_exceptions", kind=Column.INTEGER),
]


@role_required(*STAFF)
def buyer_list(request: HttpRequest) -> HttpResponseBase:
    filters = BuyerFilters(request)
    values = filters.values
    buyers = Buyer.objects.all()
    if "q" in values:
        query = values["q"]
        digits = "".join(query.split())
        buyers = buyers.filter(Q(ruc=digits) if digits.isdigit() else Q(name__icontains=query))
    if "region" in values:
        buyers = buyers.filter(region=values["region"])
    if "kind" in values:
        buyers = buyers.filter(kind=values["kind"])
    buyers = buyers.annotate(
        owed=_owed_subquery(),
        open_exceptions=count_per_row(
            ReconciliationException.objects.filter(status=ReconciliationException.Status.OPEN), link="buyer"
        ),
        suppliers=count_per_row(
            SupplierRelationship.objects.filter(status=SupplierRelationship.Status.ACTIVE), link="buyer"
        ),
        active_loans=count_per_row(Loan.objects.filter(status=Loan.Status.ACTIVE), link="withholding_buyer"),
    ).order_by("name", "id")
    if export_format(request):
        return export_response(request, rows=buyers, columns=BUYER_COLUMNS, filename="compradores")
    page = paginate(request, buyers)
    return render(request, "buyers_ui/list.html", {"nav": "buyers", "page": page, "filters": filters})


@role_required(*STAFF)
def buyer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    from installments.selectors import buyer_balance_owed

    buyer = get_object_or_404(Buyer, pk=pk)
    relationships = list(
        SupplierRelationship.objects.filter(buyer=buyer)
        .select_related("miner")
        .annotate(
            active_loans=Count(
                "miner__loans",
                filter=Q(miner__loans__status=Loan.Status.ACTIVE, miner__loans__withholding_buyer=buyer),
                distinct=True,
            )
        )
        .order_by("miner__last_names")
    )
    withholdings = list(
        Withholding.objects.filter(buyer=buyer)
        .select_related("settlement", "loan__miner")
        .order_by("-withheld_on", "-id")[:30]
    )
    remittances = list(
        Remittance.objects.filter(buyer=buyer).annotate(matched=Count("matches")).order_by("-paid_on", "-id")[:20]
    )
    exceptions = list(
        ReconciliationException.objects.filter(buyer=buyer)
        .filter(
            # Closed in the last 30 days, by its date (as of the remittance that closed it) or in the books
            # (a remittance of last year loaded today closes last year's exceptions today).
            Q(status=ReconciliationException.Status.OPEN)
            | Q(resolved_at__gte=timezone.now() - dt.timedelta(days=30))
            | Q(status=ReconciliationException.Status.RESOLVED, updated__gte=timezone.now() - dt.timedelta(days=30))
        )
        .select_related("remittance", "withholding__settlement", "resolved_by")
        .order_by("status", "-detected_on")
    )
    context = {
        "nav": "buyers",
        "buyer": buyer,
        "relationships": relationships,
        "withholdings": withholdings,
        "remittances": remittances,
        "exceptions": exceptions,
        "open_exceptions": sum(1 for e in exceptions if e.status == ReconciliationException.Status.OPEN),
        "owed": buyer_balance_owed(buyer=buyer),
        "resolve_form": ResolveForm(),
        "can_resolve": roles.has_role(request.user, *roles.TREASURY_WRITERS),
    }
    return render(request, "buyers_ui/detail.html", context)


@require_POST
@role_required(*roles.TREASURY_WRITERS)
def exception_resolve(request: HttpRequest, pk: int) -> HttpResponse:
    """Resolve from the buyer page or the exceptions queue; back to the page (``next``) it came from."""
    from installments.services import exception_resolve as resolve

    exception = get_object_or_404(ReconciliationException, pk=pk)
    form = ResolveForm(request.POST)
    if not form.is_valid():
        if "resolution" in form.errors:
            messages.error(request, _("Choose what was done about the exception."))
        else:
            messages.error(request, _("Say how the exception was resolved."))
    else:
        try:
            resolve(
                exception=exception,
                actor=request.user,
                note=form.cleaned_data["note"],
                resolution=form.cleaned_data["resolution"] or ReconciliationException.Resolution.OTHER,
            )
        except ValidationError as exc:
            messages.error(request, " ".join(_messages_of(exc)))
        else:
            messages.success(request, _("Exception resolved."))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return redirect(back)
    return redirect(reverse("installments:buyer-detail", args=[exception.buyer_id]) + "#exceptions")
