"""Issue 13, item 2: refinanciación. An officer proposes new terms for a miner who cannot pay (one loan, or
several consolidated); a second person approves; the "disbursement" moves no cash: the old loans close at
zero with a refinance entry for their payoff, and a new loan marked refinanciado carries that balance,
rated CPP at best until two quarters of punctual payment."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.models import LoanTransaction
from installments.services import loan_disburse, payment_record, payoff_quote, refinance_propose
from lifecycle.models import WriteOff
from loans.models import Loan, LoanApplication
from loans.services import application_approve
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


def _months(day: dt.date, n: int) -> dt.date:
    year, month = divmod(day.month - 1 + n, 12)
    return dt.date(day.year + year, month + 1, min(day.day, 28))


@pytest.fixture
def late_loan(officer, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    """Disbursed 100 days ago, first installment due 70 days ago, never paid."""
    disbursed = TODAY - dt.timedelta(days=100)
    return disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


@pytest.fixture
def young_loan(officer, teodoro, product) -> Loan:  # type: ignore[no-untyped-def]
    """Teodoro's second loan, up to date."""
    disbursed = TODAY - dt.timedelta(days=10)
    return disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        amount=D("3000.00"),
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def _refinance(application: LoanApplication, officer, approver) -> Loan:  # type: ignore[no-untyped-def]
    application_approve(application=application, approver=approver, comment="Refinancing justified: rainy season lost.")
    return loan_disburse(application=application, actor=officer)


def test_a_consolidated_refinancing_closes_the_old_loans_at_zero_and_opens_one_refinanced(
    officer, approver, late_loan, young_loan
) -> None:  # type: ignore[no-untyped-def]
    owed = payoff_quote(loan=late_loan, on=TODAY).total + payoff_quote(loan=young_loan, on=TODAY).total
    application = refinance_propose(
        loan=late_loan,
        also_loans=[young_loan],
        prepared_by=officer,
        term=12,
        first_due_on=TODAY + dt.timedelta(days=30),
    )
    assert application.status == LoanApplication.Status.SUBMITTED
    assert application.is_refinancing
    assert application.amount == owed
    assert set(application.refinanced_loans.all()) == {late_loan, young_loan}

    new = _refinance(application, officer, approver)
    assert new.is_refinanced and new.refinanced_on == TODAY
    assert new.principal == owed
    assert new.outstanding_principal == owed
    # Teodoro was 70 days late: Dudoso, a category worse than CPP, is kept.
    assert new.refinance_category == "dudoso"
    assert new.category == "dudoso"
    for old in (late_loan, young_loan):
        old.refresh_from_db()
        assert old.status == Loan.Status.REFINANCED
        assert old.outstanding_principal == 0
        assert old.overdue_amount == 0
        entry = old.transactions.get(kind=LoanTransaction.Kind.REFINANCE)
        assert entry.value_date == TODAY
        assert entry.reference == new.code
    disbursement = new.transactions.get(kind=LoanTransaction.Kind.DISBURSEMENT)
    assert disbursement.amount == owed
    assert disbursement.note.startswith("Refinancing (no cash)")
    event = AuditEvent.objects.get(action="loan.refinance")
    assert event.after is not None
    assert event.after["refinanced_loans"] == [late_loan.code, young_loan.code]


def test_a_debtor_rated_normal_is_reclassified_cpp(officer, approver, young_loan) -> None:  # type: ignore[no-untyped-def]
    assert young_loan.category == "normal"
    application = refinance_propose(
        loan=young_loan, prepared_by=officer, term=6, first_due_on=TODAY + dt.timedelta(days=30)
    )
    new = _refinance(application, officer, approver)
    assert new.refinance_category == "cpp"
    assert new.days_past_due == 0
    assert new.category == "cpp"


def test_it_refuses_loans_it_cannot_refinance(officer, approver, late_loan, young_loan, product, rosa) -> None:  # type: ignore[no-untyped-def]
    rosas = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        disbursed_on=TODAY - dt.timedelta(days=5),
        first_due_on=TODAY + dt.timedelta(days=25),
    )
    with pytest.raises(ValidationError) as error:
        refinance_propose(
            loan=late_loan, also_loans=[rosas], prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30)
        )
    assert "belongs to another miner" in str(error.value.message_dict["also_loans"])
    WriteOff.objects.create(loan=young_loan, reason="x", requested_by=officer)  # only the status matters here
    Loan.objects.filter(pk=young_loan.pk).update(status=Loan.Status.WRITTEN_OFF)
    young_loan.refresh_from_db()
    with pytest.raises(ValidationError) as error:
        refinance_propose(loan=young_loan, prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30))
    assert "written off" in str(error.value.message_dict["loan"])
    with pytest.raises(PermissionDenied):
        refinance_propose(loan=late_loan, prepared_by=approver, term=12, first_due_on=TODAY + dt.timedelta(days=30))
    application = refinance_propose(
        loan=late_loan, prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30)
    )
    with pytest.raises(ValidationError) as error:
        refinance_propose(loan=late_loan, prepared_by=officer, term=6, first_due_on=TODAY + dt.timedelta(days=30))
    assert f"already in refinancing proposal #{application.pk}" in str(error.value)
    # Maker–checker: the preparer cannot approve it.
    with pytest.raises(PermissionDenied):
        application_approve(application=application, approver=officer, comment="x" * 30)


