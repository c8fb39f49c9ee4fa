"""Issue 13, item 3: castigo. A loan rated Pérdida, fully provisioned, with collection efforts on record, is
prepared by one person and approved by another; it leaves the active book but stays owed, and what it
receives afterwards — at the branch or withheld by the buyer — is a recovery."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from installments.services import payment_record, portfolio_rate, settlement_post
from lifecycle import selectors
from lifecycle.models import WriteOff
from lifecycle.services import (
    contact_record,
    write_off_approve,
    write_off_prepare,
    write_off_refusals,
    write_off_reject,
)
from loans.models import Loan
from reports.loan_history import loan_history
from reports.selectors import portfolio_current, portfolio_summary
from reports.services.portfolio import portfolio_pdf
from tests.installments.conftest import DOMAIN_LOT, disburse
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def lost_loan(officer, orex, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    """Disbursed 200 days ago, first installment due 170 days ago, never paid: Pérdida (> 120 dpd)."""
    disbursed = TODAY - dt.timedelta(days=200)
    loan = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    portfolio_rate(as_of=TODAY)
    loan.refresh_from_db()
    return loan


def _contacts(loan: Loan, officer, n: int) -> None:  # type: ignore[no-untyped-def]
    for days in range(n):
        contact_record(
            loan=loan, actor=officer, channel="visit", outcome="refused", contacted_on=TODAY - dt.timedelta(days=days)
        )


def test_refusals_list_every_missing_condition(officer, product, rosa) -> None:  # type: ignore[no-untyped-def]
    young = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        disbursed_on=TODAY - dt.timedelta(days=10),
        first_due_on=TODAY + dt.timedelta(days=20),
    )
    assert write_off_refusals(young) == [
        "The loan has not been rated yet.",
        "Collection efforts on record: 0 contacts; at least 3 are needed.",
    ]
    portfolio_rate(as_of=TODAY)
    young.refresh_from_db()
    reasons = write_off_refusals(young)
    assert any("not Pérdida" in reason for reason in reasons)
    with pytest.raises(TransitionError, match="not Pérdida"):
        write_off_prepare(loan=young, actor=officer, reason="Gone")
    assert not WriteOff.objects.exists()


def test_a_write_off_needs_a_second_person_then_a_recovery_is_income(  # type: ignore[no-untyped-def]
    officer, approver, admin_user, orex, lost_loan, tmp_path
) -> None:
    assert lost_loan.rated_category == "perdida"
    with pytest.raises(TransitionError, match="at least 3"):
        write_off_prepare(loan=lost_loan, actor=officer, reason="Mine flooded, miner left the region")
    _contacts(lost_loan, officer, 3)
    assert write_off_refusals(lost_loan) == []
    prepared = write_off_prepare(loan=lost_loan, actor=admin_user, reason="Mine flooded, miner left the region")
    with pytest.raises(PermissionDenied, match="second person"):
        write_off_approve(request=prepared, actor=admin_user)
    book_before = portfolio_current(as_of=TODAY)

    approved = write_off_approve(request=prepared, actor=approver, note="Fully provisioned since March")
    lost_loan.refresh_from_db()
    assert lost_loan.status == Loan.Status.WRITTEN_OFF
    assert approved.written_off_on == TODAY and approved.principal == lost_loan.outstanding_principal > 0
    assert approved.interest_and_charges > 0 and approved.provision >= approved.principal
    assert approved.contacts == 3
    assert AuditEvent.objects.filter(action="write_off.approve", object_id=str(approved.pk)).exists()
    # The loan's history tells the story: the contacts, who prepared, who approved and how much left the book.
    history = {item.action: item for item in loan_history(loan=lost_loan).items}
    assert {"collection.contact", "write_off.prepare", "write_off.approve"} <= set(history)
    assert history["write_off.prepare"].note == "Mine flooded, miner left the region"
    assert (history["write_off.approve"].amount, history["write_off.approve"].on) == (approved.principal, TODAY)
    assert history["write_off.approve"].label == "Loan written off (castigo)"
    # Out of the active book, still owed.
    book_after = portfolio_current(as_of=TODAY)
    assert book_after != book_before
    assert lost_loan.outstanding_principal == approved.principal
    with pytest.raises(TransitionError, match="already been decided"):
        write_off_reject(request=approved, actor=approver, note="too late")

    # A branch payment and a withholding afterwards are recoveries; the loan stays written off.
    payment_record(loan=lost_loan, amount=D("400.00"), paid_on=TODAY, actor=officer)
    outcome = settlement_post(
        buyer=orex,
        miner=lost_loan.miner,
        actor=officer,
        lot_code="AFTER-CASTIGO",
        settled_on=TODAY,
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    withheld = outcome.withholding_amount
    assert withheld > 0
    lost_loan.refresh_from_db()
    assert lost_loan.status == Loan.Status.WRITTEN_OFF
    assert selectors.recoveries(date_from=TODAY) == {"PEN": D("400.00") + withheld}
    assert selectors.recovered_on(lost_loan, TODAY) == D("400.00") + withheld
    # The portfolio report shows both: the principal written off (still owed) and the recovery as income.
    life = {row.key: row for row in portfolio_summary(as_of=TODAY, date_from=TODAY).life}
    assert (life["written_off"].loans, life["written_off"].amount) == (1, approved.principal)
    assert (life["recovered"].loans, life["recovered"].amount) == (1, D("400.00") + withheld)
    assert life["recovered"].flow and not life["written_off"].flow
    text = pdf_text(portfolio_pdf(portfolio_summary(as_of=TODAY, date_from=TODAY), lang="en"), tmp_path)
    assert "Loans beyond the happy path" in text and "Recovered from written-off loans (income)" in text
    earlier = {row.key: row for row in portfolio_summary(as_of=TODAY - dt.timedelta(days=1)).life}
    assert earlier["written_off"].loans == 0 and earlier["recovered"].amount == 0


def test_the_api_prepares_and_a_second_person_approves(client, officer, approver, analyst, lost_loan) -> None:  # type: ignore[no-untyped-def]
    def api(user) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient()
        client.force_authenticate(user)
        return client

    url = f"/api/v1/loans/{lost_loan.pk}/write-off/"
    refused = api(officer).post(url, {"reason": "Gone"}, format="json")
    assert refused.status_code == 409 and "at least 3" in str(refused.json())
    _contacts(lost_loan, officer, 3)
    assert api(analyst).post(url, {"reason": "Gone"}, format="json").status_code == 403
    assert api(officer).post("/api/v1/loans/999999/write-off/", {"reason": "Gone"}, format="json").status_code == 404
    prepared = api(officer).post(url, {"reason": "Gone"}, format="json")
    assert prepared.status_code == 201, prepared.content
    body = prepared.json()
    assert body["status"] == "pending"
    approve = f"/api/v1/write-offs/{body['id']}/approve/"
    assert api(officer).post(approve, {}, format="json").status_code == 403
    done = api(approver).post(approve, {"note": "ok"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "approved"
    assert Loan.objects.get(pk=lost_loan.pk).status == Loan.Status.WRITTEN_OFF
    # The decided write-offs download as a file, with what left the book.
    client.force_login(approver)
    download = client.get("/write-offs/?status=approved&format=csv").getvalue().decode("utf-8-sig")
    assert lost_loan.code in download and str(done.json()["principal"]) in download


def test_an_officer_records_a_recovery_on_screen(client, officer, approver, admin_user, lost_loan) -> None:  # type: ignore[no-untyped-def]
    _contacts(lost_loan, officer, 3)
    write_off_approve(request=write_off_prepare(loan=lost_loan, actor=admin_user, reason="Gone"), actor=approver)
    client.force_login(officer)
    client.post(reverse("set_language"), {"language": "en"})
    page = client.get(f"/loans/{lost_loan.pk}/").content.decode()
    assert "Record recovery" in page and "?prepay=1" not in page
    form = client.get(f"/loans/{lost_loan.pk}/payment/").content.decode()
    assert "Record a recovery" in form and "is still owed" in form

    recorded = client.post(
        f"/loans/{lost_loan.pk}/payment/",
        {"amount": "250.00", "paid_on": TODAY.isoformat(), "treatment": "auto", "action": "confirm"},
        follow=True,
    )
    assert "a recovery of a written-off loan" in recorded.content.decode()
    lost_loan.refresh_from_db()
    assert lost_loan.status == Loan.Status.WRITTEN_OFF
    assert selectors.recovered_on(lost_loan, TODAY) == D("250.00")
