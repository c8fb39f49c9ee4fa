"""The underwriting panel: eligibility checklist, repayment capacity and a recommendation.

The officer sees it live while preparing an application; ``application_submit`` freezes it (``as_dict``)
on the application so the credit committee decides on what the officer saw.

Repayment capacity comes from the miner's ore settlements (liquidaciones), the same money the buyer
will withhold installments from: the **median** monthly payable over the last 12 full months (months
without a delivery count as zero, so side-selling and pauses show) and its **volatility** (coefficient
of variation). The installment, with the miner's other active loans' installments, is compared with
that capacity against the product's limit (``max_installment_to_capacity_pct``). "Other" installments are
those of the miner's active loans **and** of applications approved but not yet disbursed (DOMAIN.md §7):
an approval commits the capacity before the money leaves.

The arithmetic (``monthly_totals``, ``median``, ``coefficient_of_variation``, ``recommend``) is pure;
``underwriting_panel`` gathers the data with a fixed, small number of queries.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit.money import PRECISION, ZERO, money, round_half_up
from loans import sbs
from miners.identity import is_valid_ce, is_valid_dni, is_valid_ruc

Recommendation = Literal["approve", "review", "decline"]

CAPACITY_MONTHS = 12
RELATIONSHIP_MIN_MONTHS = 6
# "Regular deliveries": settlements with the withholding buyer in at least 4 of the last 6 full months.
REGULAR_WINDOW_MONTHS = 6
REGULAR_MIN_MONTHS = 4
# Above this coefficient of variation the monthly payable is too erratic to approve without a review.
HIGH_VOLATILITY = Decimal("0.60")
# An installment this many times over the product's limit is declined outright, not reviewed.
DECLINE_RATIO_MULTIPLE = Decimal("1.5")
# Days past due from which a loan is CPP or worse (SBS, DOMAIN.md §6).
CPP_MIN_DPD = sbs.min_dpd(sbs.Category.CPP)

CHECK_IDENTITY = "identity"
CHECK_REINFO = "reinfo"
CHECK_RELATIONSHIP = "buyer_relationship"
CHECK_NO_CPP = "no_cpp_loans"
# A failed hard check declines; a failed soft check asks the committee to look closer.
HARD_CHECKS = frozenset({CHECK_IDENTITY, CHECK_REINFO, CHECK_NO_CPP})


@dataclass(frozen=True)
class Check:
    code: str
    label: str
    ok: bool
    detail: str

    def __iter__(self):  # type: ignore[no-untyped-def]
        # So a check unpacks as the (code, label, ok, detail) tuple the contract describes.
        return iter((self.code, self.label, self.ok, self.detail))


@dataclass(frozen=True)
class Capacity:
    """Repayment capacity from the settlement history, in the loan's currency."""

    currency: str
    months: tuple[tuple[str, Decimal], ...]  # ("2025-03", total payable), oldest first
    settlements: int
    median_monthly: Decimal
    mean_monthly: Decimal
    volatility: Decimal | None  # coefficient of variation; None without any payable
    other_installments: Decimal  # the miner's other active loans and approved applications, per month

    @property
    def available(self) -> Decimal:
        return self.median_monthly - self.other_installments


@dataclass
class UnderwritingPanel:
    as_of: dt.date
    checks: list[Check]
    capacity: Capacity
    installment: Decimal
    ratio_pct: Decimal | None  # (installment + other installments) / median monthly payable, percent
    limit_pct: Decimal
    recommendation: Recommendation
    reasons: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def within_limit(self) -> bool:
        return self.ratio_pct is not None and self.ratio_pct <= self.limit_pct

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (Decimals as strings), as frozen on the application at submission."""

        def text(value: Decimal | None) -> str | None:
            return None if value is None else str(value)

        return {
            "as_of": self.as_of.isoformat(),
            "checks": [{"code": c.code, "label": c.label, "ok": c.ok, "detail": c.detail} for c in self.checks],
            "capacity": {
                "currency": self.capacity.currency,
                "months": [{"month": month, "payable": str(amount)} for month, amount in self.capacity.months],
                "settlements": self.capacity.settlements,
                "median_monthly": str(self.capacity.median_monthly),
                "mean_monthly": str(self.capacity.mean_monthly),
                "volatility": text(self.capacity.volatility),
                "other_installments": str(self.capacity.other_installments),
            },
            "installment": str(self.installment),
            "ratio_pct": text(self.ratio_pct),
            "limit_pct": str(self.limit_pct),
            "recommendation": self.recommendation,
            "reasons": list(self.reasons),
        }


# --- Pure arithmetic -------------------------------------------------------------------------------


def month_key(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def months_before(as_of: dt.date, count: int) -> list[str]:
    """The ``count`` full calendar months before ``as_of``'s month, oldest first."""
    year, month = as_of.year, as_of.month
    keys = []
    for _step in range(count):
        month -= 1
        if month == 0:
            year, month = year - 1, 12
        keys.append(f"{year:04d}-{month:02d}")
    return list(reversed(keys))