def test_money_received_after_the_proposal_lowers_the_refinanced_principal(officer, approver, late_loan) -> None:  # type: ignore[no-untyped-def]
    application = refinance_propose(
        loan=late_loan, prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30)
    )
    proposed = application.amount
    payment_record(loan=late_loan, amount=D("500.00"), paid_on=TODAY, actor=officer)
    new = _refinance(application, officer, approver)
    assert new.principal == proposed - D("500.00")
    late_loan.refresh_from_db()
    assert late_loan.status == Loan.Status.REFINANCED and late_loan.outstanding_principal == 0


def test_the_api_proposes_and_the_application_path_approves_and_carries_it_out(
    officer, approver, analyst, late_loan, young_loan, product, rosa
) -> None:  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    def api(user) -> APIClient:  # type: ignore[no-untyped-def]
        client = APIClient()
        client.force_authenticate(user)
        return client

    url = f"/api/v1/loans/{late_loan.pk}/refinance/"
    body = {"term": 12, "first_due_on": (TODAY + dt.timedelta(days=30)).isoformat(), "also_loans": [young_loan.pk]}
    assert api(analyst).post(url, body, format="json").status_code == 403
    assert api(officer).post("/api/v1/loans/999999/refinance/", body, format="json").status_code == 404
    rosas = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        disbursed_on=TODAY - dt.timedelta(days=5),
        first_due_on=TODAY + dt.timedelta(days=25),
    )
    other_miner = api(officer).post(url, {**body, "also_loans": [rosas.pk]}, format="json")
    assert other_miner.status_code == 400
    assert "another miner" in str(other_miner.json())
    assert api(officer).post(url, {**body, "also_loans": [999999]}, format="json").status_code == 400
    proposed = api(officer).post(url, body, format="json")
    assert proposed.status_code == 201, proposed.content
    application = proposed.json()
    assert application["is_refinancing"] is True
    assert sorted(application["refinanced_loans"]) == sorted([late_loan.pk, young_loan.pk])
    assert application["status"] == "submitted"
    base = f"/api/v1/loan-applications/{application['id']}/"
    assert api(officer).post(base + "approve/", {"comment": "x" * 30}, format="json").status_code == 403
    approved = api(approver).post(base + "approve/", {"comment": "Lost the season; consolidate both."}, format="json")
    assert approved.status_code == 200, approved.content
    done = api(officer).post(base + "disburse/", {}, format="json")
    assert done.status_code == 201, done.content
    loan = done.json()
    assert loan["is_refinanced"] is True and loan["refinance_category"] == "dudoso"
    assert D(str(loan["principal"])) == D(application["amount"])
    again = api(officer).post(f"/api/v1/loans/{young_loan.pk}/refinance/", body | {"also_loans": []}, format="json")
    assert again.status_code == 400 and "already been refinanced" in str(again.json())


def test_withholdings_after_the_refinancing_go_to_the_new_loan_only(
    officer, approver, orex, late_loan, young_loan
) -> None:  # type: ignore[no-untyped-def]
    from installments.services import settlement_post
    from tests.installments.conftest import DOMAIN_LOT

    application = refinance_propose(
        loan=late_loan,
        also_loans=[young_loan],
        prepared_by=officer,
        term=12,
        first_due_on=TODAY + dt.timedelta(days=1),
    )
    new = _refinance(application, officer, approver)
    outcome = settlement_post(
        buyer=orex,
        miner=new.miner,
        actor=officer,
        lot_code="AFTER-REFI",
        settled_on=TODAY,
        currency="PEN",
        exchange_rate=D("3.75"),
        **DOMAIN_LOT,
    )
    assert outcome.withholding_amount > 0
    assert {w.loan_id for w in outcome.withholdings} == {new.pk}
    for old in (late_loan, young_loan):
        old.refresh_from_db()
        assert (old.status, old.outstanding_principal, old.overpayment_credit) == (Loan.Status.REFINANCED, 0, 0)


def test_a_payment_on_a_refinanced_loan_can_no_longer_be_reversed(officer, approver, late_loan) -> None:  # type: ignore[no-untyped-def]
    from installments.services import reversal_refusal

    paid = payment_record(loan=late_loan, amount=D("300.00"), paid_on=TODAY - dt.timedelta(days=1), actor=officer)
    assert reversal_refusal(paid) is None
    application = refinance_propose(
        loan=late_loan, prepared_by=officer, term=12, first_due_on=TODAY + dt.timedelta(days=30)
    )
    _refinance(application, officer, approver)
    paid.refresh_from_db()
    assert reversal_refusal(paid) == "The loan was refinanced: its payments can no longer be reversed."
