"""Portfolio and impact figures: the one source for the PDF report, the dashboard and the API.

``portfolio_summary`` aggregates in the database (aggregates, annotations, GROUP BY); it never walks the
loans in Python, so it costs the same handful of queries for ten loans or 150,000.

How a loan's state on ``as_of`` is read (days past due, SBS category, outstanding principal):

1. **Rated**: when the nightly job rated the loan for exactly ``as_of`` (``installments.LoanRating``),
   its ``days_past_due``, ``aligned_category`` (the debtor's category after internal alignment, as
   reported to the SBS) and ``outstanding_principal`` are used as they are.
2. **Derived** otherwise, from the loan's own records:
   - days past due = ``as_of`` − the due date of the oldest *current* schedule line due before
     ``as_of`` and not paid in full on or before ``as_of`` (``paid_on`` empty or later); 0 when there
     is none. Its category follows SBS Res. 11356-2008 (Normal 0–8, CPP 9–30, Deficiente 31–60,
     Dudoso 61–120, Pérdida > 120) — no internal alignment.
   - outstanding principal = principal lent + interest capitalized on lines due on or before
     ``as_of`` (total grace) − principal allocated from transactions valued on or before ``as_of``.

A loan is *in the portfolio* on ``as_of`` when it was disbursed on or before ``as_of``, is not written
off, and its outstanding principal is positive. PAR(n) = outstanding principal of portfolio loans with
dpd > n / total outstanding principal (by balance, DOMAIN.md §6), a fraction to 4 decimals.

The period is ``[date_from, as_of]`` (all history when ``date_from`` is None); flows (disbursements,
withholdings, remittances, trainings, amounts falling due) are counted in the period, stocks
(outstanding, PAR, categories) on ``as_of``. Figures are in one currency (PEN unless asked), so soles
and dollars are never added up; loans in another currency are counted in ``other_currency_loans``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from django.db import connection
from django.db.models import (
    Count,
    DecimalField,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, Substr, TruncMonth
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from asmcredit.money import ZERO, money, round_half_up
from buyers.models import Buyer
from installments.models import Allocation, LoanRating, RemittanceMatch, ScheduleLine, Withholding
from installments.risk import Category
from loans.models import Equipment, Loan, LoanProduct
from miners.identity import DEPARTMENTS
from miners.models import Miner, Training

# Share of indebted artisanal miners rated Normal in the credit bureau study the sector quotes
# (DOMAIN.md §1): the baseline the portfolio's Normal share is compared against.
SECTOR_NORMAL_BASELINE = Decimal("0.82")

CATEGORY_LABELS = {
    Category.NORMAL: _("Normal"),
    Category.CPP: _("CPP (potential problems)"),
    Category.DEFICIENTE: _("Deficient"),
    Category.DUDOSO: _("Doubtful"),
    Category.PERDIDA: _("Loss"),
}

MONEY: DecimalField = DecimalField(max_digits=16, decimal_places=2)

# A group's label: a plain name (a buyer, a region) or a lazy translation (a category, a gender),
# resolved when the report is rendered, in the language it is rendered in.
Label = str | Promise


class DaysBetween(Func):
    """Whole days from ``start`` to ``end`` (``end − start``) for two date expressions."""

    output_field = IntegerField()

    def __init__(self, end: Any, start: Any) -> None:
        super().__init__(end, start)

    def as_sql(self, compiler, connection, **extra):  # type: ignore[no-untyped-def, override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return f"(CAST({end_sql} AS date) - CAST({start_sql} AS date))", (*end_params, *start_params)

    def as_sqlite(self, compiler, connection, **extra):  # type: ignore[no-untyped-def, override]
        end_sql, end_params = compiler.compile(self.source_expressions[0])
        start_sql, start_params = compiler.compile(self.source_expressions[1])
        return (
            f"CAST(julianday({end_sql}) - julianday({start_sql}) AS INTEGER)",
            (*end_params, *start_params),
        )


# --- Results --------------------------------------------------------------------------------------


def _ratio(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """``part / whole`` to 4 decimals (the PAR convention of installments.risk.par); 0 when empty."""
    if not whole:
        return Decimal("0.0000")
    return round_half_up(Decimal(part) / Decimal(whole), 4)


@dataclass(frozen=True)
class BreakdownRow:
    """One group of a breakdown (a gender, a role, a region, a buyer, a product)."""

    key: str
    label: Label
    loans_disbursed: int
    amount_disbursed: Decimal
    active_loans: int
    borrowers: int
    outstanding: Decimal
    par30_amount: Decimal

    @property
    def par30(self) -> Decimal:
        return _ratio(self.par30_amount, self.outstanding)


@dataclass(frozen=True)
class CategoryRow:
    category: str
    label: Label
    loans: int
    outstanding: Decimal
    loans_share: Decimal
    outstanding_share: Decimal


@dataclass(frozen=True)
class EquipmentRow:
    kind: str
    label: Label
    loans: int
    amount: Decimal
    mercury_free_loans: int
    mercury_avoided_kg_year: Decimal


@dataclass(frozen=True)
class TrainingRow:
    topic: str
    label: Label
    sessions: int
    participants: int
    women: int
    hours: Decimal


@dataclass(frozen=True)
class MonthRow:
    month: dt.date
    loans_disbursed: int
    amount_disbursed: Decimal
    withheld: Decimal
    remitted: Decimal


@dataclass(frozen=True)
class PortfolioSummary:
    """Every figure of the portfolio and impact report, for one as-of date, period and filter."""

    as_of: dt.date
    date_from: dt.date | None
    currency: str
    buyer_ruc: str | None
    buyer_name: str | None
    region: str | None
    product_code: str | None
    # Disbursements in the period.
    loans_disbursed: int
    amount_disbursed: Decimal
    average_disbursed: Decimal
    borrowers_disbursed: int
    women_disbursed: int
    # The portfolio on as_of.
    active_loans: int
    borrowers: int
    women_borrowers: int
    pallaquera_borrowers: int
    outstanding: Decimal
    par1_amount: Decimal
    par30_amount: Decimal
    par90_amount: Decimal
    rated_loans: int
    derived_loans: int
    other_currency_loans: int
    # Repayment: what fell due in the period vs what was collected toward it by as_of.
    due_in_period: Decimal
    collected_in_period: Decimal
    categories: tuple[CategoryRow, ...]
    by_gender: tuple[BreakdownRow, ...]
    by_role: tuple[BreakdownRow, ...]
    by_region: tuple[BreakdownRow, ...]
    by_buyer: tuple[BreakdownRow, ...]
    by_product: tuple[BreakdownRow, ...]
    # Withholdings and remittances in the period (loan currency).
    withholdings_count: int
    withheld: Decimal
    remitted_in_period: Decimal
    remittance_matches: int
    average_remittance_delay_days: Decimal | None
    unremitted: Decimal
    unremitted_overdue: Decimal
    equipment: tuple[EquipmentRow, ...]
    mercury_avoided_kg_year: Decimal
    mercury_avoided_kg_year_to_date: Decimal
    trainings: tuple[TrainingRow, ...]
    trained_miners: int
    trained_women: int
    training_hours: Decimal
    months: tuple[MonthRow, ...]
    sector_normal_baseline: Decimal = field(default=SECTOR_NORMAL_BASELINE)

    @property
    def par1(self) -> Decimal:
        return _ratio(self.par1_amount, self.outstanding)

    @property
    def par30(self) -> Decimal:
        return _ratio(self.par30_amount, self.outstanding)

    @property
    def par90(self) -> Decimal:
        return _ratio(self.par90_amount, self.outstanding)

    @property
    def repayment_rate(self) -> Decimal:
        """Collected toward installments due in the period / their amount due (1.0000 = all paid)."""
        return _ratio(self.collected_in_period, self.due_in_period)

    @property
    def normal_share(self) -> Decimal:
        """Share of portfolio loans (by number) in category Normal, to compare with the 82% baseline."""
        normal = next((row.loans for row in self.categories if row.category == Category.NORMAL), 0)
        return _ratio(normal, self.active_loans)

    @property
    def normal_share_balance(self) -> Decimal:
        normal = next((row.outstanding for row in self.categories if row.category == Category.NORMAL), ZERO)
        return _ratio(normal, self.outstanding)

    @property
    def women_share(self) -> Decimal:
        return _ratio(self.women_borrowers, self.borrowers)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: amounts and ratios as strings, dates in ISO format, derived ratios included."""
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("par1", "par30", "par90", "repayment_rate", "normal_share", "normal_share_balance", "women_share"):
            data[name] = getattr(self, name)
        for name in ("by_gender", "by_role", "by_region", "by_buyer", "by_product"):
            data[name] = [dict(asdict(row), par30=row.par30) for row in getattr(self, name)]
        for name in ("categories", "equipment", "trainings", "months"):
            data[name] = [asdict(row) for row in getattr(self, name)]
        return _jsonable(data)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, Promise):  # a lazy translation
        return str(value)
    return value