def monthly_totals(amounts: Iterable[tuple[dt.date, Decimal]], months: Sequence[str]) -> list[Decimal]:
    """Sum of amounts per month in ``months`` (zero for a month without any)."""
    totals = dict.fromkeys(months, ZERO)
    for day, amount in amounts:
        key = month_key(day)
        if key in totals:
            totals[key] += amount
    return [money(totals[key]) for key in months]


def median(values: Sequence[Decimal]) -> Decimal:
    if not values:
        return ZERO
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return money(ordered[middle])
    return money((ordered[middle - 1] + ordered[middle]) / 2)


def coefficient_of_variation(values: Sequence[Decimal]) -> Decimal | None:
    """Population standard deviation over the mean, to 4 decimals; None when the mean is zero."""
    if not values:
        return None
    with localcontext() as ctx:
        ctx.prec = PRECISION
        mean = sum(values, ZERO) / len(values)
        if mean == 0:
            return None
        variance = sum(((v - mean) ** 2 for v in values), ZERO) / len(values)
        return round_half_up(variance.sqrt() / mean, 4)


def installment_ratio_pct(installment: Decimal, other_installments: Decimal, median_monthly: Decimal) -> Decimal | None:
    """All the miner's installments as a percentage of the median monthly payable; None without capacity."""
    if median_monthly <= 0:
        return None
    return round_half_up((installment + other_installments) / median_monthly * 100, 2)


def recommend(
    *,
    checks: Sequence[Check],
    ratio_pct: Decimal | None,
    limit_pct: Decimal,
    volatility: Decimal | None,
    has_history: bool,
) -> tuple[Recommendation, list[str]]:
    """Decline on a failed hard check or an installment far beyond capacity; review on anything softer.

    ``has_history`` is whether any settlement fell in the capacity window; with history but no ratio the
    median month was empty (deliveries in fewer than half of the months), which declines.
    """
    decline: list[str] = []
    review: list[str] = []
    for check in checks:
        if not check.ok:
            (decline if check.code in HARD_CHECKS else review).append(f"{check.label}: {check.detail}")
    limit = format(limit_pct.normalize(), "f")
    if not has_history:
        review.append(_("No settlement history in the last 12 months: capacity cannot be measured."))
    elif ratio_pct is None:
        decline.append(_("The miner delivered ore in fewer than half of the last 12 months."))
    elif ratio_pct > limit_pct * DECLINE_RATIO_MULTIPLE:
        decline.append(
            _("Installments take %(ratio)s%% of the monthly payable, far above the limit of %(limit)s%%.")
            % {"ratio": ratio_pct, "limit": limit}
        )
    elif ratio_pct > limit_pct:
        review.append(
            _("Installments take %(ratio)s%% of the monthly payable, above the limit of %(limit)s%%.")
            % {"ratio": ratio_pct, "limit": limit}
        )
    if has_history and volatility is not None and volatility > HIGH_VOLATILITY:
        review.append(_("The monthly payable is volatile (coefficient of variation %(cv)s).") % {"cv": volatility})
    if decline:
        return "decline", decline + review
    if review:
        return "review", review
    reasons = [_("All eligibility checks pass.")]
    if ratio_pct is not None:
        reasons.append(
            _("Installments take %(ratio)s%% of the monthly payable, within the limit of %(limit)s%%.")
            % {"ratio": ratio_pct, "limit": limit}
        )
    return "approve", reasons


def failed_eligibility(underwriting: dict[str, Any]) -> list[str]:
    """What a frozen panel (``UnderwritingPanel.as_dict``) failed that an approval would override: each
    failed hard check, and the decline reasons when the panel recommended declining. Empty when none."""
    if not underwriting:
        return []
    failed = [
        f"{check.get('label', check.get('code'))}: {check.get('detail', '')}"
        for check in underwriting.get("checks", [])
        if check.get("code") in HARD_CHECKS and not check.get("ok")
    ]
    if underwriting.get("recommendation") == "decline":
        failed += [reason for reason in underwriting.get("reasons", []) if reason not in failed]
    return failed


