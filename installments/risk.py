"""Risk rating, provisions, portfolio at risk and early warnings (DOMAIN.md §6).

Categories and provision rates follow SBS Res. 11356-2008 for micro and small business loans. Rates are
fractions; provisions are amounts rounded to the céntimo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from itertools import pairwise

from asmcredit.money import ZERO, money, round_half_up
from loans.sbs import (
    DPD_BANDS,
    PROVISION_RATES,
    Band,
    Category,
    category_for_dpd,
    collateral_covered_share,
    dpd_upper_bounds,
    min_dpd,
    provision_rate,
    worst,
    worst_band,
)
from loans.schedule import due_dates

# The SBS rule itself (categories, dpd bands, provision rates) lives in ``loans.sbs``, below servicing,
# so underwriting reads the same numbers; it is re-exported here with the rest of the rating.
__all__ = [
    "ALIGNMENT_MIN_AMOUNT",
    "ALIGNMENT_MIN_SHARE",
    "COLLATERAL_POLICY_EXPIRED",
    "DPD_BANDS",
    "GUARANTEE_CLAIM_DPD",
    "NO_DELIVERIES",
    "NO_DELIVERY_INTERVALS",
    "NO_DELIVERY_MIN_DAYS",
    "PROVISION_RATES",
    "VOLUME_DROP",
    "VOLUME_DROP_RATIO",
    "WITHHOLDINGS_AVERAGED",
    "WITHHOLDING_SHORT",
    "Band",
    "Category",
    "aligned_category",
    "category_for_dpd",
    "collateral_covered_share",
    "dpd_upper_bounds",
    "early_warnings",
    "guarantee_claim",
    "guarantee_claimable",
    "guarantee_coverage",
    "median_interval_days",
    "min_dpd",
    "par",
    "provision",
    "provision_rate",
    "refinance_category",
    "refinance_floor",
    "RefinanceFloor",
    "worst",
    "worst_band",
]

# Internal alignment ignores worse loans adding up to less than the greater of these (DOMAIN.md §6).
ALIGNMENT_MIN_AMOUNT = Decimal("100")
ALIGNMENT_MIN_SHARE = Decimal("0.01")

GUARANTEE_CLAIM_DPD = 90

NO_DELIVERIES = "no_deliveries"
VOLUME_DROP = "volume_drop"
WITHHOLDING_SHORT = "withholding_short"
NO_DELIVERY_MIN_DAYS = 30
NO_DELIVERY_INTERVALS = 3
VOLUME_DROP_RATIO = Decimal("0.5")
WITHHOLDINGS_AVERAGED = 3
# A rating warning, not a buyer signal: registered collateral whose insurance policy expired by the date.
COLLATERAL_POLICY_EXPIRED = "collateral_policy_expired"


def provision(balance: Decimal, category: Category, covered_share: Decimal = Decimal(0)) -> Decimal:
    """Provision for ``balance``: the share covered by a preferred guarantee at the lower rate."""
    if not 0 <= covered_share <= 1:
        raise ValueError("The covered share must be between 0 and 1.")
    covered = Decimal(balance) * covered_share
    uncovered = Decimal(balance) - covered
    return money(
        uncovered * provision_rate(category, preferred_guarantee=False)
        + covered * provision_rate(category, preferred_guarantee=True)
    )


def aligned_category(loans: Sequence[tuple[Category, Decimal]]) -> Category:
    """Alineamiento interno: the one category a debtor gets across its loans with the lender.

    ``loans`` are (category, balance) with every balance in soles: the caller states a foreign-currency
    balance at the exchange rate of the as-of date (``rates.fx``; DOMAIN.md §4), never at 1.

    Start from the worst category present. If the loans strictly worse than the next-worse category
    present (every loan at or above the candidate, including those already set aside) add up to less
    than ``max(S/ 100, 1% of the debtor's total debt)``, set them aside and try the next-worse category;
    otherwise the candidate is the debtor's category. The best category present is the floor. Set-aside
    loans keep counting, so several small bad loans cannot slip under the threshold one at a time.
    """
    if not loans:
        raise ValueError("A debtor to align needs at least one loan.")
    total = sum((Decimal(balance) for _, balance in loans), ZERO)
    threshold = max(ALIGNMENT_MIN_AMOUNT, total * ALIGNMENT_MIN_SHARE)
    present = sorted({category for category, _ in loans}, key=lambda c: c.severity, reverse=True)
    for candidate in present[:-1]:
        at_or_worse = sum(
            (Decimal(balance) for category, balance in loans if category.severity >= candidate.severity),
            ZERO,
        )
        if at_or_worse >= threshold:
            return candidate
    return present[-1]


def par(balances_with_dpd: Iterable[tuple[int, Decimal]], threshold_days: int) -> Decimal:
    """Portfolio at risk: outstanding principal of loans with dpd > ``threshold_days`` over all of it.

    A fraction to 4 decimals; 0 for an empty portfolio. PAR30 is ``par(..., 30)``.
    """
    total = ZERO
    at_risk = ZERO
    for dpd, balance in balances_with_dpd:
        total += balance
        if dpd > threshold_days:
            at_risk += balance
    if total == 0:
        return Decimal("0.0000")
    return round_half_up(at_risk / total, 4)


def guarantee_coverage(term_months: int) -> Decimal:
    """Share of a micro loan a CRECER-like guarantee fund covers: 80% up to 36 months, 85% beyond."""
    if term_months < 1:
        raise ValueError("The term must be at least one month.")
    return Decimal("0.80") if term_months <= 36 else Decimal("0.85")


def guarantee_claimable(dpd: int) -> bool:
    """A claim on the guarantee fund is made after default: 90 or more days past due."""
    return dpd >= GUARANTEE_CLAIM_DPD


def guarantee_claim(outstanding_principal: Decimal, coverage: Decimal) -> Decimal:
    return money(Decimal(outstanding_principal) * coverage)


def median_interval_days(dates: Sequence[date]) -> Decimal | None:
    """Median days between consecutive delivery days; None with fewer than two distinct days.

    Several settlements on one day are one delivery, so they do not pull the median to zero.
    """
    days = sorted(set(dates))
    if len(days) < 2:
        return None
    gaps = sorted((later - earlier).days for earlier, later in pairwise(days))
    middle = len(gaps) // 2
    if len(gaps) % 2:
        return Decimal(gaps[middle])
    return (Decimal(gaps[middle - 1]) + Decimal(gaps[middle])) / 2


def early_warnings(
    *,
    as_of: date,
    settlement_dates: Sequence[date],
    volume_last_90: Decimal,
    volume_prior_90: Decimal,
    recent_withholdings: Sequence[Decimal],
    installment_amount: Decimal,
) -> list[str]:
    """Signals from the buyer relationship that show up before days past due do (DOMAIN.md §6).

    - ``no_deliveries``: no settlement for more than ``max(30, 3 × median interval)`` days, or none ever
      (side-selling to another buyer looks exactly like this).
    - ``volume_drop``: the last 90 days' volume (any unit, TMS or payable, as long as both windows use
      it) is below half of the prior 90 days', when there was prior volume.
    - ``withholding_short``: the average of the last 3 entries of ``recent_withholdings`` is below
      ``installment_amount``. Entries are the amount withheld per installment period (the caller sums
      the settlements of each period), oldest first; fewer than 3 are averaged as they are, none gives
      no signal here because ``no_deliveries`` already covers it.
    """
    warnings = []
    if settlement_dates:
        median = median_interval_days(settlement_dates)
        limit = max(Decimal(NO_DELIVERY_MIN_DAYS), NO_DELIVERY_INTERVALS * median if median else ZERO)
        if Decimal((as_of - max(settlement_dates)).days) > limit:
            warnings.append(NO_DELIVERIES)
    else:
        warnings.append(NO_DELIVERIES)
    if volume_prior_90 > 0 and volume_last_90 < volume_prior_90 * VOLUME_DROP_RATIO:
        warnings.append(VOLUME_DROP)
    recent = list(recent_withholdings)[-WITHHOLDINGS_AVERAGED:]
    if recent and installment_amount > 0 and sum(recent, ZERO) / len(recent) < installment_amount:
        warnings.append(WITHHOLDING_SHORT)
    return warnings


# --- Refinanciación (DOMAIN.md §7; SBS Res. 11356-2008, refinanced credits) ------------------------------


def refinance_category(categories: Iterable[Category]) -> Category:
    """The debtor's category at the moment of refinancing: the worst of ``categories`` (the refinanced
    loans' current and rated categories, and any floor they already carried), and never better than CPP:
    a debtor rated Normal is reclassified CPP, a worse category is kept."""
    return worst([Category.CPP, *categories])


@dataclass(frozen=True)
class RefinanceFloor:
    """The category a refinanced loan cannot be rated better than on a day, and since when its current
    punctuality window runs."""

    category: Category
    punctual_since: date


def _late(due_on: date, paid_on: date | None, on: date, grace_days: int) -> date | None:
    """When an installment due on ``due_on`` stopped being punctual as seen on ``on``: the day it was paid
    in full if that was more than ``grace_days`` after its due date, ``on`` if it is still unpaid that
    long after it; None when it is punctual (or not yet late)."""
    limit = due_on + timedelta(days=grace_days)
    if paid_on is not None:
        return paid_on if paid_on > limit else None
    return on if on > limit else None


def refinance_floor(
    *,
    category: Category,
    refinanced_on: date,
    installments: Iterable[tuple[date, date | None]],
    as_of: date,
    months: int,
    grace_days: int = 0,
) -> RefinanceFloor:
    """The floor of a loan refinanced on ``refinanced_on`` at ``category``, as of ``as_of``.

    ``installments`` are the loan's current installments as ``(due date, day paid in full or None)``.
    The window of punctual payment opens on the refinancing day. It is *met* when ``months`` months have
    passed since it opened and no installment due up to its end was late inside it: paid in full more than
    ``grace_days`` after its due date (on a day after the window opened), or still unpaid that long after
    it. Met,
    the floor improves one category and a new window opens on the day the old one ended (the next step
    needs two more quarters). A late installment restarts the window on the day it was paid in full
    (or, while unpaid, keeps it from opening). The floor never goes below Normal. The result depends
    only on the dates, so a rating for a past day or run twice gives the same floor."""
    lines = sorted((due_on, paid_on) for due_on, paid_on in installments)
    floor = category
    start = refinanced_on
    while floor is not Category.NORMAL:
        end = due_dates(start, months + 1)[-1]
        late_until = None
        for due_on, paid_on in lines:
            if due_on > min(end, as_of):
                break
            late = _late(due_on, paid_on, as_of, grace_days)
            # Lateness already behind the window's opening was counted when it restarted the window.
            if late is not None and late > start:
                late_until = late
                break
        if late_until is not None:
            if late_until >= as_of:
                # Still unpaid (or paid late today): the window reopens once it is paid.
                start = as_of
                break
            start = late_until
            continue
        if end > as_of:
            break
        floor = Category(list(Category)[floor.severity - 1])
        start = end
    return RefinanceFloor(floor, start)
