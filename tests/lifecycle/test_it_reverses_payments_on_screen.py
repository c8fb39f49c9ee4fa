"""Issue 13, item 4 on screen: an officer asks for a reversal from the loan's payment, an approver who did
not ask decides it in the reversals queue."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from installments.models import LoanTransaction
from installments.services import payment_record
from lifecycle.models import ReversalRequest
from loans.models import Loan
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def loan(officer, orex, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=40)
    return disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def _english(client) -> None:  # type: ignore[no-untyped-def]
    """The pages in English, as the person chose (the tests read their words)."""
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def test_an_officer_asks_and_an_approver_approves(client, officer, approver, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    payment = payment_record(loan=loan, amount=Decimal("800.00"), paid_on=TODAY, actor=officer)
    url = reverse("lifecycle:reversal-new", args=[loan.pk, payment.pk])

    client.force_login(analyst)
    assert client.get(url).status_code == 403

    client.force_login(officer)
    _english(client)
    page = client.get(url)
    assert page.status_code == 200 and "800.00" in page.content.decode()
    empty = client.post(url, {"reason": ""})
    assert empty.status_code == 400 and not ReversalRequest.objects.exists()
    assert client.post(url, {"reason": "Typed twice"}).status_code == 302
    asked = ReversalRequest.objects.get()
    # The requester sees it waiting, and cannot decide it.
    queue = client.get(reverse("lifecycle:reversals")).content.decode()
    assert "Typed twice" in queue and "Withdraw" in queue and 'value="approve"' not in queue
    decide = reverse("lifecycle:reversal-decide", args=[asked.pk])
    client.post(decide, {"decision": "approve"})
    assert ReversalRequest.objects.get().status == ReversalRequest.Status.PENDING

    client.force_login(approver)
    _english(client)
    queue = client.get(reverse("lifecycle:reversals")).content.decode()
    assert 'value="approve"' in queue
    assert client.post(decide, {"decision": "approve", "note": "Bank slip checked"}).status_code == 302
    asked.refresh_from_db()
    assert asked.status == ReversalRequest.Status.APPROVED
    assert LoanTransaction.objects.filter(kind=LoanTransaction.Kind.REVERSAL, reverses=payment).exists()
    decided = client.get(reverse("lifecycle:reversals") + "?status=approved").content.decode()
    assert "Bank slip checked" in decided
    download = client.get(reverse("lifecycle:reversals") + "?status=approved&format=csv").getvalue().decode("utf-8-sig")
    assert "Typed twice" in download and "Bank slip checked" in download


def test_a_payment_that_cannot_be_reversed_says_why(client, officer, loan) -> None:  # type: ignore[no-untyped-def]
    disbursement = LoanTransaction.objects.get(loan=loan, kind=LoanTransaction.Kind.DISBURSEMENT)
    client.force_login(officer)
    _english(client)
    url = reverse("lifecycle:reversal-new", args=[loan.pk, disbursement.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Only a counter payment or a withholding" in page.content.decode()
    client.post(url, {"reason": "try"})
    assert not ReversalRequest.objects.exists()
    # Another loan's payment through this loan's address is not found.
    assert client.get(reverse("lifecycle:reversal-new", args=[loan.pk + 1, disbursement.pk])).status_code == 404
