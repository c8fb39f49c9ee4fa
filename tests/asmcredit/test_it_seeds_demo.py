"""`manage.py seed_demo` builds a plausible book through the real services, and only once.

One test seeds and checks everything: seeding takes about a minute, and a shared module-level
book would have to be flushed afterwards, which breaks transactional tests that run later."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count

from buyers.models import Buyer, Settlement
from installments.models import LoanRating, Withholding
from lifecycle.models import BookImportLine
from loans.models import Collateral, Loan, LoanApplication
from miners.models import Miner

TODAY = dt.date(2026, 11, 20)


def _counts() -> tuple[int, ...]:
    return (Miner.objects.count(), Settlement.objects.count(), Loan.objects.count(), Withholding.objects.count())


@pytest.mark.django_db
@pytest.mark.slow
def test_it_seeds_a_plausible_book_once() -> None:
    out = StringIO()
    call_command("seed_demo", "--today", TODAY.isoformat(), stdout=out)
    printed = out.getvalue()

    for username in ("oficial", "aprobador", "ong", "admin"):
        assert username in printed
    assert "Demo-Andes-2025" in printed

    orex = Buyer.objects.get(name__startswith="Minera Orex")
    suppliers = Miner.objects.filter(relationships__buyer=orex)
    assert suppliers.count() == 70
    assert suppliers.filter(gender="F").count() >= 10
    assert suppliers.filter(role=Miner.Role.PALLAQUERA).exists()
    assert Buyer.objects.count() == 3

    per_miner = Settlement.objects.filter(buyer=orex).values("miner").annotate(n=Count("id")).order_by("n")
    assert per_miner[0]["n"] >= 6  # the side-selling miner stopped three months ago
    first = Settlement.objects.order_by("settled_on").first()
    assert first is not None and (TODAY - first.settled_on).days >= 330

    statuses = set(LoanApplication.objects.values_list("status", flat=True))
    assert {"draft", "submitted", "approved", "rejected", "disbursed"} <= statuses
    assert 6 <= Loan.objects.filter(lender_number="").count() <= 12
    # The lender's book from before ASM Credit: two opening loans imported, a third listed (does not tie).
    migrated = Loan.objects.exclude(lender_number="")
    assert set(migrated.values_list("lender_number", flat=True)) == {"CMAC-AR-0001", "CMAC-AR-0002"}
    assert BookImportLine.objects.filter(outcome="mismatch", lender_number="CMAC-AR-0003").exists()
    overdue = Loan.objects.filter(days_past_due__gt=30, status="active")  # the written-off loan is out of the book
    assert overdue.count() == 1
    assert Withholding.objects.exists()
    ratings = LoanRating.objects.filter(as_of=TODAY)
    assert ratings.count() == Loan.objects.filter(status="active").count()
    # Only the side-selling miner's loan is past due; the others are rated Normal, but for the refinanced
    # one (CPP at best, DOMAIN.md §7), which consolidates two loans of one miner.
    refinanced = Loan.objects.get(is_refinanced=True)
    assert refinanced.application.refinanced_loans.count() == 2
    assert set(ratings.exclude(loan__in=overdue).exclude(loan=refinanced).values_list("category", flat=True)) == {
        "normal"
    }
    assert ratings.get(loan=refinanced).category == "cpp"
    assert "no_deliveries" in ratings.get(loan__in=overdue).warnings
    # The equipment pledged: three registered (one policy expired: a warning), one awaiting registration.
    pledged = Collateral.objects.filter(loan__status="active")
    assert (pledged.count(), pledged.exclude(registry_entry="").count()) == (4, 3)
    assert "collateral_policy_expired" in ratings.get(loan__in=overdue).warnings
    covered = set(ratings.filter(covered_share__gt=0).values_list("loan_id", flat=True))
    assert covered == set(pledged.exclude(registry_entry="").values_list("loan_id", flat=True))
    # The sub-ledger: posted, last month closed by the accountant after it tied out, a trial balance.
    from accounting.models import AccountingPeriod, TieOut
    from accounting.selectors import trial_balance

    assert AccountingPeriod.objects.get(month=dt.date(2026, 10, 1)).status == "closed", printed
    assert TieOut.objects.filter(period=dt.date(2026, 10, 1), ok=True).count() == 2
    assert trial_balance(period=dt.date(2026, 11, 1), currency="PEN").balanced

    before = _counts()
    again = StringIO()
    call_command("seed_demo", "--today", TODAY.isoformat(), stdout=again)
    assert "already there" in again.getvalue()
    assert _counts() == before


def test_it_refuses_a_malformed_date() -> None:
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", "22/11/2026")
