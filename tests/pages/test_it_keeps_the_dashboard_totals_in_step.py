"""The dashboard reads running totals the database keeps as loans, withholdings and remittances change
(``installments.tally``). After any sequence of what happens to a book — disbursements, payments,
settlements, voids, remittances, the nightly accrual, a borrower's gender corrected, a compaction — the
totals give exactly what the loans and withholdings give when read from scratch, and what the portfolio
report states for the month."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from decimal import Decimal
from typing import Any
from unittest.mock import ANY

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Case, Value, When
from django.utils import timezone

from buyers.models import Settlement
from installments.models import BookTally, BorrowerTally, Remittance
from installments.services import (
    moratory_accrue,
    payment_record,
    payoff_quote,
    remittance_record,
    settlement_post,
    settlement_void,
)
from installments.tally import tally_compact, tally_rebuild
from loans.models import Loan
from loans.sbs import category_for_dpd
from miners.models import Miner
from rates.models import ExchangeRate
from reports.selectors import portfolio_current, portfolio_flows, portfolio_summary, unremitted_by_buyer
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse, make_product

pytestmark = pytest.mark.django_db

D = Decimal
SEEDS = [1, 2, 3]
STEPS = 45
USD_RATE = D("3.7450")


@pytest.fixture(autouse=True)
def _dollar_rate(db):  # type: ignore[no-untyped-def]
    day = timezone.localdate() - dt.timedelta(days=400)
    ExchangeRate.objects.create(currency="USD", rate_on=day, soles_per_unit=USD_RATE, source="SBS")


def _aged(loan: Loan, today: dt.date) -> int:
    if loan.days_past_due > 0 and loan.state_as_of is not None and loan.state_as_of < today:
        return loan.days_past_due + (today - loan.state_as_of).days
    return loan.days_past_due


def book_in_python(today: dt.date, usd: Decimal) -> dict[str, Any]:
    """The active book computed loan by loan, independently of any SQL."""
    loans = [
        loan
        for loan in Loan.objects.select_related("miner")
        if loan.status == Loan.Status.ACTIVE and loan.outstanding_principal > 0
    ]
    rate = {"PEN": D(1), "USD": usd}
    by_category: dict[str, int] = {}
    for loan in loans:
        category = category_for_dpd(_aged(loan, today)).value
        by_category[category] = by_category.get(category, 0) + 1
    return {
        "active_loans": len(loans),
        "borrowers": len({loan.miner_id for loan in loans}),
        "women": len({loan.miner_id for loan in loans if loan.miner.gender == "F"}),
        "outstanding": sum((loan.outstanding_principal * rate[loan.currency] for loan in loans), D(0)).quantize(
            D("0.01")
        ),
        "categories": by_category,
    }


def current_figures(current: Any) -> dict[str, Any]:
    return {
        "active_loans": current.active_loans,
        "borrowers": current.borrowers,
        "women": current.women_borrowers,
        "outstanding": current.outstanding,
        "categories": {row.category: row.loans for row in current.categories if row.loans},
    }


def assert_in_step(today: dt.date, usd: Decimal) -> None:
    month = today.replace(day=1)
    tallied = portfolio_current(as_of=today)
    scratch = portfolio_current(as_of=today, from_scratch=True)
    assert tallied == replace(scratch, tally_backlog=tallied.tally_backlog)
    assert current_figures(tallied) == book_in_python(today, usd)
    flows = portfolio_flows(as_of=today, date_from=month)
    scratch_flows = portfolio_flows(as_of=today, date_from=month, from_scratch=True)
    assert flows == replace(scratch_flows, tally_backlog=flows.tally_backlog)
    assert unremitted_by_buyer(limit=50) == unremitted_by_buyer(limit=50, from_scratch=True)


class Book:
    """A small book and the things that happen to it, chosen by a seeded random generator."""

    def __init__(self, rng: random.Random, officer: Any, today: dt.date) -> None:
        self.rng, self.officer, self.today = rng, officer, today
        self.soles = make_product()
        self.dollars = make_product(code="equipo-usd", name="Equipo en dólares", currency="USD", min_amount=D("100"))
        self.buyers = [BuyerFactory.create(remittance_days=7) for _ in range(2)]
        self.miners = [MinerFactory.create(gender=rng.choice("FM")) for _ in range(6)]
        self.lots = 0

    def active_loans(self) -> list[Loan]:
        return list(Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("id"))

    def disburse(self) -> None:
        product = self.rng.choice([self.soles, self.soles, self.dollars])
        disbursed_on = self.today - dt.timedelta(days=self.rng.randint(0, 240))
        disburse(
            miner=self.rng.choice(self.miners),
            product=product,
            officer=self.officer,
            amount=D(self.rng.choice(["1500.00", "4000.00", "9000.00"])),
            term=self.rng.choice([3, 6, 12]),
            disbursed_on=disbursed_on,
            first_due_on=disbursed_on + dt.timedelta(days=30),
            buyer=self.rng.choice(self.buyers),
        )

    def pay(self) -> None:
        loans = self.active_loans()
        if not loans:
            return
        loan = self.rng.choice(loans)
        payoff = payoff_quote(loan=loan, on=self.today).total
        amount = min(self.rng.choice([D("150.00"), D("800.00"), payoff]), payoff)
        if amount > 0:
            payment_record(loan=loan, amount=amount, paid_on=self.today, actor=self.officer, reference="CAJA")

    def settle(self) -> None:
        loans = self.active_loans()
        if not loans:
            return
        loan = self.rng.choice(loans)
        self.lots += 1
        settled_on = max(self.today - dt.timedelta(days=self.rng.randint(0, 20)), loan.disbursed_on)
        settlement_post(
            buyer=loan.withholding_buyer,
            miner=loan.miner,
            actor=self.officer,
            lot_code=f"LOT-{self.lots}",
            settled_on=settled_on,
            currency="PEN",
            exchange_rate=D("3.75"),
            **{**DOMAIN_LOT, "wet_tonnes": D(self.rng.choice(["0.5", "2", "6"]))},
        )

    def void(self) -> None:
        posted = list(Settlement.objects.filter(status=Settlement.Status.POSTED).order_by("id"))
        if posted:
            settlement_void(settlement=self.rng.choice(posted), actor=self.officer, reason="Wrong lot.")

    def remit(self) -> None:
        self.lots += 1
        remittance_record(
            buyer=self.rng.choice(self.buyers),
            reference=f"BCP-{self.lots}",
            amount=D(self.rng.choice(["300.00", "1200.00", "5000.00"])),
            currency="PEN",
            paid_on=self.today - dt.timedelta(days=self.rng.randint(0, 10)),
            actor=self.officer,
        )

    def accrue(self) -> None:
        moratory_accrue(as_of=self.today)

    def correct_gender(self) -> None:
        miner = self.rng.choice(self.miners)
        Miner.objects.filter(pk=miner.pk).update(gender="M" if Miner.objects.get(pk=miner.pk).gender == "F" else "F")

    def compact(self) -> None:
        tally_compact()

    def step(self) -> str:
        action = self.rng.choice(
            ["disburse"] * 4
            + ["pay"] * 3
            + ["settle"] * 4
            + ["void", "remit", "remit", "accrue", "correct_gender"]
            + ["compact"]
        )
        getattr(self, action)()
        return action


@pytest.mark.parametrize("seed", SEEDS)
def test_the_totals_equal_the_book_read_from_scratch_after_any_sequence_of_events(officer, seed) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    usd = USD_RATE
    book = Book(random.Random(seed), officer, today)
    for _ in range(3):
        book.disburse()
    done = []
    for _ in range(STEPS):
        done.append(book.step())
        assert_in_step(today, usd)
    # Every kind of event happened, and the book is not trivially empty.
    assert {"disburse", "pay", "settle", "remit"} <= set(done)
    assert portfolio_current(as_of=today).active_loans > 0

    # Folding the rows together changes no figure; a rebuild finds nothing to correct.
    before = portfolio_current(as_of=today)
    tally_compact()
    assert portfolio_current(as_of=today).outstanding == before.outstanding
    assert tally_rebuild() == 0
    assert_in_step(today, usd)

    # The month's money is the portfolio report's.
    month = today.replace(day=1)
    summary = portfolio_summary(as_of=today, date_from=month)
    flows = portfolio_flows(as_of=today, date_from=month)
    assert (flows.amount_disbursed, flows.withheld, flows.remitted_in_period, flows.unremitted) == (
        summary.amount_disbursed,
        summary.withheld,
        summary.remitted_in_period,
        summary.unremitted,
    )


def test_a_rebuild_puts_back_totals_that_drifted(officer) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    book = Book(random.Random(7), officer, today)
    for _ in range(4):
        book.disburse()
    book.settle()
    expected = portfolio_current(as_of=today, from_scratch=True)
    # Rows lost or doubled by hand (a restore, a manual fix): the rebuild adds what is missing.
    BookTally.objects.filter(currency="PEN").delete()
    BorrowerTally.objects.all().update(loans=9)
    call_command("portfolio_tally", "--rebuild", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert portfolio_current(as_of=today).outstanding == expected.outstanding
    assert portfolio_current(as_of=today).borrowers == expected.borrowers
    assert set(BorrowerTally.objects.values_list("loans", flat=True)) <= {0, 1, 2, 3, 4}
    assert tally_rebuild() == 0


def test_a_remittance_re_dated_moves_what_was_matched_to_it(officer) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    buyer = BuyerFactory.create()
    miner = MinerFactory.create()
    disbursed_on = today - dt.timedelta(days=100)
    disburse(
        miner=miner,
        product=make_product(),
        officer=officer,
        disbursed_on=disbursed_on,
        first_due_on=disbursed_on + dt.timedelta(days=30),
        buyer=buyer,
    )
    settlement_post(
        buyer=buyer,
        miner=miner,
        actor=officer,
        lot_code="LOT-1",
        settled_on=today,
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    remittance_record(buyer=buyer, reference="BCP-1", amount=D("100.00"), currency="PEN", paid_on=today, actor=officer)
    remittance = Remittance.objects.get()
    assert remittance.matches.exists()

    Remittance.objects.filter(pk=remittance.pk).update(paid_on=today.replace(day=1) - dt.timedelta(days=1))

    month = today.replace(day=1)
    assert portfolio_flows(as_of=today, date_from=month) == replace(
        portfolio_flows(as_of=today, date_from=month, from_scratch=True), tally_backlog=ANY
    )


def test_the_tallies_are_kept_by_the_database_itself() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE 'asm_tally_%' ORDER BY 1")
        triggers = {name for (name,) in cursor.fetchall()}
    assert {"asm_tally_loan_insert", "asm_tally_loan_update", "asm_tally_withholding_update"} <= triggers


def test_one_statement_that_moves_borrowers_both_ways_counts_each(officer) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    product = make_product()
    woman = disburse(miner=MinerFactory.create(gender="F"), product=product, officer=officer)
    man = disburse(miner=MinerFactory.create(gender="M"), product=product, officer=officer)
    Loan.objects.filter(pk=man.pk).update(status=Loan.Status.PAID_OFF)
    # A set-based write (as the nightly jobs make): her loan leaves the book as his comes back.
    Loan.objects.filter(pk__in=[woman.pk, man.pk]).update(
        status=Case(When(pk=woman.pk, then=Value("paid_off")), default=Value("active"))
    )
    current = portfolio_current(as_of=today)
    assert (current.borrowers, current.women_borrowers) == (1, 0)
    assert current == replace(portfolio_current(as_of=today, from_scratch=True), tally_backlog=current.tally_backlog)
