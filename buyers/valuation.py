"""Liquidación: the value of an ore lot a buyer purchases from a miner (DOMAIN.md §4).

All figures are US$ and ``Decimal``. Tonnes are metric (TMH wet, TMS dry); the gold grade (ley) is in
troy ounces per short ton (oz/TC) and the maquila per short ton, which is why the per-short-ton value
is multiplied by 1.10231 short tons per tonne.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, localcontext

from asmcredit.money import HUNDRED, PRECISION, ZERO, money, round_down, round_half_up

OZ_PER_TC_IN_G_PER_T = Decimal("34.2857")
G_PER_TROY_OZ = Decimal("31.1035")
SHORT_TONS_PER_TONNE = Decimal("1.10231")

# Grades are kept to 4 decimals in both units: enough that oz/TC → g/t → oz/TC gives back the same
# figure, and finer than any fire assay reports.
GRADE_PLACES = 4
TONNE_PLACES = 3

# Fairtrade and Fairmined pay at least 95% of the international price for refined gold (DOMAIN.md §4).
FAIRTRADE_MIN_SHARE = Decimal("0.95")

FLAG_BELOW_BUYER_TERMS = "below_buyer_terms"
FLAG_BELOW_FAIRTRADE_REFERENCE = "below_fairtrade_reference"


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
    """One lot as the buyer's lab and price sheet describe it.

    ``recovery`` is a fraction (0.84). ``buyer_terms_share``, when the buyer's agreement states one, is
    the share of the contained gold's value it promises to pay (a fraction), used by the fair-price check.
    """

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
    buyer_terms_share: Decimal | None = None


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
    fair_price_share: Decimal
    fair_price_flags: tuple[str, ...] = field(default=())


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
    share = terms.buyer_terms_share
    if share is not None and not 0 < share <= 1:
        raise SettlementError("buyer_terms_share", "The buyer's share must be a fraction above 0 and at most 1.")


def fair_price_assessment(share: Decimal, buyer_terms_share: Decimal | None) -> list[str]:
    """Flag codes for a settlement paying ``share`` of its contained gold's value (DOMAIN.md §4).

    ``below_buyer_terms`` when it pays less than the buyer's own agreement promises;
    ``below_fairtrade_reference`` when it pays less than the 95% Fairtrade/Fairmined reference.
    """
    flags = []
    if buyer_terms_share is not None and share < buyer_terms_share:
        flags.append(FLAG_BELOW_BUYER_TERMS)
    if share < FAIRTRADE_MIN_SHARE:
        flags.append(FLAG_BELOW_FAIRTRADE_REFERENCE)
    return flags


def value_settlement(terms: SettlementTerms) -> SettlementValue:
    """Value a lot (DOMAIN.md §4).

    ``value per TMS = ((INTER − RC) × ley × recovery − maquila) × 1.10231 − consumos − flete − otros`` and
    ``payable = round(value per TMS × TMS)``. A lot whose charges exceed its gold is worth 0 to the miner,
    not a debt: the buyer chose to process it, so a negative value is reported as a payable of 0.

    The contained gold is ``TMS × 1.10231 × ley`` troy ounces: DOMAIN.md writes "TMS × grade × INTER",
    but the grade is per short ton, so the tonnage is converted first. The fair-price share is the
    payable over that gold's value at INTER, to 4 decimals.
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
        share = round_half_up(payable / contained_usd, 4) if contained_usd > 0 else Decimal("0.0000")
    buyer_share = terms.buyer_terms_share
    return SettlementValue(
        dry_tonnes=tms,
        value_per_tms=value_per_tms,
        payable=payable,
        contained_gold_oz=round_half_up(contained_oz, GRADE_PLACES),
        contained_gold_usd=contained_usd,
        fair_price_share=share,
        fair_price_flags=tuple(fair_price_assessment(share, buyer_share)) if contained_usd > 0 else (),
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
