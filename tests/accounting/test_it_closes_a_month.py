"""Issue 14, item 4: an accountant closes a month when it ties out; a closed month refuses postings in
the database itself, and a late correction posts in the open month with its original date."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction

from accounting.models import Account, AccountingPeriod, JournalEntry, JournalLine, TieOut
from accounting.posting import journal_post
from accounting.services import period_close, period_reopen
from asmcredit.models import AuditEvent
from installments.services import payment_record
from tests.accounting.conftest import entries
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
JANUARY = dt.date(2025, 1, 1)


@pytest.fixture
def loan(officer, rosa, product):  # type: ignore[no-untyped-def]
    return disburse(miner=rosa, product=product, officer=officer)


def test_a_closed_month_refuses_postings_and_a_late_payment_posts_in_the_open_month(loan, officer, accountant):  # type: ignore[no-untyped-def]
    journal_post(as_of=dt.date(2025, 1, 31))
    period = period_close(period=JANUARY, actor=accountant)
    assert period.status == "closed" and period.closed_by == accountant
    assert TieOut.objects.get(period=JANUARY, currency="PEN").ok

    with pytest.raises(DatabaseError, match="period is closed"), transaction.atomic():
        JournalEntry.objects.create(
            value_date=dt.date(2025, 1, 20), period=JANUARY, source_value_date=dt.date(2025, 1, 20), event="payment"
        )

    payment_record(loan=loan, amount=D("500.00"), paid_on=dt.date(2025, 1, 20), actor=officer)
    journal_post(as_of=dt.date(2025, 2, 28))
    (late,) = entries(event="payment")
    assert late.value_date == dt.date(2025, 2, 1) and late.source_value_date == dt.date(2025, 1, 20)
    assert late.period == dt.date(2025, 2, 1)


def test_the_journal_is_append_only_and_every_entry_balances_in_the_database(loan):  # type: ignore[no-untyped-def]
    journal_post(as_of=dt.date(2025, 1, 31))
    line = JournalLine.objects.first()
    assert line is not None
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        JournalLine.objects.filter(pk=line.pk).update(debit=D("1"))
    entry = JournalEntry.objects.create(
        value_date=dt.date(2025, 1, 31), period=JANUARY, source_value_date=dt.date(2025, 1, 31), event="payment"
    )
    with pytest.raises(DatabaseError, match="debits must equal"), transaction.atomic():
        JournalLine.objects.create(entry=entry, account=Account.objects.get(code="1113"), debit=D("5"))


def test_only_an_accountant_closes_and_a_reopening_needs_a_reason(loan, officer, accountant):  # type: ignore[no-untyped-def]
    journal_post(as_of=dt.date(2025, 1, 31))
    with pytest.raises(PermissionDenied):
        period_close(period=JANUARY, actor=officer)
    period_close(period=JANUARY, actor=accountant)
    with pytest.raises(ValidationError):
        period_reopen(period=JANUARY, actor=accountant, reason=" ")

    period = period_reopen(period=JANUARY, actor=accountant, reason="Late bank statement")
    assert period.status == "open" and period.reopen_reason == "Late bank statement"
    assert AuditEvent.objects.filter(action="accounting.period_reopen").exists()
    assert AccountingPeriod.objects.get(month=JANUARY).status == "open"


def test_close_month_fails_with_a_message_when_the_month_does_not_tie_out(loan):  # type: ignore[no-untyped-def]
    journal_post(as_of=dt.date(2025, 1, 31))
    # A stray entry on the loans' account with no loan behind it: the sub-ledger no longer ties.
    entry = JournalEntry.objects.create(
        value_date=dt.date(2025, 1, 31), period=JANUARY, source_value_date=dt.date(2025, 1, 31), event="payment"
    )
    JournalLine.objects.bulk_create(
        [
            JournalLine(entry=entry, account=Account.objects.get(code="1411"), debit=D("0.01")),
            JournalLine(entry=entry, account=Account.objects.get(code="1113"), credit=D("0.01")),
        ]
    )
    with pytest.raises(CommandError, match="principal: 0.01"):
        call_command("close_month", period="2025-01")
    assert not AccountingPeriod.objects.filter(month=JANUARY, status="closed").exists()


def test_close_month_posts_ties_out_and_closes(loan, capsys):  # type: ignore[no-untyped-def]
    call_command("close_month", period="2025-01")

    assert AccountingPeriod.objects.get(month=JANUARY).status == "closed"
    assert "2025-01" in capsys.readouterr().out
