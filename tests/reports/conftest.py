"""Fixture loans for the report tests.

Loans are built the way disbursement builds them — the cronograma from ``loans.schedule.build_schedule``
stored as current ScheduleLines — and payments are recorded as a transaction with its allocations and
the lines marked paid, as the servicing engine leaves them. Helpers take explicit dates so every
figure in the tests can be computed by hand.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest

from asmcredit.money import ZERO, pct_to_rate
from buyers.models import Buyer, BuyerUser, Settlement
from installments.models import (
    Allocation,
    LoanRating,
    LoanTransaction,
    Remittance,
    RemittanceMatch,
    ScheduleLine,
    Withholding,
)
from loans.models import Loan, LoanApplication, LoanProduct
from loans.schedule import GraceKind, ScheduleTerms, build_schedule
from miners.models import Miner, Training
from tests.factories import BuyerFactory, EquipmentFactory, LoanProductFactory, MinerFactory

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"

_counter = {"loan": 0}

WORKED_EXAMPLE_DUE_DATES = tuple(
    dt.date(2025, month, day) for month, day in ((2, 17), (3, 17), (4, 15), (5, 15), (6, 16), (7, 15))
)


def make_loan(
    *,
    miner,
    product,
    amount: Decimal,
    term: int,
    disbursed_on: dt.date,
    first_due_on: dt.date,
    prepared_by,
    buyer: Buyer | None = None,
    equipment=None,
    tea_pct: Decimal | None = None,
    due_dates: tuple[dt.date, ...] | None = None,
) -> Loan:
    """A disbursed loan with its version-1 cronograma, as ``loan_disburse`` leaves it."""
    tea_pct = product.tea_pct if tea_pct is None else tea_pct
    application = LoanApplication.objects.create(
        miner=miner,
        product=product,
        withholding_buyer=buyer,
        amount=amount,
        term=term,
        tea_pct=tea_pct,
        disbursement_date=disbursed_on,
        first_due_on=first_due_on,
        equipment=equipment,
        status=LoanApplication.Status.DISBURSED,
        prepared_by=prepared_by,
    )
    terms = ScheduleTerms(
        principal=amount,
        tea=pct_to_rate(tea_pct),
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        installments=term,
        grace_kind=GraceKind.NONE,
        insurance_monthly_rate=pct_to_rate(product.insurance_monthly_rate_pct),
        fee_per_installment=product.fee_per_installment,
        upfront_fees=product.upfront_fee,
        due_dates=due_dates,
    )
    schedule = build_schedule(terms)
    _counter["loan"] += 1
    loan = Loan.objects.create(
        code=f"PR-{_counter['loan']:06d}-{application.pk}",
        application=application,
        miner=miner,
        product=product,
        withholding_buyer=buyer,
        equipment=equipment,
        currency=product.currency,
        principal=amount,
        tea_pct=tea_pct,
        moratory_tea_pct=product.moratory_tea_pct,
        tcea_pct=schedule.tcea,
        insurance_monthly_rate_pct=product.insurance_monthly_rate_pct,
        upfront_fees=product.upfront_fee,
        fee_per_installment=product.fee_per_installment,
        term=term,
        installment_amount=schedule.installment,
        disbursed_on=disbursed_on,
        first_due_on=first_due_on,
        payee=Loan.Payee.MINER if equipment is None else Loan.Payee.SUPPLIER,
        payee_supplier=equipment.supplier if equipment is not None else None,
        disbursed_by=prepared_by,
        outstanding_principal=amount,
        next_due_on=first_due_on,
    )
    ScheduleLine.objects.bulk_create(
        ScheduleLine(
            loan=loan,
            number=line.number,
            due_on=line.due_on,
            days=line.days,
            opening_balance=line.opening_balance,
            principal=line.principal,
            interest=line.interest,
            insurance=line.insurance,
            fees=line.fees,
            total=line.total,
            closing_balance=line.closing_balance,
            capitalized=line.capitalized,
        )
        for line in schedule.lines
    )
    LoanTransaction.objects.create(
        loan=loan,
        kind=LoanTransaction.Kind.DISBURSEMENT,
        value_date=disbursed_on,
        amount=amount,
        currency=loan.currency,
        recorded_by=prepared_by,
    )
    return loan


def pay_installments(loan: Loan, count: int, paid_on: dt.date, *, settlement=None) -> LoanTransaction:
    """Pay the next ``count`` unpaid installments in full on ``paid_on`` (one transaction)."""
    lines = list(loan.schedule_lines.filter(is_current=True, paid_on__isnull=True).order_by("number")[:count])
    amount = sum((line.total for line in lines), ZERO)
    transaction = LoanTransaction.objects.create(
        loan=loan,
        kind=LoanTransaction.Kind.WITHHOLDING if settlement else LoanTransaction.Kind.PAYMENT,
        value_date=paid_on,
        amount=amount,
        currency=loan.currency,
        settlement=settlement,
    )
    for line in lines:
        for component in ("interest", "insurance", "fees", "principal"):
            value = getattr(line, component)
            if value > 0:
                Allocation.objects.create(
                    transaction=transaction, schedule_line=line, component=component, amount=value
                )
            setattr(line, f"paid_{component}", value)
        line.paid_on = paid_on
        line.status = ScheduleLine.Status.PAID
        line.save()
    loan.outstanding_principal = lines[-1].closing_balance if lines else loan.outstanding_principal
    loan.save(update_fields=["outstanding_principal"])
    return transaction


def rate_loan(loan: Loan, as_of: dt.date, *, dpd: int, category: str, outstanding: Decimal) -> LoanRating:
    return LoanRating.objects.create(
        loan=loan,
        as_of=as_of,
        days_past_due=dpd,
        category=category,
        aligned_category=category,
        outstanding_principal=outstanding,
        provision_rate=Decimal("1"),
        provision=Decimal("0"),
    )


def pdf_text(pdf: bytes, tmp_path: Path, name: str = "doc") -> str:
    """The PDF's text as ``pdftotext -layout`` reads it (what a reader would copy from it)."""
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def save_artifact(pdf: bytes, name: str, *, pages: bool = True) -> Path:
    """Keep the PDF (and PNGs of its pages at 60 dpi) under test-artifacts/reports/ to look at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    if pages and shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / name)], check=True)
    return path


@pytest.fixture(autouse=True)
def _plain_static_files(settings):
    # Pages extend base.html, which links static files; tests run without collectstatic's manifest.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def product(db):
    return LoanProductFactory(code="equipo-limpio", name="Equipo libre de mercurio")


@pytest.fixture
def buyer(db):
    return BuyerFactory(name="Minera Orex S.A.C.", region="04")


@pytest.fixture
def other_buyer(db):
    return BuyerFactory(name="Planta Sur E.I.R.L.", region="21")


@pytest.fixture
def miner(db):
    return MinerFactory(first_names="Rosa", last_names="Huamán Quispe", gender="F", document_number="41234567")


@pytest.fixture
def equipment(db):
    return EquipmentFactory(name="Concentrador gravimétrico Knelson", mercury_avoided_kg_year=Decimal("12.50"))


@pytest.fixture
def worked_example_loan(miner, product, buyer, officer):
    """DOMAIN.md §3's check: S/ 10,000 at TEA 40%, disbursed 2025-01-15, six installments from 02-17."""
    return make_loan(
        miner=miner,
        product=product,
        amount=Decimal("10000.00"),
        term=6,
        disbursed_on=dt.date(2025, 1, 15),
        first_due_on=dt.date(2025, 2, 17),
        prepared_by=officer,
        buyer=buyer,
        due_dates=WORKED_EXAMPLE_DUE_DATES,
    )


