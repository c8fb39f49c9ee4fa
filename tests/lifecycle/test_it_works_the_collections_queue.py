"""Issue 13, item 7: the collections queue (loans in arrears, worst first) with each loan's contact log and
promises to pay, kept or broken as the ledger says; broken promises listed for the morning."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.services import loan_recompute, payment_record
from lifecycle import selectors
from lifecycle.models import CollectionContact, PromiseToPay
from lifecycle.services import contact_record
from loans.models import Loan
from tests.factories import MinerFactory
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


def _late(officer, product, days_late: int, miner=None) -> Loan:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=30 + days_late)
    loan = disburse(
        miner=miner or MinerFactory(),
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    return loan_recompute(loan=loan)


def test_a_promise_is_kept_or_broken_by_what_the_ledger_received(officer, product) -> None:  # type: ignore[no-untyped-def]
    loan = _late(officer, product, 20)
    ten_days_ago = TODAY - dt.timedelta(days=10)
    contact_record(
        loan=loan,
        actor=officer,
        channel="call",
        outcome="promised",
        contacted_on=ten_days_ago,
        promise_amount=D("500.00"),
        promised_on=TODAY - dt.timedelta(days=3),
        note="Pays after the next delivery",
    )
    promise = selectors.promises_with_payments(PromiseToPay.objects.all()).get()
    assert promise.paid == 0 and selectors.promise_status(promise, TODAY) == selectors.BROKEN
    assert [p.pk for p in selectors.broken_promises(today=TODAY)] == [promise.pk]
    # Before the promised day it was only pending.
    assert selectors.promise_status(promise, TODAY - dt.timedelta(days=5)) == selectors.PENDING

    # A payment inside the promised window keeps it; one after the promised day would not.
    payment_record(loan=loan, amount=D("500.00"), paid_on=TODAY - dt.timedelta(days=4), actor=officer)
    promise = selectors.promises_with_payments(PromiseToPay.objects.all()).get()
    assert promise.paid == D("500.00") and selectors.promise_status(promise, TODAY) == selectors.KEPT
    assert selectors.broken_promises(today=TODAY) == []
    assert AuditEvent.objects.filter(action="collection.contact").count() == 1


def test_contacts_refuse_what_makes_no_sense(officer, analyst, product) -> None:  # type: ignore[no-untyped-def]
    loan = _late(officer, product, 20)
    base = {"loan": loan, "actor": officer, "channel": "visit", "contacted_on": TODAY}
    with pytest.raises(ValidationError) as missing:
        contact_record(**base, outcome="promised")
    assert set(missing.value.message_dict) == {"promise_amount", "promised_on"}
    with pytest.raises(ValidationError, match="promised to pay"):
        contact_record(**base, outcome="no_answer", promise_amount=D("10"), promised_on=TODAY)
    with pytest.raises(ValidationError, match="between the contact"):
        contact_record(**base, outcome="promised", promise_amount=D("10"), promised_on=TODAY + dt.timedelta(days=200))
    with pytest.raises(ValidationError, match="future"):
        contact_record(**{**base, "contacted_on": TODAY + dt.timedelta(days=1)}, outcome="reached")
    with pytest.raises(PermissionDenied):
        contact_record(**{**base, "actor": analyst}, outcome="reached")
    assert not CollectionContact.objects.exists() and not PromiseToPay.objects.exists()


def test_the_queue_puts_the_worst_first_at_a_constant_query_count(client, officer, product) -> None:  # type: ignore[no-untyped-def]
    mild, bad = _late(officer, product, 5), _late(officer, product, 50)
    _late(officer, product, 0)  # not in arrears: not in the queue
    contact_record(loan=bad, actor=officer, channel="call", outcome="no_answer", contacted_on=TODAY)
    client.force_login(officer)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    url = reverse("lifecycle:collections")
    page = client.get(url).content.decode()
    assert page.index(bad.code) < page.index(mild.code)
    assert "never contacted" in page

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            assert client.get(url).status_code == 200
        return len(context.captured_queries)

    before = queries()
    for days in (10, 20, 30):
        loan = _late(officer, product, days)
        contact_record(loan=loan, actor=officer, channel="visit", outcome="reached", contacted_on=TODAY)
    assert queries() == before


def test_an_officer_logs_a_contact_with_a_promise_on_screen(client, officer, analyst, product) -> None:  # type: ignore[no-untyped-def]
    loan = _late(officer, product, 15)
    url = reverse("lifecycle:loan-collection", args=[loan.pk])
    client.force_login(analyst)
    assert client.get(url).status_code == 200
    assert client.post(url, {"channel": "call", "outcome": "reached", "contacted_on": TODAY}).status_code == 403

    client.force_login(officer)
    bad = client.post(url, {"channel": "call", "outcome": "promised", "contacted_on": TODAY.isoformat()})
    assert bad.status_code == 400 and not CollectionContact.objects.exists()
    done = client.post(
        url,
        {
            "channel": "call",
            "outcome": "promised",
            "contacted_on": TODAY.isoformat(),
            "promise_amount": "300.00",
            "promised_on": (TODAY + dt.timedelta(days=7)).isoformat(),
            "note": "Will pay on Friday",
        },
    )
    assert done.status_code == 302
    page = client.get(url).content.decode()
    assert "Will pay on Friday" in page and 'class="badge info"' in page  # pending


def test_the_queue_downloads_with_its_filter_and_masks_phones_for_the_ngo(client, officer, analyst, product) -> None:  # type: ignore[no-untyped-def]
    import csv
    import io

    bad, mild = _late(officer, product, 50), _late(officer, product, 5)
    bad.miner.phone = "987654321"
    bad.miner.save(update_fields=["phone"])
    url = reverse("lifecycle:collections") + "?min_dpd=30&format=csv"
    client.force_login(officer)
    rows = list(csv.reader(io.StringIO(client.get(url).getvalue().decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [bad.code]  # the filter holds; mild is below 30 days
    assert "987654321" in rows[1]
    client.force_login(analyst)
    rows = list(csv.reader(io.StringIO(client.get(url).getvalue().decode("utf-8-sig"))))
    assert "987654321" not in rows[1]
    assert mild.code not in str(rows)
