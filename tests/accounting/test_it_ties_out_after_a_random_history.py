"""Issue 14, acceptance: after a random history of events — payments in any order of dates, backdated
settlements and their withholdings, remittances, a reversal, a void, nightly ratings, postings run at
odd moments — every entry and every period balances, the month ties out to the céntimo, and posting
again posts nothing."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from accounting.close import nightly_close_start
from accounting.models import JournalEntry, JournalLine, PostingMark
from accounting.posting import journal_post
from accounting.services import tie_out_run
from asmcredit.models import JobRun
from buyers.models import Settlement
from buyers.services import relationship_add
from installments.models import LoanTransaction
from installments.services import (
    payment_record,
    portfolio_rate,
    remittance_record,
    settlement_post,
    settlement_void,
    transaction_reverse,
)
from installments.services.reversals import reversal_refusal
from tests.installments.conftest import DOMAIN_LOT, disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
START = TODAY - dt.timedelta(days=150)


def _close(as_of: dt.date) -> int:
    """The nightly close's posting (its chord runs in-process here), which compares only what moved."""
    run = nightly_close_start(as_of=as_of, batch_size=1, servicing=False)
    run.refresh_from_db()
    assert run.status == "succeeded"
    return int(run.detail["entries"])


def _left_for_a_full_comparison(as_of: dt.date) -> int:
    """What comparing every transaction would post now (rolled back)."""
    with transaction.atomic():
        entries = journal_post(as_of=as_of)
        transaction.set_rollback(True)
    return entries


def _history(seed: int, *, officer, orex, miners, product, post=journal_post) -> list:  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    loans = []
    for miner in miners:
        relationship_add(miner=miner, buyer=orex, since=START, actor=officer)
        loans.append(
            disburse(
                miner=miner,
                product=product,
                officer=officer,
                buyer=orex,
                disbursed_on=START,
                first_due_on=START + dt.timedelta(days=30),
            )
        )

    def a_day() -> dt.date:
        return START + dt.timedelta(days=rng.randint(1, 150))

    actions = ["payment"] * 5 + ["settlement"] * 4 + ["remit", "remit", "reverse", "void", "rate", "post", "post"]
    rng.shuffle(actions)
    # Whatever came before, a reversal and a void at the end (dated today, over a replayed history).
    for step, action in enumerate([*actions, "reverse", "void"]):
        if action == "payment":
            loan = rng.choice(loans)
            loan.refresh_from_db()
            if loan.status == "active":
                payment_record(loan=loan, amount=D(rng.randint(100, 2500)), paid_on=a_day(), actor=officer)
        elif action == "settlement":
            settlement_post(
                buyer=orex,
                miner=rng.choice(miners),
                actor=officer,
                lot_code=f"L-{seed}-{step}",
                settled_on=a_day(),
                currency="PEN",
                exchange_rate=D("1"),
                **DOMAIN_LOT,
            )
        elif action == "remit":
            remittance_record(
                buyer=orex,
                reference=f"R-{seed}-{step}",
                amount=D(rng.randint(500, 3000)),
                currency="PEN",
                paid_on=a_day(),
                actor=officer,
            )
        elif action == "reverse":
            candidates = [t for t in LoanTransaction.objects.filter(kind="payment") if reversal_refusal(t) is None]
            if candidates:
                transaction_reverse(original=rng.choice(candidates), actor=officer, reason="by mistake")
        elif action == "void":
            settlements = list(Settlement.objects.exclude(status="void"))
            if settlements:
                settlement_void(settlement=rng.choice(settlements), actor=officer, reason="wrong lot")
        elif action == "rate":
            portfolio_rate(as_of=a_day())
        else:
            post(as_of=a_day())
    portfolio_rate(as_of=TODAY)
    return loans


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_month_ties_out_to_the_centimo_and_posting_again_posts_nothing(seed, officer, orex, rosa, teodoro, product):  # type: ignore[no-untyped-def]
    _history(seed, officer=officer, orex=orex, miners=[rosa, teodoro], product=product)
    journal_post(as_of=TODAY)

    tie_out = tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY)
    assert tie_out.ok, tie_out.figures
    assert D(tie_out.figures["principal"]["ledger"]) > 0
    assert journal_post(as_of=TODAY) == 0

    for row in JournalLine.objects.values("entry_id").annotate(debit=Sum("debit"), credit=Sum("credit")):
        assert row["debit"] == row["credit"], row
    for row in JournalLine.objects.values("entry__period", "entry__currency").annotate(
        debit=Sum("debit"), credit=Sum("credit")
    ):
        assert row["debit"] == row["credit"], row
    events = set(JournalEntry.objects.values_list("event", flat=True))
    assert {"payment", "withholding", "remittance", "reversal", "accrual", "provision"} <= events, events


@pytest.mark.parametrize("seed", [4, 5])
def test_closes_that_compare_only_what_moved_leave_nothing_for_a_full_comparison(  # type: ignore[no-untyped-def]
    seed, officer, orex, rosa, teodoro, product
):
    _history(seed, officer=officer, orex=orex, miners=[rosa, teodoro], product=product, post=_close)
    rng = random.Random(seed)
    late = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=START + dt.timedelta(days=20),
        first_due_on=START + dt.timedelta(days=50),
    )
    # Night after night, with the servicing log moving between them: backdated payments (a replay writes
    # the loan's allocations anew) and a reversal, each on a loan no earlier night saw move.
    for days_back in (4, 3, 2, 1, 0):
        night = TODAY - dt.timedelta(days=days_back)
        payment_record(loan=late, amount=D(rng.randint(50, 400)), paid_on=night - dt.timedelta(days=40), actor=officer)
        if days_back == 2:
            paid = LoanTransaction.objects.filter(loan=late, kind="payment").order_by("pk").first()
            assert paid is not None and reversal_refusal(paid) is None
            transaction_reverse(original=paid, actor=officer, reason="by mistake")
        _close(night)
        assert _left_for_a_full_comparison(night) == 0, night
    assert PostingMark.objects.filter(completed_at__isnull=False).count() >= 3
    compared = [
        run.detail.get("compared", "")
        for run in JobRun.objects.filter(name="accounting_close", status="succeeded").order_by("pk")
    ]
    assert any(c.startswith("moved since") for c in compared), compared

    # A full comparison of every transaction finds nothing left to post, and the month ties out.
    assert journal_post(as_of=TODAY) == 0
    tie_out = tie_out_run(period=TODAY.replace(day=1), currency="PEN", as_of=TODAY)
    assert tie_out.ok, tie_out.figures