@pytest.fixture
def buyer_user(django_user_model, buyer):
    user = django_user_model.objects.create_user(username="bruno.buyer", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=buyer)
    return user


@pytest.fixture
def other_buyer_user(django_user_model, other_buyer):
    user = django_user_model.objects.create_user(username="otto.otherbuyer", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=other_buyer)
    return user


def make_settlement(*, buyer, miner, settled_on: dt.date, lot_code: str) -> Settlement:
    """An ore settlement with plausible figures; the reports only read its date, lot and payable."""
    return Settlement.objects.create(
        buyer=buyer,
        miner=miner,
        lot_code=lot_code,
        settled_on=settled_on,
        currency="PEN",
        exchange_rate=Decimal("3.7500"),
        wet_tonnes=Decimal("10.000"),
        moisture_pct=Decimal("8.00"),
        grade_oz_tc=Decimal("0.5000"),
        recovery=Decimal("0.8400"),
        gold_price_usd_oz=Decimal("3322.10"),
        dry_tonnes=Decimal("9.200"),
        value_per_tms=Decimal("1327.4815"),
        payable_usd=Decimal("12212.83"),
        contained_gold_usd=Decimal("16839.47"),
        fair_price_share=Decimal("0.7253"),
        source=Settlement.Source.SEED,
    )