# --- Queries --------------------------------------------------------------------------------------


def _sum(expression: Any, **kwargs: Any) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=MONEY)


def _filtered_loans(
    *, as_of: dt.date, buyer: Buyer | None, region: str | None, product: LoanProduct | None
) -> QuerySet[Loan]:
    loans = Loan.objects.filter(disbursed_on__lte=as_of)
    if buyer is not None:
        loans = loans.filter(withholding_buyer=buyer)
    if region:
        loans = loans.filter(miner__ubigeo__startswith=region)
    if product is not None:
        loans = loans.filter(product=product)
    return loans


def _state_query(loans: QuerySet[Loan], as_of: dt.date) -> tuple[str, tuple[Any, ...]]:
    """SQL of one row per loan with what its state on ``as_of`` is read from (see module doc).

    Each per-loan subquery appears once here; the aggregation in ``_portfolio_stocks`` reads the
    resulting columns, so the database evaluates them once per loan whatever the number of figures.
    """
    # order_by(): LoanRating's default ordering would join loans into every per-row subquery.
    rating = LoanRating.objects.filter(loan=OuterRef("pk"), as_of=as_of).order_by()
    oldest_unpaid = (
        ScheduleLine.objects.filter(loan=OuterRef("pk"), is_current=True, due_on__lt=as_of)
        .filter(Q(paid_on__isnull=True) | Q(paid_on__gt=as_of))
        .order_by("due_on")
        .values("due_on")[:1]
    )
    principal_paid = (
        Allocation.objects.filter(
            transaction__loan=OuterRef("pk"),
            component=Allocation.Component.PRINCIPAL,
            transaction__value_date__lte=as_of,
        )
        .order_by()
        .values("transaction__loan")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    capitalized = (
        ScheduleLine.objects.filter(loan=OuterRef("pk"), is_current=True, due_on__lte=as_of, capitalized__gt=0)
        .order_by()
        .values("loan")
        .annotate(total=Sum("capitalized"))
        .values("total")
    )
    rows = (
        loans.exclude(status=Loan.Status.WRITTEN_OFF)
        .annotate(
            s_miner=F("miner_id"),
            s_gender=F("miner__gender"),
            s_role=F("miner__role"),
            s_region=Substr("miner__ubigeo", 1, 2),
            s_buyer=F("withholding_buyer_id"),
            s_product=F("product_id"),
            s_principal=F("principal"),
            r_dpd=Subquery(rating.values("days_past_due")[:1]),
            r_category=Subquery(rating.values("aligned_category")[:1]),
            r_balance=Subquery(rating.values("outstanding_principal")[:1], output_field=MONEY),
            d_dpd=DaysBetween(Value(as_of), Subquery(oldest_unpaid)),
            d_paid=Subquery(principal_paid, output_field=MONEY),
            d_capitalized=Subquery(capitalized, output_field=MONEY),
        )
        .order_by()
        .values(
            "s_miner",
            "s_gender",
            "s_role",
            "s_region",
            "s_buyer",
            "s_product",
            "s_principal",
            "r_dpd",
            "r_category",
            "r_balance",
            "d_dpd",
            "d_paid",
            "d_capitalized",
        )
    )
    sql, params = rows.query.sql_with_params()
    return sql, tuple(params)


# Every figure on the portfolio's stock, for the whole portfolio and per group. The constants are
# code, never input; only the per-loan query carries parameters.
_STOCK_AGGREGATES = f"""
    COUNT(*), COUNT(DISTINCT miner),
    COUNT(DISTINCT CASE WHEN gender = '{Miner.Gender.FEMALE.value}' THEN miner END),
    COUNT(DISTINCT CASE WHEN role = '{Miner.Role.PALLAQUERA.value}' THEN miner END),
    COALESCE(SUM(balance), 0),
    COALESCE(SUM(CASE WHEN dpd > 1 THEN balance ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN dpd > 30 THEN balance ELSE 0 END), 0),
    COALESCE(SUM(CASE WHEN dpd > 90 THEN balance ELSE 0 END), 0),
    COUNT(r_dpd)"""
_STOCK_FIELDS = ("n", "borrowers", "women", "pallaqueras", "outstanding", "par1", "par30", "par90", "rated")
_STOCK_DIMENSIONS = ("gender", "role", "region", "buyer", "product", "category")


def _portfolio_stocks(loans: QuerySet[Loan], as_of: dt.date) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The portfolio on ``as_of`` in one statement: ``{("total", None): figures, ("region", "04"): …}``.

    The per-loan state is a CTE that the database materializes once (PostgreSQL does so for a CTE read
    more than once), and each breakdown is a GROUP BY over it, joined with UNION ALL.
    """
    state_sql, params = _state_query(loans, as_of)
    category = (
        "COALESCE(r_category, CASE WHEN dpd <= 8 THEN 'normal' WHEN dpd <= 30 THEN 'cpp' "
        "WHEN dpd <= 60 THEN 'deficiente' WHEN dpd <= 120 THEN 'dudoso' ELSE 'perdida' END)"
    )
    parts = [f"SELECT 'total', NULL, {_STOCK_AGGREGATES} FROM portfolio"]  # noqa: S608
    parts += [
        f"SELECT '{name}', CAST({name} AS VARCHAR(40)), {_STOCK_AGGREGATES} FROM portfolio GROUP BY {name}"  # noqa: S608
        for name in _STOCK_DIMENSIONS
    ]
    sql = f"""
        WITH raw AS ({state_sql}),
        state AS (
            SELECT s_miner AS miner, s_gender AS gender, s_role AS role, s_region AS region, s_buyer AS buyer,
                   s_product AS product, r_dpd, r_category,
                   COALESCE(r_balance, s_principal + COALESCE(d_capitalized, 0) - COALESCE(d_paid, 0)) AS balance,
                   COALESCE(r_dpd, d_dpd, 0) AS dpd
            FROM raw
        ),
        portfolio AS (SELECT state.*, {category} AS category FROM state WHERE balance > 0)
        {" UNION ALL ".join(parts)}
    """  # noqa: S608 - the only values come as parameters; the rest is code
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    result: dict[tuple[str, str | None], dict[str, Any]] = {}
    for dimension, key, *values in rows:
        figures = dict(zip(_STOCK_FIELDS, values, strict=True))
        for name in ("outstanding", "par1", "par30", "par90"):
            figures[name] = money(Decimal(str(figures[name] or 0)))
        result[(dimension, key)] = figures
    return result


def _breakdown(
    *,
    loans: QuerySet[Loan],
    stocks: dict[tuple[str, str | None], dict[str, Any]],
    dimension: str,
    key: Any,
    period: Q,
    labels: Mapping[str, Label],
) -> tuple[BreakdownRow, ...]:
    flows = {
        None if row["group"] is None else str(row["group"]): row
        for row in loans.filter(period)
        .annotate(group=key)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"), amount=_sum("principal"))
    }
    groups = {group for (name, group) in stocks if name == dimension}
    rows = []
    for group in sorted(groups | set(flows), key=lambda g: str(labels.get(g, g)) if g is not None else ""):
        flow, stock = flows.get(group, {}), stocks.get((dimension, group), {})
        rows.append(
            BreakdownRow(
                key="" if group is None else group,
                label=labels.get(group, group) if group is not None else _("none"),
                loans_disbursed=flow.get("n", 0),
                amount_disbursed=money(flow.get("amount", ZERO)),
                active_loans=stock.get("n", 0),
                borrowers=stock.get("borrowers", 0),
                outstanding=stock.get("outstanding", ZERO),
                par30_amount=stock.get("par30", ZERO),
            )
        )
    return tuple(rows)


def _as_instance(model: Any, value: Any, lookup: str) -> Any:
    if value is None or isinstance(value, model):
        return value
    return model.objects.get(**{lookup: value})


def portfolio_summary(
    *,
    as_of: dt.date,
    date_from: dt.date | None = None,
    buyer: Buyer | str | None = None,
    region: str | None = None,
    product: LoanProduct | str | None = None,
    currency: str = "PEN",
) -> PortfolioSummary:
    """The portfolio and impact figures on ``as_of`` for the period ``[date_from, as_of]``.

    ``buyer`` (a Buyer or its RUC) keeps the loans it withholds for and its own withholdings and
    remittances; ``region`` is an INEI department code ("04") matched on the miner's ubigeo;
    ``product`` is a LoanProduct or its code. See the module docstring for how dpd is read.
    """
    buyer_obj: Buyer | None = _as_instance(Buyer, buyer, "ruc")
    product_obj: LoanProduct | None = _as_instance(LoanProduct, product, "code")
    if date_from is not None and date_from > as_of:
        raise ValueError("date_from must not come after as_of.")
    all_loans = _filtered_loans(as_of=as_of, buyer=buyer_obj, region=region, product=product_obj)
    other_currency_loans = all_loans.exclude(currency=currency).count()
    loans = all_loans.filter(currency=currency)
    period = Q(disbursed_on__gte=date_from) if date_from else Q()

    # Disbursements in the period: one query.
    disbursed = loans.filter(period).aggregate(
        n=Count("pk"),
        amount=_sum("principal"),
        borrowers=Count("miner", distinct=True),
        women=Count("miner", distinct=True, filter=Q(miner__gender=Miner.Gender.FEMALE)),
    )
    # The portfolio on as_of, whole and per group: one statement.
    stocks = _portfolio_stocks(loans, as_of)
    stock = stocks[("total", None)]
    outstanding = stock["outstanding"]
    categories = tuple(
        CategoryRow(
            category=category.value,
            label=CATEGORY_LABELS[category],
            loans=stocks.get(("category", category.value), {}).get("n", 0),
            outstanding=stocks.get(("category", category.value), {}).get("outstanding", ZERO),
            loans_share=_ratio(stocks.get(("category", category.value), {}).get("n", 0), stock["n"]),
            outstanding_share=_ratio(
                stocks.get(("category", category.value), {}).get("outstanding", ZERO), outstanding
            ),
        )
        for category in Category
    )

    # Repayment: installments of these loans falling due in the period, and what was paid toward
    # them (any component but moratory interest) by as_of.
    lines = ScheduleLine.objects.filter(loan__in=loans.values("pk"), is_current=True, due_on__lte=as_of)
    if date_from:
        lines = lines.filter(due_on__gte=date_from)
    due_in_period = money(lines.aggregate(t=_sum("total"))["t"])
    collected = money(
        Allocation.objects.filter(schedule_line__in=lines.values("pk"), transaction__value_date__lte=as_of)
        .exclude(component=Allocation.Component.MORATORY)
        .aggregate(t=_sum("amount"))["t"]
    )

    # Breakdowns.
    gender_labels = {str(value): label for value, label in Miner.Gender.choices}
    role_labels = {str(value): label for value, label in Miner.Role.choices}
    common: dict[str, Any] = {"loans": loans, "stocks": stocks, "period": period}
    by_gender = _breakdown(dimension="gender", key=F("miner__gender"), labels=gender_labels, **common)
    by_role = _breakdown(dimension="role", key=F("miner__role"), labels=role_labels, **common)
    by_region = _breakdown(dimension="region", key=Substr("miner__ubigeo", 1, 2), labels=DEPARTMENTS, **common)
    buyer_ids = {int(key) for (name, key) in stocks if name == "buyer" and key is not None}
    buyer_ids |= set(loans.filter(period).exclude(withholding_buyer=None).values_list("withholding_buyer", flat=True))
    buyer_labels = {str(pk): name for pk, name in Buyer.objects.filter(pk__in=buyer_ids).values_list("pk", "name")}
    by_buyer = _breakdown(dimension="buyer", key=F("withholding_buyer"), labels=buyer_labels, **common)
    product_labels = {str(pk): name for pk, name in LoanProduct.objects.values_list("pk", "name")}
    by_product = _breakdown(dimension="product", key=F("product"), labels=product_labels, **common)

    # Withholdings and remittances (the loan's currency; reversed withholdings left out).
    withholdings = Withholding.objects.filter(
        loan__in=all_loans.filter(currency=currency).values("pk"), withheld_on__lte=as_of
    ).exclude(status=Withholding.Status.REVERSED)
    if buyer_obj is not None:
        withholdings = withholdings.filter(buyer=buyer_obj)
    matched_by_as_of = (
        RemittanceMatch.objects.filter(withholding=OuterRef("pk"), remittance__paid_on__lte=as_of)
        .order_by()
        .values("withholding")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    open_withholdings = withholdings.annotate(
        remitted_by_as_of=Coalesce(Subquery(matched_by_as_of, output_field=MONEY), Value(ZERO)),
        age=DaysBetween(Value(as_of), F("withheld_on")),
    )
    open_totals = open_withholdings.aggregate(
        unremitted=_sum(F("amount") - F("remitted_by_as_of")),
        overdue=_sum(F("amount") - F("remitted_by_as_of"), filter=Q(age__gt=F("buyer__remittance_days"))),
    )
    period_withholdings = withholdings.filter(withheld_on__gte=date_from) if date_from else withholdings
    withheld = period_withholdings.aggregate(n=Count("pk"), amount=_sum("amount"))
    matches = RemittanceMatch.objects.filter(withholding__in=withholdings.values("pk"), remittance__paid_on__lte=as_of)
    if date_from:
        matches = matches.filter(remittance__paid_on__gte=date_from)
    remitted = matches.annotate(delay=DaysBetween(F("remittance__paid_on"), F("withholding__withheld_on"))).aggregate(
        n=Count("pk"), amount=_sum("amount"), delay_days=Sum("delay")
    )
    average_delay = round_half_up(Decimal(remitted["delay_days"]) / remitted["n"], 1) if remitted["n"] else None

    # Equipment financed in the period, and mercury avoided by all equipment financed to date.
    kind_labels = {str(value): label for value, label in Equipment.Kind.choices}
    equipment = tuple(
        EquipmentRow(
            kind=row["equipment__kind"],
            label=kind_labels.get(row["equipment__kind"], row["equipment__kind"]),
            loans=row["n"],
            amount=money(row["amount"]),
            mercury_free_loans=row["mercury_free"],
            mercury_avoided_kg_year=row["mercury"],
        )
        for row in loans.filter(period, equipment__isnull=False)
        .order_by()
        .values("equipment__kind")
        .annotate(
            n=Count("pk"),
            amount=_sum("principal"),
            mercury_free=Count("pk", filter=Q(equipment__mercury_free=True)),
            mercury=_sum("equipment__mercury_avoided_kg_year", filter=Q(equipment__mercury_free=True)),
        )
        .order_by("-n", "equipment__kind")
    )
    mercury_to_date = (
        loans.filter(equipment__mercury_free=True)
        .exclude(status=Loan.Status.WRITTEN_OFF)
        .aggregate(kg=_sum("equipment__mercury_avoided_kg_year"))["kg"]
    )

    # Trainings received in the period by the miners of these loans.
    trainings_qs = Training.objects.filter(
        miner__in=loans.values("miner"), held_on__lte=as_of, **({"held_on__gte": date_from} if date_from else {})
    )
    topic_labels = {str(value): label for value, label in Training.Topic.choices}
    trainings = tuple(
        TrainingRow(
            topic=row["topic"],
            label=topic_labels.get(row["topic"], row["topic"]),
            sessions=row["n"],
            participants=row["miners"],
            women=row["women"],
            hours=row["hours"] or Decimal("0.0"),
        )
        for row in trainings_qs.order_by()
        .values("topic")
        .annotate(
            n=Count("pk"),
            miners=Count("miner", distinct=True),
            women=Count("miner", distinct=True, filter=Q(miner__gender=Miner.Gender.FEMALE)),
            hours=Sum("hours"),
        )
        .order_by("-n", "topic")
    )
    trained = trainings_qs.aggregate(
        miners=Count("miner", distinct=True),
        women=Count("miner", distinct=True, filter=Q(miner__gender=Miner.Gender.FEMALE)),
        hours=Sum("hours"),
    )

    months = _months(loans=loans, withholdings=period_withholdings, matches=matches, date_from=date_from, as_of=as_of)

    n_disbursed = disbursed["n"]
    amount_disbursed = money(disbursed["amount"])
    return PortfolioSummary(
        as_of=as_of,
        date_from=date_from,
        currency=currency,
        buyer_ruc=buyer_obj.ruc if buyer_obj else None,
        buyer_name=buyer_obj.name if buyer_obj else None,
        region=region or None,
        product_code=product_obj.code if product_obj else None,
        loans_disbursed=n_disbursed,
        amount_disbursed=amount_disbursed,
        average_disbursed=money(amount_disbursed / n_disbursed) if n_disbursed else ZERO,
        borrowers_disbursed=disbursed["borrowers"],
        women_disbursed=disbursed["women"],
        active_loans=stock["n"],
        borrowers=stock["borrowers"],
        women_borrowers=stock["women"],
        pallaquera_borrowers=stock["pallaqueras"],
        outstanding=outstanding,
        par1_amount=stock["par1"],
        par30_amount=stock["par30"],
        par90_amount=stock["par90"],
        rated_loans=stock["rated"],
        derived_loans=stock["n"] - stock["rated"],
        other_currency_loans=other_currency_loans,
        due_in_period=due_in_period,
        collected_in_period=collected,
        categories=categories,
        by_gender=by_gender,
        by_role=by_role,
        by_region=by_region,
        by_buyer=by_buyer,
        by_product=by_product,
        withholdings_count=withheld["n"],
        withheld=money(withheld["amount"]),
        remitted_in_period=money(remitted["amount"]),
        remittance_matches=remitted["n"],
        average_remittance_delay_days=average_delay,
        unremitted=money(open_totals["unremitted"]),
        unremitted_overdue=money(open_totals["overdue"]),
        equipment=equipment,
        mercury_avoided_kg_year=sum((row.mercury_avoided_kg_year for row in equipment), ZERO),
        mercury_avoided_kg_year_to_date=money(mercury_to_date),
        trainings=trainings,
        trained_miners=trained["miners"],
        trained_women=trained["women"],
        training_hours=trained["hours"] or Decimal("0.0"),
        months=months,
    )


# The monthly chart shows at most this many months (the latest ones) so it stays readable.
MAX_MONTHS = 36


def _months(
    *,
    loans: QuerySet[Loan],
    withholdings: QuerySet[Withholding],
    matches: QuerySet[RemittanceMatch],
    date_from: dt.date | None,
    as_of: dt.date,
) -> tuple[MonthRow, ...]:
    def by_month(queryset: QuerySet[Any], date_field: str, **aggregates: Any) -> dict[dt.date, dict[str, Any]]:
        rows = queryset.annotate(month=TruncMonth(date_field)).order_by().values("month").annotate(**aggregates)
        return {_month_start(row["month"]): row for row in rows}

    period = Q(disbursed_on__gte=date_from) if date_from else Q()
    disbursed = by_month(loans.filter(period), "disbursed_on", n=Count("pk"), amount=_sum("principal"))
    withheld = by_month(withholdings, "withheld_on", amount=_sum("amount"))
    remitted = by_month(matches, "remittance__paid_on", amount=_sum("amount"))
    found = set(disbursed) | set(withheld) | set(remitted)
    if not found:
        return ()
    first = _month_start(date_from) if date_from else min(found)
    last = _month_start(as_of)
    months = []
    month = first
    while month <= last:
        months.append(month)
        month = (month + dt.timedelta(days=32)).replace(day=1)
    return tuple(
        MonthRow(
            month=month,
            loans_disbursed=disbursed.get(month, {}).get("n", 0),
            amount_disbursed=money(disbursed.get(month, {}).get("amount", ZERO)),
            withheld=money(withheld.get(month, {}).get("amount", ZERO)),
            remitted=money(remitted.get(month, {}).get("amount", ZERO)),
        )
        for month in months[-MAX_MONTHS:]
    )


def _month_start(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    return value.replace(day=1)
