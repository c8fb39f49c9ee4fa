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
(outstanding, PAR, categories) on ``as_of``.

Currency (DOMAIN.md §4, last paragraph): by default (``currency="PEN"``) every loan is in the figures,
in soles — each amount in another currency times the exchange rate *of ``as_of``* from the
effective-dated table (``rates.fx``: the latest rate on or before ``as_of``; a stale one is flagged in
``fx_rates``), flows of the period included, so the whole report uses one stated rate. A foreign
currency in the book without a rate raises ``rates.fx.MissingExchangeRate``. ``currency="USD"`` (any
other currency) reports only the loans in that currency, in that currency, unconverted; the others are
counted in ``other_currency_loans``.

``portfolio_current`` is the dashboard's view of the stock: the loans' *current* state (their cached
``days_past_due`` and ``outstanding_principal``, kept by every payment, withholding and void), not the
last nightly rating; ``portfolio_flows`` the month's money and ``unremitted_by_buyer`` what buyers owe.
All three read the running totals the database keeps as those rows change (``installments.tally``), so
the dashboard costs the same on ten loans or 150,000; ``from_scratch=True`` reads the rows themselves,
which is what the totals are tested against (and what the demo's SQLite reads).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
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

from asmcredit.audit import jsonable
from asmcredit.money import ZERO, money, round_half_up
from asmcredit.sql import days_between, is_postgres
from buyers.models import Buyer
from installments.models import (
    Allocation,
    LoanTransaction,
    PortfolioRating,
    RemittanceMatch,
    ScheduleLine,
    Withholding,
)
from installments.risk import Category, dpd_upper_bounds, worst_band
from installments.tally import OPEN_WITHHOLDING, book_rows_sql, flow_rows_sql, owed_rows_sql, tallies_kept
from lifecycle.guarantees import GuaranteeFigures, guarantee_figures
from loans.models import Equipment, Loan, LoanProduct
from loans.sbs import category_for_dpd
from miners.identity import DEPARTMENTS
from miners.models import Miner, Training
from rates.fx import SOLES, FxRate, fx_rates, soles_case_sql, soles_factor
from reports.loan_life import LifeRow, loan_life_rows

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


class _ParRatios:
    """PAR by balance (DOMAIN.md §6): the share of the outstanding principal on loans past due more
    than 1, 30 and 90 days."""

    outstanding: Decimal
    par1_amount: Decimal
    par30_amount: Decimal
    par90_amount: Decimal

    @property
    def par1(self) -> Decimal:
        return _ratio(self.par1_amount, self.outstanding)

    @property
    def par30(self) -> Decimal:
        return _ratio(self.par30_amount, self.outstanding)

    @property
    def par90(self) -> Decimal:
        return _ratio(self.par90_amount, self.outstanding)


@dataclass(frozen=True)
class PortfolioSummary(_ParRatios):
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
    # Refinanced loans (refinanciados, DOMAIN.md §7) on the book on as_of, within ``active_loans``.
    refinanced_loans: int = 0
    refinanced_outstanding: Decimal = ZERO
    # The exchange rates foreign-currency amounts were stated in soles at (empty: nothing converted).
    fx_rates: tuple[FxRate, ...] = ()
    # Loans beyond the happy path: written off, recovered, … (reports.loan_life).
    life: tuple[LifeRow, ...] = ()
    # Guarantee funds: covered exposure, claims, recoveries shared (the whole book; None when filtered).
    guarantees: GuaranteeFigures | None = None

    @property
    def fx_stale(self) -> tuple[FxRate, ...]:
        """The rates used that are older than the staleness limit (``rates.fx.stale_days``)."""
        return tuple(rate for rate in self.fx_rates if rate.stale)

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
        for name in ("categories", "equipment", "trainings", "months", "life"):
            data[name] = [asdict(row) for row in getattr(self, name)]
        data["fx_rates"] = [rate.as_dict() for rate in self.fx_rates]
        data["guarantees"] = self.guarantees.as_dict() if self.guarantees is not None else None
        return jsonable(data)


# --- Queries --------------------------------------------------------------------------------------


def _sum(expression: Any, **kwargs: Any) -> Coalesce:
    return Coalesce(Sum(expression, **kwargs), Value(ZERO), output_field=MONEY)


@dataclass(frozen=True)
class _Conversion:
    """States amounts in the report's currency: soles at the as-of rates, or a single currency as is."""

    rates: Mapping[str, FxRate] | None  # None: one currency, nothing converted

    def amount(self, amount_field: str, currency_field: str) -> Any:
        """``amount_field`` in the report's currency, as an ORM expression."""
        if self.rates is None:
            return F(amount_field)
        return F(amount_field) * soles_factor(currency_field, self.rates)

    def factor_sql(self, currency_column: str) -> str:
        """The same factor in raw SQL (constants only: no parameters)."""
        return "1" if self.rates is None else soles_case_sql(currency_column, self.rates)


@dataclass(frozen=True)
class RefinancedFigures:
    loans: int
    outstanding: Decimal


def refinanced_portfolio(
    *, as_of: dt.date, loans: QuerySet[Loan] | None = None, rates: Mapping[str, FxRate] | None = None
) -> RefinancedFigures:
    """Refinanced loans (``Loan.is_refinanced``) with principal outstanding at the end of ``as_of``: how
    many, and that principal (principal + interest capitalized on lines due by then − principal repaid by
    entries valued by then), within ``loans`` (default every loan), in one currency or in soles at
    ``rates``. Written-off loans are out of the book. One query; refinanced loans are few."""
    loans = Loan.objects.all() if loans is None else loans
    return _outstanding_figures(loans.filter(is_refinanced=True, refinanced_on__lte=as_of), as_of=as_of, rates=rates)


def rescheduled_portfolio(
    *, as_of: dt.date, loans: QuerySet[Loan] | None = None, rates: Mapping[str, FxRate] | None = None
) -> RefinancedFigures:
    """Loans reprogrammed (a ``reschedule`` entry valued by ``as_of``, not reversed) with principal
    outstanding at the end of ``as_of``, counted as ``refinanced_portfolio`` counts. One query."""
    loans = Loan.objects.all() if loans is None else loans
    rescheduled = LoanTransaction.objects.filter(
        loan=OuterRef("pk"),
        kind=LoanTransaction.Kind.RESCHEDULE,
        value_date__lte=as_of,
        reversed_by__isnull=True,
    )
    return _outstanding_figures(loans.filter(Exists(rescheduled)), as_of=as_of, rates=rates)


def _outstanding_figures(
    loans: QuerySet[Loan], *, as_of: dt.date, rates: Mapping[str, FxRate] | None
) -> RefinancedFigures:
    repaid = (
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
        ScheduleLine.objects.filter(loan=OuterRef("pk"), is_current=True, due_on__lte=as_of)
        .order_by()
        .values("loan")
        .annotate(total=Sum("capitalized"))
        .values("total")
    )
    money_field: DecimalField[Decimal, Decimal] = DecimalField(max_digits=20, decimal_places=2)
    rows = (
        loans.filter(disbursed_on__lte=as_of)
        .exclude(status=Loan.Status.WRITTEN_OFF)
        .annotate(
            left=F("principal")
            + Coalesce(Subquery(capitalized, output_field=money_field), Value(ZERO), output_field=money_field)
            - Coalesce(Subquery(repaid, output_field=money_field), Value(ZERO), output_field=money_field)
        )
        .filter(left__gt=0)
    )
    amount = F("left") if rates is None else F("left") * soles_factor("currency", rates)
    totals = rows.aggregate(n=Count("pk"), outstanding=_sum(amount))
    return RefinancedFigures(loans=totals["n"], outstanding=money(totals["outstanding"] or ZERO))


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


def _date_sql() -> str:
    """A date parameter in raw SQL (PostgreSQL is told its type; SQLite compares ISO strings)."""
    return "CAST(%s AS DATE)" if is_postgres() else "%s"


def _state_query(
    loans: QuerySet[Loan], as_of: dt.date, *, narrowed: bool, conversion: _Conversion
) -> tuple[str, tuple[Any, ...]]:
    """CTEs ending in ``state``: one row per loan with its state on ``as_of`` (see module doc).

    Set-based, so the database reads each table once instead of looking it up loan by loan:

    - ``base``: the loans with their miner and, joined directly, their rating for ``as_of`` (if any);
    - ``lines``: per loan, the oldest current line due before ``as_of`` and not paid in full by then,
      and the interest capitalized on lines due by ``as_of``, in one pass over the lines due by then;
    - ``paid``: per loan, the principal allocated from transactions valued on or before ``as_of``.

    ``lines`` and ``paid`` only serve loans without a rating: when every loan is rated (a date the
    nightly job rated) the ``EXISTS`` gate is false and the database skips both (a one-time filter).
    ``narrowed`` (a buyer, region or product filter) also restricts them to those unrated loans, so a
    small report looks up its own loans' lines by index instead of aggregating every loan's.
    """
    base = (
        loans.exclude(status=Loan.Status.WRITTEN_OFF)
        .annotate(
            s_miner=F("miner_id"),
            s_gender=F("miner__gender"),
            s_role=F("miner__role"),
            s_region=Substr("miner__ubigeo", 1, 2),
            s_buyer=F("withholding_buyer_id"),
            s_product=F("product_id"),
            s_principal=F("principal"),
            s_currency=F("currency"),
        )
        .order_by()
        .values("id", "s_miner", "s_gender", "s_role", "s_region", "s_buyer", "s_product", "s_principal", "s_currency")
    )
    base_sql, base_params = base.query.sql_with_params()
    day = connection.ops.adapt_datefield_value(as_of)
    d = _date_sql()

    def unrated(loan: str) -> str:
        gate = "EXISTS (SELECT 1 FROM base WHERE r_balance IS NULL)"
        return f"{gate} AND {loan} IN (SELECT id FROM base WHERE r_balance IS NULL)" if narrowed else gate  # noqa: S608

    principal = Allocation.Component.PRINCIPAL.value
    sql = f"""
        base AS (
            SELECT b.*, r.days_past_due AS r_dpd, r.aligned_category AS r_category,
                   r.outstanding_principal AS r_balance
            FROM ({base_sql}) b
            LEFT JOIN installments_loanrating r ON r.loan_id = b.id AND r.as_of = {d}
        ),
        lines AS (
            SELECT loan_id,
                   MIN(CASE WHEN due_on < {d} AND (paid_on IS NULL OR paid_on > {d}) THEN due_on END) AS oldest,
                   SUM(CASE WHEN capitalized > 0 THEN capitalized ELSE 0 END) AS capitalized
            FROM installments_scheduleline
            WHERE is_current AND due_on <= {d} AND {unrated("loan_id")}
            GROUP BY loan_id
        ),
        paid AS (
            SELECT t.loan_id, SUM(a.amount) AS total
            FROM installments_allocation a JOIN installments_loantransaction t ON t.id = a.transaction_id
            WHERE a.component = '{principal}' AND t.value_date <= {d} AND {unrated("t.loan_id")}
            GROUP BY t.loan_id
        ),
        state AS (
            SELECT b.s_miner AS miner, b.s_gender AS gender, b.s_role AS role, b.s_region AS region,
                   b.s_buyer AS buyer, b.s_product AS product, b.r_dpd, b.r_category,
                   (CASE WHEN b.r_balance IS NOT NULL THEN b.r_balance
                        ELSE b.s_principal + COALESCE(ln.capitalized, 0) - COALESCE(p.total, 0) END)
                   * {conversion.factor_sql("b.s_currency")} AS balance,
                   CASE WHEN b.r_balance IS NOT NULL THEN b.r_dpd
                        ELSE COALESCE({days_between(d, "ln.oldest")}, 0) END AS dpd
            FROM base b
            LEFT JOIN lines ln ON ln.loan_id = b.id
            LEFT JOIN paid p ON p.loan_id = b.id
        )"""  # noqa: S608 - the only values come as parameters; the rest is code
    params = (*base_params, *[day] * sql.replace(base_sql, "").count(d))  # every other parameter is as_of
    return sql, params


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


def _category_case(column: str) -> str:
    """dpd → SBS category name in SQL, from the band table of ``installments.risk.category_for_dpd``."""
    limits = " ".join(f"WHEN {column} <= {limit:d} THEN '{category.value}'" for limit, category in dpd_upper_bounds())
    return f"CASE {limits} ELSE '{worst_band().category.value}' END"


def _portfolio_stocks(
    loans: QuerySet[Loan], as_of: dt.date, *, narrowed: bool = False, conversion: _Conversion | None = None
) -> dict[tuple[str, str | None], dict[str, Any]]:
    """The portfolio on ``as_of`` in one statement: ``{("total", None): figures, ("region", "04"): …}``.

    The per-loan state (``_state_query``) is filtered to the portfolio in a CTE that the database
    materializes once (PostgreSQL does so for a CTE read more than once), and each breakdown is a
    GROUP BY over it, joined with UNION ALL.
    """
    state_sql, params = _state_query(loans, as_of, narrowed=narrowed, conversion=conversion or _Conversion(rates=None))
    category = f"COALESCE(r_category, {_category_case('dpd')})"
    parts = [f"SELECT 'total', NULL, {_STOCK_AGGREGATES} FROM portfolio"]  # noqa: S608
    parts += [
        f"SELECT '{name}', CAST({name} AS VARCHAR(40)), {_STOCK_AGGREGATES} FROM portfolio GROUP BY {name}"  # noqa: S608
        for name in _STOCK_DIMENSIONS
    ]
    sql = f"""
        WITH {state_sql},
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
    conversion: _Conversion,
) -> tuple[BreakdownRow, ...]:
    flows = {
        None if row["group"] is None else str(row["group"]): row
        for row in loans.filter(period)
        .annotate(group=key)
        .order_by()
        .values("group")
        .annotate(n=Count("pk"), amount=_sum(conversion.amount("principal", "currency")))
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


# Memory for the report's sorts and hashes (a sort of the 150,000-loan portfolio per breakdown, a hash
# of its loans' lines), so they run in memory instead of spilling to disk.
REPORT_WORK_MEM = "64MB"


@contextmanager
def _report_session() -> Iterator[None]:
    """Run the report's statements in one transaction tuned for a few large aggregations.

    On PostgreSQL: ``work_mem`` as above, and no JIT compilation — the report's statements are
    big but cheap per row, and compiling them took longer (2.5 s for the portfolio statement) than
    running them. ``SET LOCAL`` ends with the transaction; inside a caller's transaction the previous
    values are put back.
    """
    nested = connection.in_atomic_block
    with transaction.atomic():
        if not is_postgres():
            yield
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT previous.work_mem, previous.jit,"
                " set_config('work_mem', %s, true), set_config('jit', 'off', true)"
                " FROM (SELECT current_setting('work_mem') AS work_mem, current_setting('jit') AS jit"
                " OFFSET 0) previous",
                [REPORT_WORK_MEM],
            )
            work_mem, jit = cursor.fetchone()[:2]
        yield
        if nested:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true), set_config('jit', %s, true)", [work_mem, jit])


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
    if date_from is not None and date_from > as_of:
        raise ValueError("date_from must not come after as_of.")
    with _report_session():
        return _portfolio_summary(
            as_of=as_of, date_from=date_from, buyer=buyer, region=region, product=product, currency=currency
        )


def _portfolio_summary(
    *,
    as_of: dt.date,
    date_from: dt.date | None,
    buyer: Buyer | str | None,
    region: str | None,
    product: LoanProduct | str | None,
    currency: str,
) -> PortfolioSummary:
    buyer_obj: Buyer | None = _as_instance(Buyer, buyer, "ruc")
    product_obj: LoanProduct | None = _as_instance(LoanProduct, product, "code")
    all_loans = _filtered_loans(as_of=as_of, buyer=buyer_obj, region=region, product=product_obj)
    if currency == SOLES:
        # The whole book in soles, at the rates of as_of (a currency without one raises).
        loans = all_loans
        other_currency_loans = 0
        currencies = set(all_loans.order_by().values_list("currency", flat=True).distinct())
        rates = fx_rates(currencies=currencies, on=as_of)
        conversion = _Conversion(rates=rates)
    else:
        loans = all_loans.filter(currency=currency)
        other_currency_loans = all_loans.exclude(currency=currency).count()
        rates = {}
        conversion = _Conversion(rates=None)
    period = Q(disbursed_on__gte=date_from) if date_from else Q()

    # Disbursements in the period: one query.
    disbursed = loans.filter(period).aggregate(
        n=Count("pk"),
        amount=_sum(conversion.amount("principal", "currency")),
        borrowers=Count("miner", distinct=True),
        women=Count("miner", distinct=True, filter=Q(miner__gender=Miner.Gender.FEMALE)),
    )
    # The portfolio on as_of, whole and per group: one statement.
    stocks = _portfolio_stocks(loans, as_of, narrowed=bool(buyer_obj or region or product_obj), conversion=conversion)
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
    due_in_period = money(lines.aggregate(t=_sum(conversion.amount("total", "loan__currency")))["t"])
    collected = money(
        Allocation.objects.filter(schedule_line__in=lines.values("pk"), transaction__value_date__lte=as_of)
        .exclude(component=Allocation.Component.MORATORY)
        .aggregate(t=_sum(conversion.amount("amount", "schedule_line__loan__currency")))["t"]
    )

    # Breakdowns.
    gender_labels = {str(value): label for value, label in Miner.Gender.choices}
    role_labels = {str(value): label for value, label in Miner.Role.choices}
    common: dict[str, Any] = {"loans": loans, "stocks": stocks, "period": period, "conversion": conversion}
    by_gender = _breakdown(dimension="gender", key=F("miner__gender"), labels=gender_labels, **common)
    by_role = _breakdown(dimension="role", key=F("miner__role"), labels=role_labels, **common)
    by_region = _breakdown(dimension="region", key=Substr("miner__ubigeo", 1, 2), labels=DEPARTMENTS, **common)
    buyer_ids = {int(key) for (name, key) in stocks if name == "buyer" and key is not None}
    buyer_ids |= set(loans.filter(period).exclude(withholding_buyer=None).values_list("withholding_buyer", flat=True))
    buyer_labels = {str(pk): name for pk, name in Buyer.objects.filter(pk__in=buyer_ids).values_list("pk", "name")}
    by_buyer = _breakdown(dimension="buyer", key=F("withholding_buyer"), labels=buyer_labels, **common)
    product_labels = {str(pk): name for pk, name in LoanProduct.objects.values_list("pk", "name")}
    by_product = _breakdown(dimension="product", key=F("product"), labels=product_labels, **common)

    # Withholdings and remittances (the loan's currency; reversed withholdings left out). What is
    # unremitted on as_of is what was withheld less what was matched to remittances paid by then, each
    # summed once over all the withholdings (not a remittance subquery per withholding).
    withholdings = Withholding.objects.filter(loan__in=loans.values("pk"), withheld_on__lte=as_of).exclude(
        status=Withholding.Status.REVERSED
    )
    if buyer_obj is not None:
        withholdings = withholdings.filter(buyer=buyer_obj)
    withheld_in_period = Q(withheld_on__gte=date_from) if date_from else None
    withheld_amount = conversion.amount("amount", "currency")
    withheld = withholdings.annotate(age=DaysBetween(Value(as_of), F("withheld_on"))).aggregate(
        n=Count("pk", filter=withheld_in_period),
        in_period=_sum(withheld_amount, filter=withheld_in_period),
        open=_sum(withheld_amount),
        open_overdue=_sum(withheld_amount, filter=Q(age__gt=F("buyer__remittance_days"))),
    )
    matched = RemittanceMatch.objects.filter(withholding__in=withholdings.values("pk"), remittance__paid_on__lte=as_of)
    paid_in_period = Q(remittance__paid_on__gte=date_from) if date_from else None
    matched_amount = conversion.amount("amount", "withholding__currency")
    remitted = matched.annotate(
        delay=DaysBetween(F("remittance__paid_on"), F("withholding__withheld_on")),
        age=DaysBetween(Value(as_of), F("withholding__withheld_on")),
    ).aggregate(
        n=Count("pk", filter=paid_in_period),
        in_period=_sum(matched_amount, filter=paid_in_period),
        delay_days=Sum("delay", filter=paid_in_period),
        matched=_sum(matched_amount),
        matched_overdue=_sum(matched_amount, filter=Q(age__gt=F("withholding__buyer__remittance_days"))),
    )
    average_delay = round_half_up(Decimal(remitted["delay_days"]) / remitted["n"], 1) if remitted["n"] else None
    period_withholdings = withholdings.filter(withheld_in_period) if withheld_in_period else withholdings
    matches = matched.filter(paid_in_period) if paid_in_period else matched

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
            amount=_sum(conversion.amount("principal", "currency")),
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

    months = _months(
        loans=loans,
        withholdings=period_withholdings,
        matches=matches,
        date_from=date_from,
        as_of=as_of,
        conversion=conversion,
    )

    n_disbursed = disbursed["n"]
    amount_disbursed = money(disbursed["amount"])
    refinanced = refinanced_portfolio(as_of=as_of, loans=loans, rates=conversion.rates)
    rescheduled = rescheduled_portfolio(as_of=as_of, loans=loans, rates=conversion.rates)
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
        withheld=money(withheld["in_period"]),
        remitted_in_period=money(remitted["in_period"]),
        remittance_matches=remitted["n"],
        average_remittance_delay_days=average_delay,
        unremitted=money(withheld["open"] - remitted["matched"]),
        unremitted_overdue=money(withheld["open_overdue"] - remitted["matched_overdue"]),
        equipment=equipment,
        mercury_avoided_kg_year=sum((row.mercury_avoided_kg_year for row in equipment), ZERO),
        mercury_avoided_kg_year_to_date=money(mercury_to_date),
        trainings=trainings,
        trained_miners=trained["miners"],
        trained_women=trained["women"],
        training_hours=trained["hours"] or Decimal("0.0"),
        months=months,
        fx_rates=tuple(rates[currency] for currency in sorted(rates)),
        life=(
            LifeRow(
                "rescheduled",
                _("Reprogrammed (reprogramados): principal outstanding"),
                rescheduled.loans,
                rescheduled.outstanding,
            ),
            LifeRow(
                "refinanced",
                _("Refinanced (refinanciados): principal outstanding"),
                refinanced.loans,
                refinanced.outstanding,
            ),
            *loan_life_rows(loans=loans, as_of=as_of, date_from=date_from, amount=conversion.amount),
        ),
        guarantees=None
        if (buyer_obj or region or product_obj)
        else _guarantee_figures(as_of=as_of, currency=currency, rates=rates),
        refinanced_loans=refinanced.loans,
        refinanced_outstanding=refinanced.outstanding,
    )


def _guarantee_figures(*, as_of: dt.date, currency: str, rates: Mapping[str, FxRate]) -> GuaranteeFigures:
    """The guarantee funds' figures in the report's currency: the whole book in soles adds each
    foreign currency's figures at the as-of rate, a single currency reads its own."""
    figures = guarantee_figures(as_of=as_of, currency=currency)
    if currency != SOLES:
        return figures
    for foreign, rate in sorted(rates.items()):
        if foreign != SOLES:
            figures = figures.plus(guarantee_figures(as_of=as_of, currency=foreign), factor=rate.soles_per_unit)
    return figures


# The monthly chart shows at most this many months (the latest ones) so it stays readable.
MAX_MONTHS = 36


def _months(
    *,
    loans: QuerySet[Loan],
    withholdings: QuerySet[Withholding],
    matches: QuerySet[RemittanceMatch],
    date_from: dt.date | None,
    as_of: dt.date,
    conversion: _Conversion,
) -> tuple[MonthRow, ...]:
    def by_month(queryset: QuerySet[Any], date_field: str, **aggregates: Any) -> dict[dt.date, dict[str, Any]]:
        rows = queryset.annotate(month=TruncMonth(date_field)).order_by().values("month").annotate(**aggregates)
        return {_month_start(row["month"]): row for row in rows}

    period = Q(disbursed_on__gte=date_from) if date_from else Q()
    disbursed = by_month(
        loans.filter(period), "disbursed_on", n=Count("pk"), amount=_sum(conversion.amount("principal", "currency"))
    )
    withheld = by_month(withholdings, "withheld_on", amount=_sum(conversion.amount("amount", "currency")))
    remitted = by_month(
        matches, "remittance__paid_on", amount=_sum(conversion.amount("amount", "withholding__currency"))
    )
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


# --- The portfolio now (the dashboard) ------------------------------------------------------------------


@dataclass(frozen=True)
class CurrentPortfolio(_ParRatios):
    """The active book from the loans' current state, in soles at the rates of ``as_of``; the
    provisions are those of the last nightly rating (``provisions_as_of``), the dated record."""

    as_of: dt.date
    active_loans: int
    borrowers: int
    women_borrowers: int
    outstanding: Decimal
    par1_amount: Decimal
    par30_amount: Decimal
    par90_amount: Decimal
    overdue: Decimal
    categories: tuple[CategoryRow, ...]
    fx_rates: tuple[FxRate, ...]
    provisions_as_of: dt.date | None
    generic_provision: Decimal
    specific_provision: Decimal
    tally_backlog: int = 0  # rows the running totals added since they were last folded together

    @property
    def women_share(self) -> Decimal:
        return _ratio(self.women_borrowers, self.borrowers)

    @property
    def provisions(self) -> Decimal:
        return self.generic_provision + self.specific_provision

    @property
    def fx_stale(self) -> tuple[FxRate, ...]:
        return tuple(rate for rate in self.fx_rates if rate.stale)


def _aged_dpd_sql() -> str:
    """A loan's days past due today from its state of ``state_as_of``: an overdue loan whose state was
    written before is that many days later (nothing paid since, or its state would be newer)."""
    d = _date_sql()
    later = days_between(d, "state_as_of")
    return f"CASE WHEN days_past_due > 0 AND state_as_of IS NOT NULL AND state_as_of < {d} THEN days_past_due + {later} ELSE days_past_due END"  # noqa: E501


def portfolio_current(*, as_of: dt.date, from_scratch: bool = False) -> CurrentPortfolio:
    """The active loans as they stand now (DOMAIN.md §6: each loan's days past due and category follow
    every payment, withholding and void), not as the last nightly rating saw them.

    Per loan: ``outstanding_principal`` and ``days_past_due`` as the loan's own row keeps them after
    its latest event, aged to ``as_of`` (``_aged_dpd_sql``). The SBS category follows from those days
    past due (``loans.sbs`` bands), without internal alignment — the debtor's aligned category and the
    provisions are the nightly rating's. Amounts in other currencies are stated in soles at the
    exchange rate of ``as_of`` (``MissingExchangeRate`` when one is missing).

    Read from the running totals PostgreSQL keeps as loans change (``installments.tally``): one query over
    a few hundred rows, whatever the size of the book. ``from_scratch`` reads the loans themselves — what
    the totals must always equal (and what the demo's SQLite reads). ``as_of`` is today or later: the
    totals are the book's current state."""
    aged = _aged_dpd_sql()
    day = connection.ops.adapt_datefield_value(as_of)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT currency, {aged}, SUM(loans), SUM(outstanding), SUM(overdue), SUM(borrowers), SUM(women),
                       SUM(entries), COUNT(*)
                FROM ({book_rows_sql(from_scratch=from_scratch)}) book GROUP BY 1, 2""",  # noqa: S608
            [day, day],
        )
        rows = cursor.fetchall()
    book = [row for row in rows if row[0] and any(row[2:5])]
    rates = fx_rates(currencies={row[0] for row in book}, on=as_of)
    loans: dict[Category, int] = dict.fromkeys(Category, 0)
    balances: dict[Category, Decimal] = dict.fromkeys(Category, ZERO)
    par = {1: ZERO, 30: ZERO, 90: ZERO}
    overdue = ZERO
    for currency, dpd, count, outstanding, overdue_amount, *_counts in book:
        factor = _soles_per_unit(rates, currency)
        balance = Decimal(str(outstanding or 0)) * factor
        category = category_for_dpd(int(dpd))
        loans[category] += int(count)
        balances[category] += balance
        for days in par:
            if dpd > days:
                par[days] += balance
        overdue += Decimal(str(overdue_amount or 0)) * factor
    total_loans, total_balance = sum(loans.values()), money(sum(balances.values(), ZERO))
    categories = tuple(
        CategoryRow(
            category=category.value,
            label=CATEGORY_LABELS[category],
            loans=loans[category],
            outstanding=money(balances[category]),
            loans_share=_ratio(loans[category], total_loans),
            outstanding_share=_ratio(money(balances[category]), total_balance),
        )
        for category in Category
    )
    rating = PortfolioRating.objects.filter(as_of__lte=as_of).order_by("-as_of").first()
    return CurrentPortfolio(
        as_of=as_of,
        active_loans=total_loans,
        borrowers=int(sum(row[5] or 0 for row in rows)),
        women_borrowers=int(sum(row[6] or 0 for row in rows)),
        outstanding=total_balance,
        par1_amount=money(par[1]),
        par30_amount=money(par[30]),
        par90_amount=money(par[90]),
        overdue=money(overdue),
        categories=categories,
        fx_rates=tuple(rates[currency] for currency in sorted(rates)),
        provisions_as_of=rating.as_of if rating else None,
        generic_provision=rating.generic_provision if rating else ZERO,
        specific_provision=rating.specific_provision if rating else ZERO,
        tally_backlog=_backlog(rows, from_scratch),
    )


def _soles_per_unit(rates: Mapping[str, FxRate], currency: str) -> Decimal:
    return Decimal(1) if currency == SOLES else Decimal(rates[currency].soles_per_unit)


def _backlog(rows: list[tuple[Any, ...]], from_scratch: bool) -> int:
    """Rows added to the tallies since they were last compacted (``entries`` summed − rows read)."""
    if from_scratch or not tallies_kept():
        return 0
    return int(sum(row[-2] for row in rows) - sum(row[-1] for row in rows))


# --- The month's money on the dashboard -------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioFlows:
    """Money moved in ``[date_from, as_of]`` in soles (the rates of ``as_of``), as ``portfolio_summary``
    counts it, and what buyers still owe on ``as_of``."""

    as_of: dt.date
    date_from: dt.date
    loans_disbursed: int
    amount_disbursed: Decimal
    withheld: Decimal
    remitted_in_period: Decimal
    unremitted: Decimal
    fx_rates: tuple[FxRate, ...]
    tally_backlog: int = 0


def portfolio_flows(*, as_of: dt.date, date_from: dt.date, from_scratch: bool = False) -> PortfolioFlows:
    """The period's disbursements, withholdings and remittances, and the unremitted balance, from the
    per-day running totals (``installments.tally``; ``from_scratch``: from the loans, withholdings and
    remittance matches). ``as_of`` is today or later (nothing is dated after today)."""
    d = _date_sql()
    start, day = connection.ops.adapt_datefield_value(date_from), connection.ops.adapt_datefield_value(as_of)
    in_period = f"CASE WHEN day >= {d} THEN {{}} ELSE 0 END"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT currency, SUM({in_period.format("loans_disbursed")}), SUM({in_period.format("disbursed")}),
                       SUM({in_period.format("withheld")}), SUM({in_period.format("remitted")}),
                       SUM(withheld) - SUM(remitted), SUM(entries), COUNT(*)
                FROM ({flow_rows_sql(from_scratch=from_scratch)}) flows WHERE day <= {d} GROUP BY currency""",  # noqa: S608
            [start, start, start, start, day],
        )
        rows = [row for row in cursor.fetchall() if any(row[1:6])]
    rates = fx_rates(currencies={row[0] for row in rows}, on=as_of)

    def soles(index: int) -> Decimal:
        return money(sum((Decimal(str(row[index] or 0)) * _soles_per_unit(rates, row[0]) for row in rows), ZERO))

    return PortfolioFlows(
        as_of=as_of,
        date_from=date_from,
        loans_disbursed=int(sum(row[1] or 0 for row in rows)),
        amount_disbursed=soles(2),
        withheld=soles(3),
        remitted_in_period=soles(4),
        unremitted=soles(5),
        fx_rates=tuple(rates[currency] for currency in sorted(rates)),
        tally_backlog=_backlog(rows, from_scratch),
    )