def withhold_installment(loan: Loan, *, buyer, on: dt.date, lot_code: str) -> Withholding:
    """The buyer withholds the next installment from a settlement dated ``on`` (the miner's payment)."""
    settlement = make_settlement(buyer=buyer, miner=loan.miner, settled_on=on, lot_code=lot_code)
    transaction = pay_installments(loan, 1, on, settlement=settlement)
    return Withholding.objects.create(
        settlement=settlement,
        loan=loan,
        buyer=buyer,
        transaction=transaction,
        withheld_on=on,
        amount=transaction.amount,
        currency=loan.currency,
        amount_settlement_currency=transaction.amount,
    )


def remit(*, buyer, withholdings, paid_on: dt.date, reference: str, extra: Decimal = ZERO) -> Remittance:
    total = sum((w.amount for w in withholdings), ZERO)
    remittance = Remittance.objects.create(
        buyer=buyer,
        reference=reference,
        amount=total + extra,
        currency="PEN",
        paid_on=paid_on,
        unmatched_amount=extra,
    )
    for withholding in withholdings:
        RemittanceMatch.objects.create(remittance=remittance, withholding=withholding, amount=withholding.amount)
        withholding.remitted_amount = withholding.amount
        withholding.status = Withholding.Status.REMITTED
        withholding.save(update_fields=["remitted_amount", "status"])
    return remittance


AS_OF = dt.date(2025, 6, 30)
PERIOD_FROM = dt.date(2025, 1, 1)


@dataclass
class Portfolio:
    """The report fixture: six loans whose every figure can be worked out by hand (see ``portfolio``)."""

    orex: Buyer
    sur: Buyer
    rosa_loan: Loan  # worked example, withheld by Orex, 4 installments paid, 14 dpd (CPP)
    mario_loan: Loan  # Puno, never paid, 81 dpd (Dudoso)
    juana_loan: Loan  # pallaquera, micro-enterprise product, first installment paid (Normal)
    pedro_loan: Loan  # 2024 loan rated Normal for AS_OF with S/ 2,000.00 outstanding
    pedro_old_loan: Loan  # paid off in 2024: out of the portfolio
    dollar_loan: Loan  # US$: left out of the soles figures
    orex_withholdings: list[Withholding]