# --- Gathering the data ----------------------------------------------------------------------------


def _identity_check(miner: Any) -> Check:
    label = _("Identity document valid")
    problems = []
    if miner.document_type == "DNI":
        if not is_valid_dni(miner.document_number):
            problems.append(_("the DNI must have exactly 8 digits"))
    elif not is_valid_ce(miner.document_number):
        problems.append(_("the carné de extranjería is not valid"))
    if miner.ruc and not is_valid_ruc(miner.ruc):
        problems.append(_("the RUC's check digit is wrong"))
    if problems:
        return Check(CHECK_IDENTITY, label, False, "; ".join(problems))
    detail = f"{miner.document_type} {miner.document_number}"
    if miner.ruc:
        detail += f" · RUC {miner.ruc}"
    return Check(CHECK_IDENTITY, label, True, detail)


def _reinfo_check(miner: Any, product: Any) -> Check:
    label = _("REINFO registration")
    if not product.requires_reinfo:
        return Check(CHECK_REINFO, label, True, _("Not required for this product."))
    if miner.reinfo_active:
        return Check(CHECK_REINFO, label, True, _("VIGENTE (%(code)s)") % {"code": miner.reinfo_code})
    if miner.reinfo_code:
        return Check(
            CHECK_REINFO,
            label,
            False,
            _("%(code)s is %(status)s; this product requires VIGENTE.")
            % {"code": miner.reinfo_code, "status": miner.get_reinfo_status_display()},
        )
    return Check(CHECK_REINFO, label, False, _("Not registered; this product requires REINFO VIGENTE."))


def _relationship_check(
    *, buyer: Any, relationship: Any, delivery_months: set[str], as_of: dt.date, product: Any
) -> Check:
    label = _("Relationship with the withholding buyer")
    if buyer is None:
        if product.purpose == "micro_enterprise":
            return Check(CHECK_RELATIONSHIP, label, True, _("Not required: installments are paid directly."))
        return Check(CHECK_RELATIONSHIP, label, False, _("No withholding buyer chosen."))
    if relationship is None:
        return Check(
            CHECK_RELATIONSHIP, label, False, _("The miner is not a supplier of %(buyer)s.") % {"buyer": buyer}
        )
    if relationship.status != "active":
        return Check(
            CHECK_RELATIONSHIP,
            label,
            False,
            _("The relationship with %(buyer)s is %(status)s.")
            % {"buyer": buyer, "status": relationship.get_status_display()},
        )
    months_since = (as_of.year - relationship.since.year) * 12 + as_of.month - relationship.since.month
    if as_of.day < relationship.since.day:
        months_since -= 1
    window = months_before(as_of, REGULAR_WINDOW_MONTHS)
    active_months = sum(1 for key in window if key in delivery_months)
    problems = []
    if months_since < RELATIONSHIP_MIN_MONTHS:
        problems.append(
            _("supplier for %(n)s months (at least %(min)s needed)")
            % {"n": max(months_since, 0), "min": RELATIONSHIP_MIN_MONTHS}
        )
    if active_months < REGULAR_MIN_MONTHS:
        problems.append(
            _("deliveries in %(n)s of the last %(window)s months (at least %(min)s needed)")
            % {"n": active_months, "window": REGULAR_WINDOW_MONTHS, "min": REGULAR_MIN_MONTHS}
        )
    if problems:
        return Check(CHECK_RELATIONSHIP, label, False, "; ".join(problems))
    return Check(
        CHECK_RELATIONSHIP,
        label,
        True,
        _("%(buyer)s since %(since)s; deliveries in %(n)s of the last %(window)s months.")
        % {
            "buyer": buyer,
            "since": relationship.since.strftime("%d/%m/%Y"),
            "n": active_months,
            "window": REGULAR_WINDOW_MONTHS,
        },
    )


def _cpp_check(troubled: Sequence[tuple[str, int]]) -> Check:
    label = _("No loan rated CPP or worse")
    if troubled:
        loans = ", ".join(f"{code} ({dpd} d)" for code, dpd in troubled)
        return Check(CHECK_NO_CPP, label, False, _("Loans past due: %(loans)s") % {"loans": loans})
    return Check(CHECK_NO_CPP, label, True, _("No active loan is 9 or more days past due."))


