"""Issue #11 item 11 (first part): a disbursement on another date than planned regenerates the cronograma
from the actual date (DOMAIN.md §3), or answers a clear validation error — never a 500.

The rule for the first due date (``loans.services.first_due_on_for_disbursement``): the agreed payment
day (the planned first due date's day of the month) is kept, and the first due date is the payment day
nearest to the actual disbursement plus the planned first period. The term, amount, TEA and costs are
the approved ones; the TCEA is recomputed.

Figures below were worked by hand from DOMAIN.md §3: ``C = P / Σ (1 + TEA)^(−DA_k/360)`` rounded to the
céntimo, ``interest_k = round(balance_{k−1} · ((1 + TEA)^(d_k/360) − 1))``, and the TCEA the rate that
discounts the installments to the net amount received (S/ 10,000 − the S/ 100 upfront fee)."""

from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.models import ScheduleLine
from loans.models import Loan, LoanApplication, LoanProduct
from loans.services import (
    application_approve,
    application_create,
    application_submit,
    first_due_on_for_disbursement,
)
from tests.controls.conftest import api_client
from tests.factories import LoanProductFactory, RelationshipFactory

D = Decimal


@pytest.fixture
def product(db) -> LoanProduct:  # type: ignore[no-untyped-def]
    """TEA 40% with a S/ 100 upfront fee, so the TCEA depends on the dates."""
    return LoanProductFactory.create(tea_pct=D("40"), max_tea_pct=D("60"), upfront_fee=D("100.00"))


def _approved(officer: Any, product: LoanProduct, *, planned: dt.date, first_due: dt.date) -> LoanApplication:
    """S/ 10,000 at 40% in 6 installments, approved on 2025-01-02 (written directly: the approval flow
    has its own tests)."""
    relationship = RelationshipFactory()
    application = LoanApplication.objects.create(
        miner=relationship.miner,
        withholding_buyer=relationship.buyer,
        product=product,
        amount=D("10000.00"),
        term=6,
        tea_pct=D("40"),
        disbursement_date=planned,
        first_due_on=first_due,
        status=LoanApplication.Status.APPROVED,
        prepared_by=officer,
    )
    LoanApplication.objects.filter(pk=application.pk).update(
        decided_at=timezone.make_aware(dt.datetime(2025, 1, 2, 9, 0))
    )
    application.refresh_from_db()
    return application


def _lines(loan: Loan) -> list[ScheduleLine]:
    return list(ScheduleLine.objects.filter(loan=loan, is_current=True).order_by("number"))


def test_item11_disbursement_on_another_date_earlier_than_planned_regenerates_the_cronograma(  # type: ignore[no-untyped-def]
    officer, product
) -> None:
    # Planned 2025-01-20 with the first installment on 2025-02-17 (28 days; C = S/ 1,831.82, TCEA 45.17%).
    application = _approved(officer, product, planned=dt.date(2025, 1, 20), first_due=dt.date(2025, 2, 17))
    response = api_client(officer).post(
        f"/api/v1/loan-applications/{application.pk}/disburse/", {"disbursed_on": "2025-01-15"}, format="json"
    )
    assert response.status_code == 201, response.content
    loan = Loan.objects.get(pk=response.json()["id"])

    # Five days earlier: the payment day (17) stays, the first period grows to 33 days.
    lines = _lines(loan)
    assert loan.disbursed_on == dt.date(2025, 1, 15)
    assert loan.first_due_on == dt.date(2025, 2, 17)
    assert [line.due_on for line in lines] == [dt.date(2025, month, 17) for month in range(2, 8)]
    assert [line.days for line in lines] == [33, 28, 31, 30, 31, 30]
    # DA = 33, 61, 92, 122, 153, 183 days: Σ 1.4^(−DA/360) = 5.433590…, C = 10,000 / that = 1,840.40.
    assert loan.installment_amount == D("1840.40")
    # First installment: 10,000 × (1.4^(33/360) − 1) = 313.24 of interest, 1,840.40 − 313.24 of principal.
    first = lines[0]
    assert (first.interest, first.principal, first.total, first.closing_balance) == (
        D("313.24"),
        D("1527.16"),
        D("1840.40"),
        D("8472.84"),
    )
    assert [line.interest for line in lines] == [
        D("313.24"),
        D("224.66"),
        D("201.58"),
        D("148.39"),
        D("103.66"),
        D("50.89"),
    ]
    assert lines[-1].total == D("1840.42")  # the last installment takes the remaining balance
    assert sum(line.principal for line in lines) == D("10000.00")
    assert loan.tcea_pct == D("44.92")
    assert response.json()["tcea_pct"] == "44.9200"
    assert loan.next_due_on == dt.date(2025, 2, 17)

    # The audit row keeps what moved: planned against actual date, first due date and installment.
    after = AuditEvent.objects.get(action="loan.disburse").after
    assert after is not None
    assert after["planned_disbursement_date"] == "2025-01-20"
    assert after["disbursed_on"] == "2025-01-15"
    assert after["planned_first_due_on"] == "2025-02-17"
    assert after["first_due_on"] == "2025-02-17"
    assert (after["planned_installment"], after["installment"]) == ("1831.82", "1840.40")
    assert (after["planned_tcea_pct"], after["tcea_pct"]) == ("45.17", "44.92")
    assert after["regenerated"] is True
    # The application keeps what was approved.
    application.refresh_from_db()
    assert (application.disbursement_date, application.first_due_on) == (dt.date(2025, 1, 20), dt.date(2025, 2, 17))


