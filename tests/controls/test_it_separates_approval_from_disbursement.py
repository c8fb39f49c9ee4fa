"""Segregation of duties at disbursement: the approver does not disburse what they approved (unless the
lender says so), and no disbursement is dated before its approval."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from installments.services import loan_disburse
from loans.models import Loan, LoanApplication
from loans.services import application_approve, application_submit
from tests.controls.conftest import api_client


@pytest.fixture
def approved_by_lucia(officer, admin_user, draft) -> LoanApplication:  # type: ignore[no-untyped-def]
    application_submit(application=draft, actor=officer, underwriting={})
    return application_approve(application=draft, approver=admin_user)


def test_the_approver_cannot_disburse_what_they_approved(officer, admin_user, approved_by_lucia) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/loan-applications/{approved_by_lucia.pk}/disburse/"
    refused = api_client(admin_user).post(url, {"reference": "OP-1"}, format="json")
    assert refused.status_code == 403
    assert "another officer must disburse" in refused.json()["error"]["message"]
    assert not Loan.objects.exists()

    disbursed = api_client(officer).post(url, {"reference": "OP-1"}, format="json")
    assert disbursed.status_code == 201, disbursed.content


def test_the_page_hides_disbursement_from_the_approver(client, admin_user, approved_by_lucia) -> None:  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    detail = reverse("loans:application-detail", args=[approved_by_lucia.pk])
    assert reverse("loans:application-disburse", args=[approved_by_lucia.pk]) not in client.get(detail).content.decode()
    response = client.post(
        reverse("loans:application-disburse", args=[approved_by_lucia.pk]),
        {"disbursed_on": timezone.localdate().isoformat(), "reference": "OP-1"},
    )
    assert response.status_code == 403
    assert not Loan.objects.exists()


def test_a_lender_may_let_the_approver_disburse(settings, admin_user, approved_by_lucia) -> None:  # type: ignore[no-untyped-def]
    settings.ALLOW_APPROVER_TO_DISBURSE = True
    loan = loan_disburse(application=approved_by_lucia, actor=admin_user)
    assert loan.disbursed_by == admin_user


def test_it_refuses_a_disbursement_dated_before_the_approval(officer, approved_by_lucia) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/loan-applications/{approved_by_lucia.pk}/disburse/"
    for day in (dt.date(2000, 1, 1), timezone.localdate() - dt.timedelta(days=1)):
        response = api_client(officer).post(url, {"disbursed_on": day.isoformat()}, format="json")
        assert response.status_code == 400, day
        assert list(response.json()["error"]["fields"]) == ["disbursed_on"]
    with pytest.raises(ValidationError) as refused:
        loan_disburse(application=approved_by_lucia, actor=officer, disbursed_on=dt.date(2000, 1, 1))
    assert "disbursed_on" in refused.value.message_dict
    assert not Loan.objects.exists()
    assert loan_disburse(application=approved_by_lucia, actor=officer).disbursed_on == timezone.localdate()


def test_the_refusals_are_permission_errors_not_transitions(admin_user, approved_by_lucia) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        loan_disburse(application=approved_by_lucia, actor=admin_user)
    approved_by_lucia.refresh_from_db()
    assert approved_by_lucia.status == LoanApplication.Status.APPROVED
