"""Issue 13, item 5: guarantee funds (CRECER-like). A loan of a covered product joins the fund at
disbursement at the coverage its rule gives for its term; at the fund's threshold of days past due an
officer files a claim for coverage × outstanding principal, someone else approves it, treasury records the
fund's payment; what the loan recovers afterwards is shared with the fund pro rata."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from installments.services import payment_record, transaction_reverse
from lifecycle.guarantees import (
    claim_approve,
    claim_file,
    claim_payment_record,
    claim_refusals,
    claim_reject,
    fund_share,
    guarantee_enrol,
    guarantee_enrol_loans,
    guarantee_figures,
    recovery_remit,
    recovery_share,
)
from lifecycle.models import (
    GuaranteeClaim,
    GuaranteeCoverageRule,
    GuaranteedProduct,
    GuaranteeEnrolment,
    GuaranteeFund,
)
from loans.models import Loan, LoanProduct
from reports.loan_history import loan_history
from reports.selectors import portfolio_summary
from reports.services import portfolio_pdf, portfolio_tables
from tests.installments.conftest import disburse, make_product
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
LONG_AGO = dt.date(2020, 1, 1)


@pytest.fixture
def crecer() -> GuaranteeFund:
    """The migration's CRECER: 80% up to 36 months, 85% beyond, claims from 90 days past due."""
    return GuaranteeFund.objects.get(code="crecer")


@pytest.fixture
def covered(crecer, product) -> LoanProduct:  # type: ignore[no-untyped-def]
    product.max_term = 60
    product.guarantee_fund_coverage_pct = D("50")  # the product's own figure gives way to the fund's rules
    product.save()
    GuaranteedProduct.objects.create(fund=crecer, product=product)
    return product