def test_item11_disbursement_on_another_date_later_than_planned_moves_the_cronograma(officer, product) -> None:  # type: ignore[no-untyped-def]
    # Planned 2025-01-15, first due 2025-02-17 (33 days). Disbursed 19 days late, on 2025-02-03: keeping
    # 2025-02-17 would leave a 14-day first period; the payment day nearest to 2025-02-03 + 33 days
    # (2025-03-08) is 2025-03-17, so the whole cronograma moves one month, its first period 42 days.
    application = _approved(officer, product, planned=dt.date(2025, 1, 15), first_due=dt.date(2025, 2, 17))
    response = api_client(officer).post(
        f"/api/v1/loan-applications/{application.pk}/disburse/", {"disbursed_on": "2025-02-03"}, format="json"
    )
    assert response.status_code == 201, response.content
    loan = Loan.objects.get(pk=response.json()["id"])
    lines = _lines(loan)
    assert loan.first_due_on == dt.date(2025, 3, 17)
    assert [line.due_on for line in lines] == [dt.date(2025, month, 17) for month in range(3, 9)]
    assert loan.term == 6 and len(lines) == 6
    assert loan.installment_amount == D("1859.66")
    assert (lines[0].days, lines[0].interest, lines[0].principal) == (42, D("400.36"), D("1459.30"))
    assert lines[-1].total == D("1859.65")
    assert loan.tcea_pct == D("44.44")
    after = AuditEvent.objects.get(action="loan.disburse").after
    assert after is not None
    assert (after["planned_first_due_on"], after["first_due_on"]) == ("2025-02-17", "2025-03-17")
    assert (after["planned_installment"], after["installment"]) == ("1840.40", "1859.66")