@pytest.fixture
def portfolio(db, officer, product, buyer, other_buyer, miner, equipment) -> Portfolio:
    micro = LoanProductFactory(
        code="micro-negocio",
        name="Micro-negocio",
        purpose=LoanProduct.Purpose.MICRO_ENTERPRISE,
        requires_reinfo=False,
    )
    dollars = LoanProductFactory(code="equipo-usd", name="Equipo en dólares", currency="USD")
    mario: Miner = MinerFactory(  # type: ignore[assignment]
        first_names="Mario", last_names="Condori Apaza", gender="M", role=Miner.Role.WORKER, ubigeo="210101"
    )
    juana: Miner = MinerFactory(  # type: ignore[assignment]
        first_names="Juana",
        last_names="Mamani Ccori",
        gender="F",
        role=Miner.Role.PALLAQUERA,
        ubigeo="040101",
        reinfo_code="",
        reinfo_status="",
        reinfo_date=None,
        formalization_stage=Miner.FormalizationStage.NOT_APPLICABLE,
    )
    pedro = MinerFactory(first_names="Pedro", last_names="Ccama Flores", gender="M", ubigeo="040112")

    rosa_loan = make_loan(
        miner=miner,
        product=product,
        amount=Decimal("10000.00"),
        term=6,
        disbursed_on=dt.date(2025, 1, 15),
        first_due_on=dt.date(2025, 2, 17),
        prepared_by=officer,
        buyer=buyer,
        equipment=equipment,
        due_dates=WORKED_EXAMPLE_DUE_DATES,
    )
    withholdings = [
        withhold_installment(rosa_loan, buyer=buyer, on=due, lot_code=f"OREX-{n}")
        for n, due in enumerate(WORKED_EXAMPLE_DUE_DATES[:4], start=1)
    ]
    remit(buyer=buyer, withholdings=withholdings[:3], paid_on=dt.date(2025, 5, 20), reference="BCP-0001")

    mario_loan = make_loan(
        miner=mario,
        product=product,
        amount=Decimal("20000.00"),
        term=12,
        disbursed_on=dt.date(2025, 3, 10),
        first_due_on=dt.date(2025, 4, 10),
        prepared_by=officer,
        buyer=other_buyer,
    )
    juana_loan = make_loan(
        miner=juana,
        product=micro,
        amount=Decimal("3000.00"),
        term=6,
        disbursed_on=dt.date(2025, 5, 20),
        first_due_on=dt.date(2025, 6, 20),
        prepared_by=officer,
    )
    pay_installments(juana_loan, 1, dt.date(2025, 6, 20))
    pedro_loan = make_loan(
        miner=pedro,
        product=product,
        amount=Decimal("5000.00"),
        term=12,
        disbursed_on=dt.date(2024, 6, 1),
        first_due_on=dt.date(2024, 7, 1),
        prepared_by=officer,
    )
    rate_loan(pedro_loan, AS_OF, dpd=0, category="normal", outstanding=Decimal("2000.00"))
    pedro_old_loan = make_loan(
        miner=pedro,
        product=product,
        amount=Decimal("2000.00"),
        term=3,
        disbursed_on=dt.date(2024, 1, 10),
        first_due_on=dt.date(2024, 2, 10),
        prepared_by=officer,
    )
    for due in (dt.date(2024, 2, 10), dt.date(2024, 3, 10), dt.date(2024, 4, 10)):
        pay_installments(pedro_old_loan, 1, due)
    pedro_old_loan.status = Loan.Status.PAID_OFF
    pedro_old_loan.save(update_fields=["status"])
    dollar_loan = make_loan(
        miner=pedro,
        product=dollars,
        amount=Decimal("8000.00"),
        term=12,
        disbursed_on=dt.date(2025, 2, 1),
        first_due_on=dt.date(2025, 3, 1),
        prepared_by=officer,
    )
    Training.objects.create(miner=miner, topic=Training.Topic.SAFETY, held_on=dt.date(2025, 3, 1), hours=Decimal("4"))
    Training.objects.create(
        miner=juana, topic=Training.Topic.FINANCIAL_EDUCATION, held_on=dt.date(2025, 4, 1), hours=Decimal("3")
    )
    Training.objects.create(
        miner=mario, topic=Training.Topic.MERCURY_FREE, held_on=dt.date(2024, 12, 1), hours=Decimal("6")
    )
    return Portfolio(
        orex=buyer,
        sur=other_buyer,
        rosa_loan=rosa_loan,
        mario_loan=mario_loan,
        juana_loan=juana_loan,
        pedro_loan=pedro_loan,
        pedro_old_loan=pedro_old_loan,
        dollar_loan=dollar_loan,
        orex_withholdings=withholdings,
    )
