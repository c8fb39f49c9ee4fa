"""Issue 13, item 1: reprogramación. One loan, or every eligible loan of a buyer or a region, gets a new
cronograma for an event (rainy season): the borrower is offered more than one option, a second person
approves once, the holiday's interest is deferred in its own column (never added to principal), the loan
stays active with its category, and later payments replay through the new version."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from installments.models import Allocation, LoanTransaction, ScheduleLine
from installments.selectors import loan_ledger_state
from installments.services import loan_recompute, payment_record
from lifecycle.models import RescheduleItem, RescheduleProposal
from lifecycle.reschedules import reschedule_approve, reschedule_refusal, reschedule_reject, reschedule_request
from loans.models import Loan
from loans.schedule import period_rate
from notices.models import Notice
from notices.services import miner_preference_set
from reports.loan_history import loan_history
from reports.selectors import portfolio_summary
from tests.factories import MinerFactory, RelationshipFactory
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
HOLIDAY = [{"holiday_periods": 2}, {"extra_installments": 3}]  # offered; the first is chosen


def _loan(miner, product, officer, *, days_ago: int = 20, buyer=None) -> Loan:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=days_ago)
    loan = disburse(
        miner=miner,
        product=product,
        officer=officer,
        buyer=buyer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    return loan_recompute(loan=loan)


@pytest.fixture
def current_loan(officer, orex, rosa, product) -> Loan:  # type: ignore[no-untyped-def]
    return _loan(rosa, product, officer, buyer=orex)


def _request(loan: Loan, actor, **overrides):  # type: ignore[no-untyped-def]
    values = {"options": HOLIDAY, "chosen": 0, "reason": "Rainy season", "loan": loan}
    values.update(overrides)
    return reschedule_request(actor=actor, **values)


def test_it_refuses_loans_past_30_days_or_rated_worse_than_cpp_with_the_reason(officer, product, teodoro, rosa) -> None:  # type: ignore[no-untyped-def]
    late = _loan(teodoro, product, officer, days_ago=75)  # first installment 45 days overdue
    assert late.days_past_due == 45
    assert reschedule_refusal(late) == "45 days past due: only loans at most 30 days past due can be rescheduled."
    with pytest.raises(TransitionError, match="45 days past due"):
        _request(late, officer)

    rated = _loan(rosa, product, officer)
    Loan.objects.filter(pk=rated.pk).update(rated_category="deficiente")
    rated.refresh_from_db()
    assert reschedule_refusal(rated) == "Rated Deficient: only loans rated Normal or CPP can be rescheduled."

    Loan.objects.filter(pk=rated.pk).update(rated_category="cpp", status=Loan.Status.WRITTEN_OFF)
    rated.refresh_from_db()
    assert reschedule_refusal(rated) == "The loan is not active (written off): only active loans are rescheduled."
    assert not RescheduleProposal.objects.exists()
    assert not LoanTransaction.objects.filter(kind="reschedule").exists()


def test_it_needs_more_than_one_option_offered(current_loan, officer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        _request(current_loan, officer, options=[{"holiday_periods": 2}])
    assert "more than one option" in str(caught.value.message_dict["options"])
    with pytest.raises(ValidationError):
        _request(current_loan, officer, options=[{"holiday_periods": 2}, {"holiday_periods": 2}])
    with pytest.raises(ValidationError):
        _request(current_loan, officer, chosen=5)


def test_a_second_person_approves_never_the_one_who_asked(current_loan, officer, approver, admin_user) -> None:  # type: ignore[no-untyped-def]
    proposal, _preview = _request(current_loan, admin_user)
    with pytest.raises(PermissionDenied, match="second person"):
        reschedule_approve(proposal=proposal, actor=admin_user)
    with pytest.raises(PermissionDenied):
        reschedule_approve(proposal=proposal, actor=officer)  # not an approver
    # The database keeps the rule too.
    with pytest.raises(IntegrityError), transaction.atomic():
        RescheduleProposal.objects.filter(pk=proposal.pk).update(decided_by=admin_user)
    current_loan.refresh_from_db()
    assert current_loan.schedule_version == 1

    # One pending reprogramación per loan.
    with pytest.raises(TransitionError, match="already awaiting approval"):
        _request(current_loan, officer)

    reschedule_reject(proposal=proposal, actor=approver, note="Not an event of the region")
    proposal.refresh_from_db()
    assert proposal.status == "rejected"
    assert proposal.items.get().status == "rejected"
    assert not LoanTransaction.objects.filter(kind="reschedule").exists()
    actions = [item.action for item in loan_history(loan=current_loan).items]
    assert "reschedule.request" in actions and "reschedule.reject" in actions


def test_the_holiday_interest_goes_to_its_own_column_and_principal_is_unchanged(
    current_loan, officer, approver, rosa, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    rosa.phone = "987654321"
    rosa.save(update_fields=["phone"])
    miner_preference_set(miner=rosa, actor=officer, consent=True, channels=["sms"])
    before = list(ScheduleLine.objects.filter(loan=current_loan, version=1).order_by("number"))
    principal_before = current_loan.outstanding_principal
    category_before = current_loan.category

    proposal, preview = _request(current_loan, officer)
    [row] = preview.eligible
    assert row.installment_before == before[0].total
    assert proposal.options == [
        {"extra_installments": 0, "holiday_periods": 2, "due_day": None},
        {"extra_installments": 3, "holiday_periods": 0, "due_day": None},
    ]
    assert proposal.answer_by == TODAY + dt.timedelta(days=7)
    with django_capture_on_commit_callbacks(execute=True):
        reschedule_approve(proposal=proposal, actor=approver)

    current_loan.refresh_from_db()
    assert current_loan.schedule_version == 2
    assert current_loan.status == Loan.Status.ACTIVE
    assert current_loan.category == category_before
    assert current_loan.outstanding_principal == principal_before
    new = list(ScheduleLine.objects.filter(loan=current_loan, version=2).order_by("number"))
    assert [line.number for line in new] == [1, 2, 3, 4, 5, 6]
    # Two periods without an installment: the first new one falls two months after the first old one.
    assert new[0].due_on.month == (before[0].due_on.month + 1) % 12 + 1
    # Principal: the same total, nothing added; the holiday's interest in its own column, spread evenly.
    assert sum(line.principal for line in new) == principal_before
    deferred = sum(line.deferred_interest for line in new)
    holiday_start = current_loan.disbursed_on
    holiday_end = dt.date(new[0].due_on.year, new[0].due_on.month, 1) - dt.timedelta(days=1)
    holiday_end = holiday_end.replace(day=min(new[0].due_on.day, holiday_end.day))
    expected = (principal_before * period_rate(D("0.40"), (holiday_end - holiday_start).days)).quantize(D("0.01"))
    assert deferred == expected > 0
    assert {line.deferred_interest for line in new[:-1]} == {new[0].deferred_interest}
    for line in new:
        assert line.total == line.principal + line.interest + line.deferred_interest + line.insurance + line.fees
    # The old cronograma stays as history.
    assert ScheduleLine.objects.filter(loan=current_loan, version=1, is_current=False).count() == 6
    entry = LoanTransaction.objects.get(loan=current_loan, kind="reschedule")
    assert entry.amount == 0 and entry.value_date == TODAY
    assert entry.parameters == {"extra_installments": 0, "holiday_periods": 2, "due_day": None}
    # The miner is told, with the reprogramación's wording.
    notice = Notice.objects.get(event="reschedule", loan=current_loan)
    assert "reprogramado" in notice.body.lower()
    actions = [item.action for item in loan_history(loan=current_loan).items]
    assert "reschedule.approve" in actions
    # The portfolio report counts it among the reprogrammed loans, with its principal outstanding.
    life = {row.key: row for row in portfolio_summary(as_of=TODAY).life}
    assert (life["rescheduled"].loans, life["rescheduled"].amount) == (1, principal_before)
    assert portfolio_summary(as_of=TODAY - dt.timedelta(days=1)).life[0].loans == 0


def test_a_payment_after_the_reprogramacion_replays_through_the_new_version(current_loan, officer, approver) -> None:  # type: ignore[no-untyped-def]
    effective = TODAY - dt.timedelta(days=5)
    proposal, _preview = _request(current_loan, officer, effective_on=effective)
    reschedule_approve(proposal=proposal, actor=approver)
    current_loan.refresh_from_db()
    first = ScheduleLine.objects.filter(loan=current_loan, version=2).order_by("number").first()
    assert first is not None

    payment = payment_record(loan=current_loan, amount=first.total, paid_on=TODAY, actor=officer, treatment="adelanto")
    first.refresh_from_db()
    parts = dict(Allocation.objects.filter(transaction=payment).values_list("component", "amount"))
    assert parts == {
        "interest": first.interest,
        "deferred_interest": first.deferred_interest,
        "principal": first.principal,
    }
    assert first.status == "paid" and first.paid_deferred_interest == first.deferred_interest

    # A payment dated before the reprogramación, recorded after it, replays before it: the new version
    # is rebuilt from the state of its own day, and the whole log gives the same as a fresh replay.
    payment_record(loan=current_loan, amount=D("100.00"), paid_on=effective - dt.timedelta(days=1), actor=officer)
    current_loan.refresh_from_db()
    state = loan_ledger_state(loan=current_loan, as_of=TODAY)
    assert current_loan.schedule_version == state.current_version == 2
    assert current_loan.outstanding_principal == state.outstanding_principal
    stored = {
        line.number: (line.principal, line.deferred_interest, line.paid_principal, line.paid_deferred_interest)
        for line in ScheduleLine.objects.filter(loan=current_loan, version=2)
    }
    replayed = {
        line.number: (
            line.plan.principal,
            line.plan.deferred_interest,
            line.paid_principal,
            line.paid_deferred_interest,
        )
        for line in state.current_lines
    }
    assert stored == replayed
    before = AuditEvent.objects.count()
    loan_recompute(loan=current_loan)  # nothing left to change
    assert AuditEvent.objects.count() == before


def test_a_payoff_after_the_reprogramacion_pays_the_deferred_interest_and_closes_at_zero(
    current_loan, officer, approver
) -> None:  # type: ignore[no-untyped-def]
    from installments.services import payoff_quote

    proposal, _preview = _request(current_loan, officer, effective_on=TODAY - dt.timedelta(days=2))
    reschedule_approve(proposal=proposal, actor=approver)
    quote = payoff_quote(loan=current_loan, on=TODAY)
    assert quote.deferred_interest > 0
    payment_record(loan=current_loan, amount=quote.total, paid_on=TODAY, actor=officer)
    current_loan.refresh_from_db()
    assert current_loan.status == Loan.Status.PAID_OFF
    assert current_loan.outstanding_principal == 0 and current_loan.overpayment_credit == 0


@pytest.fixture
def orex_book(officer, orex, product, rosa, teodoro):  # type: ignore[no-untyped-def]
    """Three Orex suppliers: two current loans, one 45 days past due."""
    third = MinerFactory.create(first_names="Celestino", last_names="Mamani")
    for miner in (rosa, teodoro, third):
        RelationshipFactory.create(miner=miner, buyer=orex)
    return {
        "rosa": _loan(rosa, product, officer, buyer=orex),
        "teodoro": _loan(teodoro, product, officer, buyer=orex, days_ago=40),
        "late": _loan(third, product, officer, days_ago=75),
    }


def _api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_bulk_preview_lists_both_sides_and_changes_nothing(orex_book, orex, officer) -> None:  # type: ignore[no-untyped-def]
    audits = AuditEvent.objects.count()
    response = _api(officer).post(
        "/api/v1/reschedules/",
        {"buyer": orex.pk, "options": HOLIDAY, "chosen": 0, "reason": "Rainy season", "preview": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert sorted(row["loan"] for row in body["eligible"]) == sorted(
        [orex_book["rosa"].code, orex_book["teodoro"].code]
    )
    for row in body["eligible"]:
        assert D(row["installment_after"]) > 0 and D(row["deferred_interest"]) > 0
    [refused] = body["ineligible"]
    assert refused["loan"] == orex_book["late"].code
    assert refused["reason"] == "45 days past due: only loans at most 30 days past due can be rescheduled."
    assert not RescheduleProposal.objects.exists()
    assert not LoanTransaction.objects.filter(kind="reschedule").exists()
    assert AuditEvent.objects.count() == audits
    assert set(Loan.objects.values_list("schedule_version", flat=True)) == {1}


def test_bulk_reprogramacion_is_approved_once_for_every_eligible_loan(orex_book, orex, officer, approver) -> None:  # type: ignore[no-untyped-def]
    response = _api(officer).post(
        "/api/v1/reschedules/",
        {"buyer": orex.pk, "options": HOLIDAY, "chosen": 0, "reason": "Rainy season"},
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and len(body["items"]) == 2
    assert [row["loan"] for row in body["ineligible"]] == [orex_book["late"].code]

    # The asker cannot approve (JSON error shape), the approver can, once for all.
    own = _api(officer).post(f"/api/v1/reschedules/{body['id']}/approve/", {}, format="json")
    assert own.status_code == 403
    approved = _api(approver).post(f"/api/v1/reschedules/{body['id']}/approve/", {}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"
    assert {item["status"] for item in approved.json()["items"]} == {"applied"}
    for key in ("rosa", "teodoro"):
        loan = orex_book[key]
        loan.refresh_from_db()
        assert loan.schedule_version == 2 and loan.status == Loan.Status.ACTIVE
    orex_book["late"].refresh_from_db()
    assert orex_book["late"].schedule_version == 1
    assert RescheduleItem.objects.filter(status="applied").count() == 2


def test_the_single_loan_endpoint_answers_refusals_in_the_error_shape(orex_book, officer) -> None:  # type: ignore[no-untyped-def]
    late = orex_book["late"]
    response = _api(officer).post(
        f"/api/v1/loans/{late.pk}/reschedule/",
        {"options": HOLIDAY, "chosen": 0, "reason": "Rainy season"},
        format="json",
    )
    assert response.status_code == 409  # an illegal transition, in the kernel's error shape
    assert "45 days past due" in response.content.decode()
    ok = _api(officer).post(
        f"/api/v1/loans/{orex_book['rosa'].pk}/reschedule/",
        {"options": [{"due_day": 5}, {"extra_installments": 2}], "chosen": 0, "reason": "Payday moved"},
        format="json",
    )
    assert ok.status_code == 201, ok.content
    assert ok.json()["due_day"] == 5


def test_the_new_cronograma_pdf_shows_the_deferred_interest_column(current_loan, officer, approver, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reports import services
    from tests.reports.conftest import pdf_text

    proposal, _preview = _request(current_loan, officer)
    reschedule_approve(proposal=proposal, actor=approver)
    cronograma = services.loan_cronograma(loan=current_loan)
    assert cronograma.schedule_version == 2
    assert cronograma.total_deferred_interest > 0
    assert cronograma.total_principal == current_loan.principal
    text = pdf_text(services.cronograma_pdf(cronograma, lang="en"), tmp_path)
    assert "Deferred interest" in text
    assert f"{cronograma.total_deferred_interest:,.2f}" in text