def test_item11_disbursement_on_another_date_after_the_planned_first_due_date_is_no_longer_refused(  # type: ignore[no-untyped-def]
    officer, product
) -> None:
    application = _approved(officer, product, planned=dt.date(2025, 1, 15), first_due=dt.date(2025, 2, 17))
    response = api_client(officer).post(
        f"/api/v1/loan-applications/{application.pk}/disburse/", {"disbursed_on": "2025-02-20"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["first_due_on"] == "2025-03-17"


def test_item11_disbursement_on_another_date_the_first_due_day_rule() -> None:
    rule = first_due_on_for_disbursement
    planned, first = dt.date(2025, 1, 15), dt.date(2025, 2, 17)
    assert rule(planned_disbursement=planned, planned_first_due=first, disbursed_on=planned) == first
    # A few days off the plan keep the approved first due date.
    assert rule(planned_disbursement=planned, planned_first_due=first, disbursed_on=dt.date(2025, 1, 10)) == first
    assert rule(planned_disbursement=planned, planned_first_due=first, disbursed_on=dt.date(2025, 1, 25)) == first
    # Weeks earlier, the first due date moves back a month rather than leaving a two-month first period.
    assert rule(
        planned_disbursement=dt.date(2025, 3, 15), planned_first_due=dt.date(2025, 4, 17), disbursed_on=planned
    ) == dt.date(2025, 2, 17)
    # A payment day the month lacks falls on the month's last day (as every later due date does).
    assert rule(
        planned_disbursement=dt.date(2025, 1, 1),
        planned_first_due=dt.date(2025, 1, 31),
        disbursed_on=dt.date(2025, 2, 1),
    ) == dt.date(2025, 2, 28)


def test_item11_disbursement_on_another_date_much_earlier_at_a_high_rate_is_not_a_500(officer, approver) -> None:  # type: ignore[no-untyped-def]
    """The reproduced crash: 60% over 36 installments, approved today for a disbursement in 60 days with
    the first due date 30 days after it, disbursed today. Keeping the planned first due date made a
    90-day first period whose interest exceeded the installment: a negative principal the database
    refused (IntegrityError, a 409/500). Now the first due date moves with the disbursement."""
    today = timezone.localdate()
    relationship = RelationshipFactory()
    application = application_create(
        miner=relationship.miner,
        withholding_buyer=relationship.buyer,
        product=LoanProductFactory.create(tea_pct=D("60"), max_tea_pct=D("60")),
        amount=D("5000.00"),
        term=36,
        disbursement_date=today + dt.timedelta(days=60),
        first_due_on=today + dt.timedelta(days=90),
        prepared_by=officer,
    )
    application_submit(application=application, actor=officer, underwriting={})
    application_approve(application=application, approver=approver)
    response = api_client(officer).post(
        f"/api/v1/loan-applications/{application.pk}/disburse/", {"disbursed_on": today.isoformat()}, format="json"
    )
    assert response.status_code == 201, response.content
    loan = Loan.objects.get(pk=response.json()["id"])
    due = loan.first_due_on
    assert due.day == min(application.first_due_on.day, calendar.monthrange(due.year, due.month)[1])
    assert 15 <= (loan.first_due_on - today).days <= 46
    assert all(line.principal >= 0 for line in _lines(loan))
    assert sum(line.principal for line in _lines(loan)) == D("5000.00")


def test_item11_disbursement_on_another_date_refuses_impossible_dates_with_a_400(officer, product, client) -> None:  # type: ignore[no-untyped-def]
    application = _approved(officer, product, planned=dt.date(2025, 1, 15), first_due=dt.date(2025, 2, 17))
    url = f"/api/v1/loan-applications/{application.pk}/disburse/"
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    for day in (tomorrow.isoformat(), "2025-01-01", "2025-02-30", "15/01/2025"):
        response = api_client(officer).post(url, {"disbursed_on": day}, format="json")
        assert response.status_code == 400, (day, response.content)
        error = response.json()["error"]
        assert error["code"] == "invalid"
        assert list(error["fields"]) == ["disbursed_on"], day
    assert not Loan.objects.exists()

    # The page shows the same refusal beside the date, with a 400 and nothing disbursed.
    client.force_login(officer)
    page = client.post(
        reverse("loans:application-disburse", args=[application.pk]),
        {"disbursed_on": tomorrow.isoformat(), "reference": ""},
    )
    assert page.status_code == 400
    assert page.context["disburse_form"].errors["disbursed_on"]
    assert not Loan.objects.exists()
    with pytest.raises(ValidationError) as refused:
        from installments.services import loan_disburse

        loan_disburse(application=application, actor=officer, disbursed_on=dt.date(2024, 12, 31))
    assert "disbursed_on" in refused.value.message_dict


def test_item11_disbursement_on_another_date_is_idempotent(officer, product) -> None:  # type: ignore[no-untyped-def]
    application = _approved(officer, product, planned=dt.date(2025, 1, 20), first_due=dt.date(2025, 2, 17))
    url = f"/api/v1/loan-applications/{application.pk}/disburse/"
    client = api_client(officer)
    body = {"disbursed_on": "2025-01-15", "reference": "OP-77"}
    first = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="disb-77")
    replay = client.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="disb-77")
    assert first.status_code == replay.status_code == 201
    assert replay.json() == first.json()
    assert replay["Idempotent-Replayed"] == "true"
    # Without the key a second disbursement is an illegal transition; the cronograma is untouched.
    again = client.post(url, {"disbursed_on": "2025-01-16"}, format="json")
    assert again.status_code == 409
    loan = Loan.objects.get()
    assert loan.disbursed_on == dt.date(2025, 1, 15)
    assert ScheduleLine.objects.filter(loan=loan).count() == 6
    assert loan.installment_amount == D("1840.40")
    assert AuditEvent.objects.filter(action="loan.disburse").count() == 1
