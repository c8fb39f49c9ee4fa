"""Liquidación: the value of an ore lot a buyer purchases from a miner (DOMAIN.md §4).

All figures are US$ and ``Decimal``. Tonnes are metric (TMH wet, TMS dry); the gold grade (ley) is in
troy ounces per short ton (oz/TC) and the maquila per short ton, which is why the per-short-ton value
is multiplied by 1.10231 short tons per tonne.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from asmcredit.money import HUNDRED, PRECISION, ZERO, money, round_down, round_half_up
from buyers.terms import DEFAULT_PRICE_REFERENCE, AgreedTerms

OZ_PER_TC_IN_G_PER_T = Decimal("34.2857")
G_PER_TROY_OZ = Decimal("31.1035")
SHORT_TONS_PER_TONNE = Decimal("1.10231")

# Grades are kept to 4 decimals in both units: enough that oz/TC → g/t → oz/TC gives back the same
# figure, and finer than any fire assay reports.
GRADE_PLACES = 4
TONNE_PLACES = 3

# Fair-price flags (DOMAIN.md §4): the price credited is under the lender's reference share of INTER; the
# settlement is off the buyer's agreed terms (``SettlementValue.terms_deviations`` names which).
FLAG_PRICE_BELOW_REFERENCE = "price_below_reference"
FLAG_OFF_AGREED_TERMS = "off_agreed_terms"
DEVIATION_MAQUILA = "maquila"
DEVIATION_RC = "rc"
DEVIATION_RECOVERY = "recovery"
SHARE_PLACES = 4


class SettlementError(ValueError):
    """Settlement terms that cannot be valued; ``field`` names the offending term."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


def dry_tonnes(wet_tonnes: Decimal, moisture_pct: Decimal) -> Decimal:
    """TMS = round_down(TMH × (1 − H2O/100), 3); ``moisture_pct`` is a percentage (``8.00``).

    Rounded down so the miner is never paid for moisture the lab measured.
    """
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return round_down(Decimal(wet_tonnes) * (1 - Decimal(moisture_pct) / HUNDRED), TONNE_PLACES)


def g_t_to_oz_tc(grams_per_tonne: Decimal) -> Decimal:
    """Grams per tonne → troy ounces per short ton, to 4 decimals."""
    return round_half_up(Decimal(grams_per_tonne) / OZ_PER_TC_IN_G_PER_T, GRADE_PLACES)


def oz_tc_to_g_t(oz_per_short_ton: Decimal) -> Decimal:
    """Troy ounces per short ton → grams per tonne, to 4 decimals."""
    return round_half_up(Decimal(oz_per_short_ton) * OZ_PER_TC_IN_G_PER_T, GRADE_PLACES)


@dataclass(frozen=True)
class SettlementTerms:
    """One lot as the buyer's lab and price sheet describe it. ``recovery`` is a fraction (0.84)."""

    wet_tonnes: Decimal
    moisture_pct: Decimal
    grade_oz_tc: Decimal
    recovery: Decimal
    gold_price_usd_oz: Decimal
    commercial_deduction_usd_oz: Decimal
    maquila_usd_tc: Decimal
    reagents_usd_tms: Decimal
    freight_usd_tms: Decimal
    other_usd_tms: Decimal = Decimal(0)


@dataclass(frozen=True)
class SettlementValue:
    """The recomputed liquidación.

    ``value_per_tms`` is not rounded: its inputs are finite decimals, so it is exact, and rounding it to
    the cent before multiplying by the tonnage would move the payable (DOMAIN.md §4 example: 1,327.48158542
    × 9.200 = 12,212.83, whereas 1,327.48 × 9.200 = 12,212.82). Store it with at least 8 decimals if it is
    stored at all. ``payable`` is the amount due to the miner, never negative.
    """

    dry_tonnes: Decimal
    value_per_tms: Decimal
    payable: Decimal
    contained_gold_oz: Decimal
    contained_gold_usd: Decimal
    recoverable_gold_oz: Decimal
    price_share: Decimal
    value_share: Decimal
    fair_price_flags: tuple[str, ...] = field(default=())
    terms_deviations: tuple[str, ...] = field(default=())


def _validate(terms: SettlementTerms) -> None:
    if terms.wet_tonnes < 0:
        raise SettlementError("wet_tonnes", "Wet tonnes must not be negative.")
    if not 0 <= terms.moisture_pct < 100:
        raise SettlementError("moisture_pct", "Moisture must be at least 0% and below 100%.")
    if terms.grade_oz_tc < 0:
        raise SettlementError("grade_oz_tc", "The grade must not be negative.")
    if not 0 < terms.recovery <= 1:
        raise SettlementError("recovery", "Recovery must be a fraction above 0 and at most 1.")
    for name in (
        "gold_price_usd_oz",
        "commercial_deduction_usd_oz",
        "maquila_usd_tc",
        "reagents_usd_tms",
        "freight_usd_tms",
        "other_usd_tms",
    ):
        if getattr(terms, name) < 0:
            raise SettlementError(name, "Prices and charges must not be negative.")


def price_share(gold_price_usd_oz: Decimal, commercial_deduction_usd_oz: Decimal) -> Decimal:
    """``(INTER − RC) / INTER`` to 4 decimals: the share of the international price the buyer credits for
    each recovered ounce (DOMAIN.md §4). 0 for a price of 0 (nothing is credited)."""
    inter = Decimal(gold_price_usd_oz)
    if inter <= 0:
        return Decimal("0.0000")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return round_half_up((inter - Decimal(commercial_deduction_usd_oz)) / inter, SHARE_PLACES)