def unremitted_by_buyer(*, limit: int = 8, from_scratch: bool = False) -> list[dict[str, Any]]:
    """The buyers owing the most (withheld, not yet remitted), per currency, with their oldest open
    withholding (the ``(buyer, status, withheld_on)`` index, for the rows shown)."""
    oldest = (
        "SELECT MIN(w.withheld_on) FROM installments_withholding w WHERE w.buyer_id = o.buyer_id"  # noqa: S608
        f" AND w.currency = o.currency AND w.{OPEN_WITHHOLDING}"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT o.buyer_id, b.name, o.currency, o.owed, ({oldest}) AS oldest
                FROM (SELECT buyer_id, currency, SUM(owed) AS owed FROM ({owed_rows_sql(from_scratch=from_scratch)}) x
                      GROUP BY buyer_id, currency HAVING SUM(owed) > 0) o
                JOIN {Buyer._meta.db_table} b ON b.id = o.buyer_id
                ORDER BY o.owed DESC, o.buyer_id LIMIT %s""",  # noqa: S608
            [limit],
        )
        rows = cursor.fetchall()
    return [
        {
            "buyer_id": buyer_id,
            "buyer__name": name,
            "currency": currency,
            "owed": money(Decimal(str(owed))),
            "oldest": _as_date(oldest),
        }
        for buyer_id, name, currency, owed, oldest in rows
    ]


def _as_date(value: Any) -> dt.date | None:
    """A date as the database returns it (SQLite: ISO text from a raw query)."""
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value))
