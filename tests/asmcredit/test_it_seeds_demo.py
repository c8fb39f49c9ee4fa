"""`manage.py seed_demo` builds a plausible book through the real services, and only once."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from buyers.models import Buyer, Settlement
from installments.models import LoanRating, Withholding
from loans.models import Loan, LoanApplication
from miners.models import Miner

TODAY = dt.date(2026, 11, 20)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    with django_db_blocker.unblock():
        out = StringIO()
        call_command("seed_demo", "--today", TODAY.isoformat(), stdout=out)
        yield out.getvalue()
        from django.core.management import call_command as flush_command

        flush_command("flush", "--noinput", verbosity=0)
        # flush empties the role groups the migration created; put them back for later tests.
        from django.contrib.auth.models import Group

        from asmcredit.roles import ROLES

        for name in ROLES:
            Group.objects.get_or_create(name=name)


@pytest.mark.django_db
def test_it_prints_one_login_per_role(seeded: str) -> None:
    for username in ("oficial", "aprobador", "ong", "admin"):
        assert username in seeded
    assert "Demo-Andes-2025" in seeded


@pytest.mark.django_db
def test_it_gives_the_main_buyer_70_suppliers_with_women_and_pallaqueras(seeded: str) -> None:
    orex = Buyer.objects.get(name__startswith="Minera Orex")
    suppliers = Miner.objects.filter(relationships__buyer=orex)
    assert suppliers.count() == 70
    assert suppliers.filter(gender="F").count() >= 10
    assert suppliers.filter(role=Miner.Role.PALLAQUERA).exists()
    assert Buyer.objects.count() == 3


@pytest.mark.django_db
def test_it_records_twelve_months_of_settlements_per_supplier(seeded: str) -> None:
    orex = Buyer.objects.get(name__startswith="Minera Orex")
    months = Settlement.objects.filter(buyer=orex).values("miner").annotate(n=Count("id")).order_by("n")
    assert months[0]["n"] >= 6  # the side-selling miner stopped three months ago
    first = Settlement.objects.order_by("settled_on").first()
    assert first is not None and (TODAY - first.settled_on).days >= 330


@pytest.mark.django_db
def test_it_has_loans_in_different_states_with_one_overdue(seeded: str) -> None:
    statuses = set(LoanApplication.objects.values_list("status", flat=True))
    assert {"draft", "submitted", "approved", "rejected", "disbursed"} <= statuses
    assert 6 <= Loan.objects.count() <= 12
    assert Loan.objects.filter(days_past_due__gt=30).count() >= 1
    assert Withholding.objects.exists()
    assert LoanRating.objects.filter(as_of=TODAY).count() == Loan.objects.filter(status="active").count()


@pytest.mark.django_db
def test_it_changes_nothing_the_second_time(seeded: str) -> None:
    before = (Miner.objects.count(), Settlement.objects.count(), Loan.objects.count(), Withholding.objects.count())
    out = StringIO()
    call_command("seed_demo", "--today", TODAY.isoformat(), stdout=out)
    assert "already there" in out.getvalue()
    assert before == (
        Miner.objects.count(),
        Settlement.objects.count(),
        Loan.objects.count(),
        Withholding.objects.count(),
    )


def test_it_refuses_a_malformed_date() -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("seed_demo", "--today", "22/11/2026")