def underwriting_panel(*, application: Any, as_of: dt.date | None = None) -> UnderwritingPanel:
    """The panel for ``application`` as of ``as_of`` (today by default), in four or five queries."""
    from buyers.models import Settlement, SupplierRelationship
    from loans.models import Loan, LoanApplication
    from loans.services import application_schedule

    as_of = as_of or timezone.localdate()
    miner = application.miner
    product = application.product
    buyer = application.withholding_buyer
    currency = product.currency

    window = months_before(as_of, CAPACITY_MONTHS)
    start = dt.date(int(window[0][:4]), int(window[0][5:]), 1)
    rows = list(
        Settlement.objects.filter(
            miner_id=miner.pk,
            status=Settlement.Status.POSTED,
            settled_on__gte=start,
            settled_on__lt=as_of.replace(day=1),
        ).values_list("buyer_id", "settled_on", "payable_usd", "exchange_rate")
    )

    def in_loan_currency(payable_usd: Decimal, rate: Decimal) -> Decimal:
        return payable_usd if currency == "USD" else payable_usd * rate

    amounts = [(day, in_loan_currency(payable, rate)) for _buyer, day, payable, rate in rows]
    monthly = monthly_totals(amounts, window)

    relationship = None
    delivery_months: set[str] = set()
    if buyer is not None:
        relationship = SupplierRelationship.objects.filter(buyer_id=buyer.pk, miner_id=miner.pk).first()
        delivery_months = {month_key(day) for buyer_id, day, _p, _r in rows if buyer_id == buyer.pk}

    # One query for the miner's other commitments: applications with an active loan, and applications
    # approved but not disbursed yet, whose installment comes from the terms that were approved.
    others = list(
        LoanApplication.objects.filter(miner_id=miner.pk)
        .filter(Q(loan__status=Loan.Status.ACTIVE) | Q(status=LoanApplication.Status.APPROVED))
        .exclude(pk=application.pk)
        .select_related("product", "loan")
    )
    other_loans = [other.loan for other in others if other.status != LoanApplication.Status.APPROVED]
    # The latest rating's category, so a loan rated CPP last night counts even if paid this morning.
    troubled = [
        (loan.code, loan.days_past_due)
        for loan in other_loans
        if loan.days_past_due >= CPP_MIN_DPD or (loan.rated_category and loan.rated_category != sbs.Category.NORMAL)
    ]
    committed = [loan.installment_amount for loan in other_loans if loan.currency == currency]
    for other in others:
        if other.status == LoanApplication.Status.APPROVED and other.product.currency == currency:
            try:
                committed.append(max((line.total for line in application_schedule(other).lines), default=ZERO))
            except ValidationError:
                continue  # terms that no longer make a cronograma cannot be disbursed either
    other_installments = money(sum(committed, ZERO))

    try:
        schedule = application_schedule(application)
        # The largest line, so insurance and fees (and the last line's remainder) are covered too.
        installment = max((line.total for line in schedule.lines), default=ZERO)
    except ValidationError:
        installment = ZERO

    median_monthly = median(monthly)
    capacity = Capacity(
        currency=currency,
        months=tuple(zip(window, monthly, strict=True)),
        settlements=len(rows),
        median_monthly=median_monthly,
        mean_monthly=money(sum(monthly, ZERO) / len(monthly)),
        volatility=coefficient_of_variation(monthly),
        other_installments=other_installments,
    )
    ratio_pct = installment_ratio_pct(installment, other_installments, median_monthly)

    checks = [
        _identity_check(miner),
        _reinfo_check(miner, product),
        _relationship_check(
            buyer=buyer, relationship=relationship, delivery_months=delivery_months, as_of=as_of, product=product
        ),
        _cpp_check(troubled),
    ]
    limit_pct = Decimal(product.max_installment_to_capacity_pct)
    recommendation, reasons = recommend(
        checks=checks,
        ratio_pct=ratio_pct,
        limit_pct=limit_pct,
        volatility=capacity.volatility,
        has_history=bool(rows),
    )
    return UnderwritingPanel(
        as_of=as_of,
        checks=checks,
        capacity=capacity,
        installment=installment,
        ratio_pct=ratio_pct,
        limit_pct=limit_pct,
        recommendation=recommendation,
        reasons=reasons,
    )