def terms_deviations(terms: SettlementTerms, agreed: AgreedTerms | None) -> tuple[str, ...]:
    """What of the settlement is off the buyer's agreed terms (DOMAIN.md §4), in a fixed order: a maquila
    above the agreed scale for the lot's grade, an RC above the agreed RC, a recovery below the agreed
    recovery. Only what the version agrees is checked; no version in force, nothing is off."""
    if agreed is None:
        return ()
    off = []
    agreed_maquila = agreed.maquila_for(terms.grade_oz_tc)
    if agreed_maquila is not None and terms.maquila_usd_tc > agreed_maquila:
        off.append(DEVIATION_MAQUILA)
    rc = agreed.commercial_deduction_usd_oz
    if rc is not None and terms.commercial_deduction_usd_oz > rc:
        off.append(DEVIATION_RC)
    if agreed.recovery is not None and terms.recovery < agreed.recovery:
        off.append(DEVIATION_RECOVERY)
    return tuple(off)


def fair_price_flags(
    share: Decimal, deviations: tuple[str, ...], price_reference: Decimal = DEFAULT_PRICE_REFERENCE
) -> tuple[str, ...]:
    """The flags of the fair-price check: ``price_below_reference`` when the price share is under the
    reference (the value share is reported, never flagged); ``off_agreed_terms`` when any term is off."""
    flags = []
    if share < price_reference:
        flags.append(FLAG_PRICE_BELOW_REFERENCE)
    if deviations:
        flags.append(FLAG_OFF_AGREED_TERMS)
    return tuple(flags)


def value_settlement(
    terms: SettlementTerms,
    *,
    agreed: AgreedTerms | None = None,
    price_reference: Decimal = DEFAULT_PRICE_REFERENCE,
) -> SettlementValue:
    """Value a lot and check its price (DOMAIN.md §4).

    ``value per TMS = ((INTER − RC) × ley × recovery − maquila) × 1.10231 − consumos − flete − otros`` and
    ``payable = round(value per TMS × TMS)``. A lot whose charges exceed its gold is worth 0 to the miner,
    not a debt: the buyer chose to process it, so a negative value is reported as a payable of 0.

    The contained gold is ``TMS × 1.10231 × ley`` troy ounces (the grade is per short ton, so the tonnage
    is converted first) and the recoverable gold that times the recovery. The fair-price check gives three
    figures: the price share ``(INTER − RC) / INTER``, flagged under ``price_reference``; the terms check
    against ``agreed``, the buyer's terms in force on the settlement date; and the value share, the
    payable over the recoverable gold's value at INTER (reported, not flagged). Shares are to 4 decimals.
    """
    _validate(terms)
    tms = dry_tonnes(terms.wet_tonnes, terms.moisture_pct)
    with localcontext() as ctx:
        ctx.prec = PRECISION
        net_price = Decimal(terms.gold_price_usd_oz) - Decimal(terms.commercial_deduction_usd_oz)
        per_short_ton = net_price * terms.grade_oz_tc * terms.recovery - terms.maquila_usd_tc
        value_per_tms = (
            per_short_ton * SHORT_TONS_PER_TONNE - terms.reagents_usd_tms - terms.freight_usd_tms - terms.other_usd_tms
        )
        payable = max(money(value_per_tms * tms), ZERO)
        contained_oz = tms * SHORT_TONS_PER_TONNE * terms.grade_oz_tc
        contained_usd = money(contained_oz * terms.gold_price_usd_oz)
        recoverable_oz = contained_oz * terms.recovery
        # Unrounded: the share compares the payable with the gold's own value, not with a rounded figure.
        recoverable_usd = recoverable_oz * terms.gold_price_usd_oz
        value_share = (
            round_half_up(payable / recoverable_usd, SHARE_PLACES) if recoverable_usd > 0 else Decimal("0.0000")
        )
    share = price_share(terms.gold_price_usd_oz, terms.commercial_deduction_usd_oz)
    deviations = terms_deviations(terms, agreed)
    return SettlementValue(
        dry_tonnes=tms,
        value_per_tms=value_per_tms,
        payable=payable,
        contained_gold_oz=round_half_up(contained_oz, GRADE_PLACES),
        contained_gold_usd=contained_usd,
        recoverable_gold_oz=round_half_up(recoverable_oz, GRADE_PLACES),
        price_share=share,
        value_share=value_share,
        fair_price_flags=fair_price_flags(share, deviations, price_reference),
        terms_deviations=deviations,
    )


def convert(amount: Decimal, exchange_rate: Decimal) -> Decimal:
    """A US$ amount in the loan's currency at the settlement's exchange rate, to the céntimo."""
    if exchange_rate <= 0:
        raise SettlementError("exchange_rate", "The exchange rate must be positive.")
    with localcontext() as ctx:
        ctx.prec = PRECISION
        return money(Decimal(amount) * Decimal(exchange_rate))


def declared_difference(computed: Decimal, declared: Decimal) -> Decimal:
    """What the buyer declared minus what the product recomputed; positive when the buyer declared more.

    Any non-zero difference is worth flagging: both sides round the same way to the cent.
    """
    return money(Decimal(declared) - Decimal(computed))