def _late_loan(officer, miner, product, *, days_late: int, term: int = 6) -> Loan:  # type: ignore[no-untyped-def]
    """Disbursed ``days_late`` + 30 days ago, first installment due ``days_late`` days ago, nothing paid."""
    disbursed = TODAY - dt.timedelta(days=days_late + 30)
    return disburse(
        miner=miner,
        product=product,
        officer=officer,
        term=term,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def test_a_loan_joins_its_products_fund_at_the_coverage_of_its_term(officer, rosa, teodoro, covered, crecer) -> None:  # type: ignore[no-untyped-def]
    short = _late_loan(officer, rosa, covered, days_late=0, term=36)
    long = _late_loan(officer, teodoro, covered, days_late=0, term=48)
    assert (short.guarantee_coverage_pct, long.guarantee_coverage_pct) == (D("80"), D("85"))
    enrolment = GuaranteeEnrolment.objects.get(loan=long)
    assert enrolment.fund == crecer and enrolment.coverage_pct == D("85") and enrolment.enrolled_on == long.disbursed_on
    assert AuditEvent.objects.filter(action="guarantee.enrol", object_id=str(enrolment.pk)).exists()

    # A product of its own, and a new table from a later day for every micro-enterprise loan.
    other = make_product(code="micro", name="Micro", purpose=LoanProduct.Purpose.MICRO_ENTERPRISE, max_term=60)
    GuaranteedProduct.objects.create(fund=crecer, product=other)
    GuaranteeCoverageRule.objects.create(
        fund=crecer, purpose="micro_enterprise", min_term_months=1, coverage_pct=D("70"), effective_from=LONG_AGO
    )
    GuaranteeCoverageRule.objects.create(
        fund=crecer,
        purpose="micro_enterprise",
        min_term_months=1,
        max_term_months=12,
        coverage_pct=D("75"),
        effective_from=TODAY - dt.timedelta(days=5),
    )
    before = _late_loan(officer, rosa, other, days_late=0, term=24)  # disbursed 30 days ago: the old table
    assert before.guarantee_coverage_pct == D("70")
    now = disburse(
        miner=rosa,
        product=other,
        officer=officer,
        term=12,
        disbursed_on=TODAY,
        first_due_on=TODAY + dt.timedelta(days=30),
    )
    assert now.guarantee_coverage_pct == D("75")
    # The new table has no band beyond 12 months: such a loan is not covered, and carries no coverage.
    uncovered = disburse(
        miner=teodoro,
        product=other,
        officer=officer,
        term=24,
        disbursed_on=TODAY,
        first_due_on=TODAY + dt.timedelta(days=30),
    )
    assert uncovered.guarantee_coverage_pct == 0 and not GuaranteeEnrolment.objects.filter(loan=uncovered).exists()
    # A rule for one product beats the rule for its type.
    GuaranteeCoverageRule.objects.create(
        fund=crecer, product=other, min_term_months=1, coverage_pct=D("60"), effective_from=LONG_AGO
    )
    mine = disburse(
        miner=rosa,
        product=other,
        officer=officer,
        term=24,
        disbursed_on=TODAY,
        first_due_on=TODAY + dt.timedelta(days=30),
    )
    assert mine.guarantee_coverage_pct == D("60")


def test_loans_disbursed_before_their_product_joined_are_enrolled_by_the_command_service(  # type: ignore[no-untyped-def]
    officer, analyst, rosa, teodoro, product, crecer
) -> None:
    old = _late_loan(officer, rosa, product, days_late=0, term=6)
    assert not GuaranteeEnrolment.objects.exists() and old.guarantee_coverage_pct == 0
    GuaranteedProduct.objects.create(fund=crecer, product=product)
    dry = guarantee_enrol_loans(fund=crecer, actor=officer, dry_run=True)
    assert dry.enrolled == (old.code,) and not GuaranteeEnrolment.objects.exists()
    with pytest.raises(PermissionDenied):
        guarantee_enrol(loan=old, actor=analyst)
    run = guarantee_enrol_loans(fund=crecer, actor=officer)
    assert run.enrolled == (old.code,) and run.refused == ()
    old.refresh_from_db()
    assert old.guarantee_coverage_pct == D("80")
    with pytest.raises(TransitionError, match="already enrolled"):
        guarantee_enrol(loan=old, actor=officer)
    assert guarantee_enrol_loans(fund=crecer, actor=officer).enrolled == ()


def test_claims_are_refused_below_the_threshold_without_a_fund_and_when_closed(  # type: ignore[no-untyped-def]
    officer, rosa, teodoro, product, covered, crecer
) -> None:
    uncovered_product = make_product(code="sin-fondo", name="Sin fondo")
    not_enrolled = _late_loan(officer, rosa, uncovered_product, days_late=120)
    with pytest.raises(TransitionError, match="not enrolled in a guarantee fund"):
        claim_file(loan=not_enrolled, actor=officer)

    late = _late_loan(officer, teodoro, covered, days_late=70)
    with pytest.raises(TransitionError, match="70 days past due; Fondo CRECER takes claims from 90 days"):
        claim_file(loan=late, actor=officer)
    # The threshold belongs to the fund.
    crecer.claim_threshold_dpd = 60
    crecer.save()
    assert claim_file(loan=late, actor=officer).days_past_due == 70

    paid_off = _late_loan(officer, rosa, covered, days_late=0)
    Loan.objects.filter(pk=paid_off.pk).update(status=Loan.Status.PAID_OFF)
    paid_off.refresh_from_db()
    assert claim_refusals(paid_off) == ["The loan is paid off (closed): there is nothing to claim."]
    assert not GuaranteeClaim.objects.filter(loan__in=[not_enrolled, paid_off]).exists()


def test_a_claim_needs_a_second_person_and_is_paid_once(  # type: ignore[no-untyped-def]
    officer, approver, admin_user, treasurer, teodoro, covered
) -> None:
    loan = _late_loan(officer, teodoro, covered, days_late=100)
    claim = claim_file(loan=loan, actor=admin_user, note="Mine flooded")
    loan.refresh_from_db()
    assert claim.status == "pending" and claim.days_past_due == 100
    assert claim.outstanding_principal == loan.outstanding_principal == D("10000.00")
    assert claim.amount == D("8000.00") and claim.coverage_pct == D("80")
    with pytest.raises(TransitionError, match="already open"):
        claim_file(loan=loan, actor=officer)
    with pytest.raises(PermissionDenied, match="second person"):
        claim_approve(request=claim, actor=admin_user)
    with pytest.raises(PermissionDenied):
        claim_approve(request=claim, actor=officer)
    # The database keeps the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        GuaranteeClaim.objects.filter(pk=claim.pk).update(decided_by=admin_user)
    with pytest.raises(TransitionError, match="awaiting approval: it cannot take this step"):
        claim_payment_record(claim=claim, actor=treasurer, paid_on=TODAY, amount=D("8000.00"), bank_reference="X")

    approved = claim_approve(request=claim, actor=approver, note="Complete file")
    assert approved.status == "approved" and approved.decided_by == approver
    with pytest.raises(TransitionError, match="already been decided"):
        claim_reject(request=approved, actor=approver, note="late")
    with pytest.raises(ValidationError) as refused:
        claim_payment_record(claim=approved, actor=treasurer, paid_on=TODAY, amount=D("8000.01"), bank_reference="")
    assert set(refused.value.message_dict) == {"amount", "bank_reference"}
    with pytest.raises(PermissionDenied):
        claim_payment_record(claim=approved, actor=officer, paid_on=TODAY, amount=D("8000.00"), bank_reference="B-1")

    paid = claim_payment_record(
        claim=approved, actor=treasurer, paid_on=TODAY, amount=D("8000.00"), bank_reference="BN-778"
    )
    assert paid.status == "paid" and paid.paid_amount == D("8000.00")
    # The fund's payment reduces the lender's exposure, never the miner's debt.
    loan.refresh_from_db()
    assert loan.outstanding_principal == D("10000.00")
    payment_event = AuditEvent.objects.get(action="guarantee_claim.payment", object_id=str(paid.pk))
    assert payment_event.after is not None and payment_event.after["exposure_after"] == "2000.00"
    with pytest.raises(TransitionError, match="already paid a claim on this loan"):
        claim_file(loan=loan, actor=officer)
    # The loan's history tells the story, with the figures.
    history = {item.action: item for item in loan_history(loan=loan).items}
    assert history["guarantee.enrol"].note == "80.0000%"
    assert (
        history["guarantee_claim.file"].amount == D("8000.00")
        and history["guarantee_claim.file"].actor == admin_user.username
    )
    assert history["guarantee_claim.approve"].changes[0].after == "approved, awaiting the fund"
    paid_item = history["guarantee_claim.payment"]
    assert (paid_item.label, paid_item.amount, paid_item.note) == (
        "Guarantee fund paid the claim",
        D("8000.00"),
        "BN-778",
    )


def test_a_rejected_claim_can_be_filed_again(officer, approver, teodoro, covered) -> None:  # type: ignore[no-untyped-def]
    loan = _late_loan(officer, teodoro, covered, days_late=95)
    claim = claim_file(loan=loan, actor=officer)
    with pytest.raises(ValidationError):
        claim_reject(request=claim, actor=approver, note=" ")
    claim_reject(request=claim, actor=approver, note="Collection file incomplete")
    assert claim_file(loan=loan, actor=officer).status == "pending"


def test_recoveries_after_the_funds_payment_are_shared_pro_rata(  # type: ignore[no-untyped-def]
    officer, approver, treasurer, teodoro, rosa, covered
) -> None:
    loan = _late_loan(officer, teodoro, covered, days_late=100, term=48)  # 85% covered
    claim = claim_file(loan=loan, actor=officer)
    assert claim.amount == D("8500.00")
    claim_approve(request=claim, actor=approver)
    # The fund pays a little less than claimed; 15 days ago.
    paid_on = TODAY - dt.timedelta(days=15)
    GuaranteeClaim.objects.filter(pk=claim.pk).update(filed_on=paid_on)
    claim.refresh_from_db()
    paid = claim_payment_record(
        claim=claim, actor=treasurer, paid_on=paid_on, amount=D("8333.33"), bank_reference="BN-1"
    )
    assert recovery_share(paid).fund_share == 0

    payment_record(
        loan=loan, amount=D("1000.00"), paid_on=TODAY - dt.timedelta(days=20), actor=officer
    )  # before: not shared
    payment_record(loan=loan, amount=D("700.00"), paid_on=TODAY - dt.timedelta(days=10), actor=officer)
    wrong = payment_record(loan=loan, amount=D("55.55"), paid_on=TODAY - dt.timedelta(days=9), actor=officer)
    transaction_reverse(original=wrong, actor=officer, reason="Typed on the wrong loan")
    payment_record(loan=loan, amount=D("300.00"), paid_on=TODAY, actor=officer)

    share = recovery_share(paid)
    # 1,000.00 recovered × 8,333.33 paid / 10,000.00 principal at the claim = 833.333 → 833.33
    assert share.recovered == D("1000.00")
    assert (
        share.fund_share
        == D("833.33")
        == fund_share(recovered=D("1000.00"), claim_paid=D("8333.33"), principal_at_claim=D("10000.00"))
    )
    assert share.owed == D("833.33")
    recovery_remit(claim=paid, actor=treasurer, amount=D("500.00"), remitted_on=TODAY, reference="TR-9")
    assert recovery_share(paid).owed == D("333.33")
    with pytest.raises(ValidationError, match="333.33"):
        recovery_remit(claim=paid, actor=treasurer, amount=D("333.34"), remitted_on=TODAY, reference="TR-10")
    with pytest.raises(ValidationError) as early:
        recovery_remit(
            claim=paid, actor=treasurer, amount=D("1.00"), remitted_on=paid_on - dt.timedelta(days=1), reference="TR"
        )
    assert set(early.value.message_dict) == {"remitted_on"}
    recovery_remit(claim=paid, actor=treasurer, amount=D("333.33"), remitted_on=TODAY, reference="TR-10")
    assert recovery_share(paid).owed == 0
    # Half-up, and never more than the fund paid.
    assert fund_share(recovered=D("0.05"), claim_paid=D("1.00"), principal_at_claim=D("10.00")) == D("0.01")
    assert fund_share(recovered=D("20000"), claim_paid=D("8000"), principal_at_claim=D("10000")) == D("8000.00")


def test_the_portfolio_shows_covered_exposure_claims_and_recoveries(  # type: ignore[no-untyped-def]
    officer, approver, treasurer, teodoro, rosa, covered, tmp_path
) -> None:
    current = _late_loan(officer, rosa, covered, days_late=0, term=48)  # 85% of 10,000
    defaulted = _late_loan(officer, teodoro, covered, days_late=100, term=6)  # 80% of 10,000
    pending = _late_loan(officer, rosa, covered, days_late=95, term=6)
    assert current.guarantee_coverage_pct == D("85")
    claim = claim_approve(request=claim_file(loan=defaulted, actor=officer), actor=approver)
    claim_payment_record(claim=claim, actor=treasurer, paid_on=TODAY, amount=D("8000.00"), bank_reference="BN-2")
    claim_file(loan=pending, actor=officer)
    payment_record(loan=defaulted, amount=D("250.00"), paid_on=TODAY, actor=officer)
    recovery_remit(claim=claim, actor=treasurer, amount=D("50.00"), remitted_on=TODAY, reference="TR-1")

    figures = guarantee_figures(as_of=TODAY)
    assert figures.covered_loans == 3
    assert figures.covered_exposure == D("8500.00") + D("8000.00") + D("8000.00")
    assert (figures.claims_filed, figures.claimed) == (2, D("16000.00"))
    assert (figures.claims_paid, figures.paid_by_funds) == (1, D("8000.00"))
    assert figures.recovered_after_claims == D("250.00")
    assert figures.shared_with_funds == D("200.00")  # 250 × 8,000 / 10,000
    assert (figures.remitted_to_funds, figures.owed_to_funds) == (D("50.00"), D("150.00"))
    yesterday = guarantee_figures(as_of=TODAY - dt.timedelta(days=1))
    assert (yesterday.claims_filed, yesterday.claims_paid) == (0, 0)
    assert guarantee_figures(currency="USD").covered_loans == 0

    # The portfolio report carries them: the summary (API), its tables (CSV) and the PDF.
    summary = portfolio_summary(as_of=TODAY)
    assert summary.guarantees == figures
    assert summary.as_dict()["guarantees"]["owed_to_funds"] == "150.00"
    assert portfolio_summary(as_of=TODAY, product=covered).guarantees is None  # filtered: the lead decides
    table = portfolio_tables(summary)["guarantees"]
    assert table.rows[0][1:] == (3, D("24500.00"))
    text = pdf_text(portfolio_pdf(summary, lang="en"), tmp_path)
    assert "Guarantee funds" in text and "S/ 24,500.00" in text and "S/ 150.00" in text


def test_the_command_enrols_existing_loans_and_refuses_bad_input(officer, analyst, rosa, product, crecer) -> None:  # type: ignore[no-untyped-def]
    old = _late_loan(officer, rosa, product, days_late=0, term=6)
    GuaranteedProduct.objects.create(fund=crecer, product=product)
    with pytest.raises(CommandError, match="No guarantee fund"):
        call_command("guarantee_enrol", "--fund", "nope", "--user", officer.username)
    with pytest.raises(CommandError, match="not an active loan officer"):
        call_command("guarantee_enrol", "--fund", "crecer", "--user", analyst.username)
    out = io.StringIO()
    call_command("guarantee_enrol", "--fund", "crecer", "--user", officer.username, "--dry-run", stdout=out)
    assert "would enrol 1 loans" in out.getvalue() and not GuaranteeEnrolment.objects.exists()
    call_command("guarantee_enrol", "--fund", "crecer", "--user", officer.username, stdout=out)
    assert GuaranteeEnrolment.objects.get().loan == old


def test_a_written_off_loan_shares_its_recoveries_with_the_fund_that_paid(  # type: ignore[no-untyped-def]
    officer, approver, treasurer, teodoro, covered
) -> None:
    from installments.services import nightly_servicing
    from lifecycle.guarantees import claimable_loans
    from lifecycle.services import contact_record, write_off_approve, write_off_prepare

    loan = _late_loan(officer, teodoro, covered, days_late=170)
    nightly_servicing(as_of=TODAY)  # today's days past due and the rating (Pérdida)
    assert list(claimable_loans()) == [Loan.objects.get(pk=loan.pk)]
    claimable: Any = claimable_loans().get()
    assert claimable.claimable == D("8000.00")
    claim = claim_approve(request=claim_file(loan=loan, actor=officer), actor=approver)
    assert not claimable_loans().exists()
    paid = claim_payment_record(claim=claim, actor=treasurer, paid_on=TODAY, amount=D("8000.00"), bank_reference="C-1")
    for days in range(3):
        contact_record(
            loan=loan, actor=officer, channel="visit", outcome="refused", contacted_on=TODAY - dt.timedelta(days=days)
        )
    write_off_approve(request=write_off_prepare(loan=loan, actor=officer, reason="Mina inundada"), actor=approver)
    payment_record(loan=loan, amount=D("612.34"), paid_on=TODAY, actor=officer)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.WRITTEN_OFF
    share = recovery_share(paid)
    # 612.34 × 8,000 / 10,000 = 489.872 → 489.87
    assert (share.recovered, share.fund_share, share.owed) == (D("612.34"), D("489.87"), D("489.87"))
    assert guarantee_figures().owed_to_funds == D("489.87") and guarantee_figures().covered_loans == 0
