"""Fixture loans for the report tests.

The fixtures go through the servicing engine, as production does: an application is created, submitted
and approved (``loans.services``, an approver other than the officer) and disbursed
(``installments.services.loan_disburse``); payments are ``payment_record``, withholdings
``settlement_post`` of DOMAIN.md §4's lot, remittances ``remittance_record``. The engine replays each
loan from its log and writes the allocations, paid lines and balances the reports read. Only the
nightly rating (``rate_loan``) is written directly: no engine call produces a rating for a chosen
date with chosen figures. Helpers take explicit dates so every figure in the tests can be computed by
hand.

One step is not the engine's: origination only knows the fixed-day rule (``loans.schedule.due_dates``:
02-17, 03-17, 04-17, …), while DOMAIN.md §3's worked example is due 02-17, 03-17, 04-15, 05-15, 06-16
and 07-15. ``make_loan(due_dates=...)`` therefore re-dates the freshly disbursed version-1 cronograma
with ``build_schedule`` (as the simulator does with explicit dates) before any payment, and the engine
services that cronograma from then on.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import subprocess
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.utils import timezone

from asmcredit import roles
from asmcredit.money import ZERO
from buyers.models import Buyer, BuyerUser, Settlement
from installments.models import LoanRating, LoanTransaction, Remittance, ScheduleLine, Withholding
from installments.selectors import PLAN_COLUMNS
from installments.services.disbursement import loan_disburse
from installments.services.payments import payment_record
from installments.services.remittances import remittance_record
from installments.services.settlements import settlement_post
from installments.services.writeback import loan_recompute
from loans.models import Loan, LoanApplication, LoanProduct
from loans.schedule import build_schedule
from loans.services import application_approve, application_create, application_schedule_terms, application_submit
from miners.models import Miner, Training
from tests.factories import BuyerFactory, EquipmentFactory, LoanProductFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "reports"

WORKED_EXAMPLE_DUE_DATES = tuple(
    dt.date(2025, month, day) for month, day in ((2, 17), (3, 17), (4, 15), (5, 15), (6, 16), (7, 15))
)


def _committee() -> Any:
    """The credit approver who decides the fixture applications (maker–checker: never the officer)."""
    user, created = get_user_model().objects.get_or_create(username="comite.reports")
    if created:
        user.set_password("correct-horse-battery-9")
        user.save(update_fields=["password"])
        user.groups.add(Group.objects.get_or_create(name=roles.CREDIT_APPROVER)[0])
    return user


def _redate(loan: Loan, due_dates: tuple[dt.date, ...]) -> Loan:
    """Give a just-disbursed loan's version-1 cronograma explicit due dates (origination has no field
    for them), then let the engine replay the loan from it."""
    terms = dataclasses.replace(
        application_schedule_terms(loan.application), disbursed_on=loan.disbursed_on, due_dates=due_dates
    )
    schedule = build_schedule(terms)
    figures = [name for name in PLAN_COLUMNS if name != "number"]
    lines = {line.number: line for line in ScheduleLine.objects.filter(loan=loan, version=1)}
    for planned in schedule.lines:
        for name in figures:
            setattr(lines[planned.number], name, getattr(planned, name))
    ScheduleLine.objects.bulk_update(lines.values(), figures)
    loan.installment_amount = schedule.installment
    loan.tcea_pct = schedule.tcea
    loan.next_due_on = schedule.lines[0].due_on
    loan.save(update_fields=["installment_amount", "tcea_pct", "next_due_on"])
    return loan_recompute(loan=loan)


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
    approved_by=None,
) -> Loan:
    """A loan prepared and submitted by ``prepared_by``, approved by a credit approver and disbursed on
    ``disbursed_on`` through the engine (version-1 cronograma, DISBURSEMENT transaction)."""
    application = application_create(
        miner=miner,
        product=product,
        amount=amount,
        term=term,
        tea_pct=tea_pct,
        disbursement_date=disbursed_on,
        first_due_on=first_due_on,
        prepared_by=prepared_by,
        equipment=equipment,
        withholding_buyer=buyer,
    )
    application_submit(application=application, actor=prepared_by, underwriting={})
    application_approve(application=application, approver=approved_by or _committee())
    # A loan from the past was approved in the past: a disbursement is never dated before its approval.
    LoanApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.make_aware(dt.datetime.combine(disbursed_on, dt.time(9)))
    )
    loan = loan_disburse(application=application, actor=prepared_by, disbursed_on=disbursed_on, reference="TRX-1")
    if due_dates is not None:
        loan = _redate(loan, due_dates)
    return loan


def pay_installments(loan: Loan, count: int, paid_on: dt.date, *, settlement=None, actor=None) -> LoanTransaction:
    """The miner pays the next ``count`` unpaid installments in full on ``paid_on`` (one payment,
    recorded by ``actor``, by default the officer who disbursed the loan)."""
    assert settlement is None, "withholdings go through withhold_installment (settlement_post)"
    loan.refresh_from_db()
    lines = list(loan.schedule_lines.filter(is_current=True, paid_on__isnull=True).order_by("number")[:count])
    amount = sum((line.total for line in lines), ZERO)
    transaction = payment_record(
        loan=loan, amount=amount, paid_on=paid_on, actor=actor or loan.disbursed_by, reference=f"PAGO-{paid_on}"
    )
    loan.refresh_from_db()
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


def withhold_installment(loan: Loan, *, buyer, on: dt.date, lot_code: str, actor=None) -> Withholding:
    """The buyer posts DOMAIN.md §4's lot settled on ``on`` and withholds what the loan asks for that day
    (``settlement_post``). On a due date with the earlier installments paid, that is exactly the
    installment falling due (DOMAIN.md §5: overdue plus what falls due by the next due date, which is
    that day)."""
    outcome = settlement_post(
        buyer=buyer,
        miner=loan.miner,
        actor=actor or loan.disbursed_by,
        source=Settlement.Source.SEED,
        lot_code=lot_code,
        settled_on=on,
        currency="PEN",
        exchange_rate=Decimal("3.7500"),
        **DOMAIN_LOT,
    )
    (withholding,) = [w for w in outcome.withholdings if w.loan_id == loan.pk]
    loan.refresh_from_db()
    return withholding


def remit(*, buyer, withholdings, paid_on: dt.date, reference: str, extra: Decimal = ZERO, actor=None) -> Remittance:
    """The buyer transfers what it withheld on ``withholdings`` (plus ``extra``), listing their
    settlements; ``remittance_record`` matches it."""
    total = sum((w.amount for w in withholdings), ZERO)
    outcome = remittance_record(
        buyer=buyer,
        reference=reference,
        amount=total + extra,
        currency="PEN",
        paid_on=paid_on,
        actor=actor,
        settlement_ids=[w.settlement_id for w in withholdings],
    )
    for withholding in withholdings:
        withholding.refresh_from_db()
    return outcome.remittance


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
    orex_withholdings: list[Withholding]


@pytest.fixture
def portfolio(db, officer, product, buyer, other_buyer, miner, equipment) -> Portfolio:
    micro = LoanProductFactory(
        code="micro-negocio",
        name="Micro-negocio",
        purpose=LoanProduct.Purpose.MICRO_ENTERPRISE,
        requires_reinfo=False,
    )
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

    # When Rosa applied the product financed catalogue equipment only; it was opened to loans without
    # equipment afterwards (origination checks the product's rule when an application is made).
    product.requires_equipment = True
    product.save(update_fields=["requires_equipment"])
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
    product.requires_equipment = False
    product.save(update_fields=["requires_equipment"])
    withholdings = [
        withhold_installment(rosa_loan, buyer=buyer, on=due, lot_code=f"OREX-{n}")
        for n, due in enumerate(WORKED_EXAMPLE_DUE_DATES[:4], start=1)
    ]
    remit(buyer=buyer, withholdings=withholdings[:3], paid_on=dt.date(2025, 5, 20), reference="BCP-0001", actor=officer)

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
    assert pedro_old_loan.status == Loan.Status.PAID_OFF  # the engine closes it with the last payment
    # Dollar loans are stated in soles at the table rate (issue #11 item 7): that conversion has its own
    # hand-worked book in tests/edges/test_it_converts_dollars_at_the_table_rate.py.
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
        orex_withholdings=withholdings,
    )


@pytest.fixture
def spanish():  # type: ignore[no-untyped-def]
    """The documents are built and printed in Spanish, as for an officer's request (services called
    directly in tests otherwise speak the msgids' English)."""
    from django.utils import translation

    with translation.override("es"):
        yield
