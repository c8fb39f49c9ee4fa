"""Maker–checker over edits: whoever changed an application's terms can never approve it, and after
submission only its preparer may change it, which sends it back to draft (DOMAIN.md §7)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from asmcredit.models import AuditEvent
from loans.models import LoanApplication
from loans.services import application_approve, application_submit, application_update
from tests.controls.conftest import api_client


def test_an_approver_who_raised_the_amount_cannot_approve_it_over_the_api(officer, admin_user, beatriz, draft):  # type: ignore[no-untyped-def]
    lucia, olga = api_client(admin_user), api_client(officer)
    url = f"/api/v1/loan-applications/{draft.pk}/"

    edited = lucia.patch(url, {"amount": "39000.00", "term": 12}, format="json")
    assert edited.status_code == 200, edited.content
    assert olga.post(f"{url}submit/").json()["status"] == "submitted"

    refused = lucia.post(f"{url}approve/", {"comment": "Buen cliente."}, format="json")
    assert refused.status_code == 403
    assert "changed this application" in refused.json()["error"]["message"]
    draft.refresh_from_db()
    assert (draft.status, draft.decided_by) == (LoanApplication.Status.SUBMITTED, None)

    # Another approver, who never touched the terms, may approve them.
    approved = api_client(beatriz).post(f"{url}approve/", {"comment": "Visto en comité."}, format="json")
    assert approved.status_code == 200
    assert (approved.json()["amount"], approved.json()["decided_by"]) == ("39000.00", "beatriz.approver")


def test_the_editor_may_still_reject_what_they_changed(officer, admin_user, draft):  # type: ignore[no-untyped-def]
    application_update(application=draft, actor=admin_user, amount=Decimal("6000.00"))
    application_submit(application=draft, actor=officer, underwriting={})
    with pytest.raises(PermissionDenied):
        application_approve(application=draft, approver=admin_user)
    rejected = api_client(admin_user).post(
        f"/api/v1/loan-applications/{draft.pk}/reject/", {"reason": "Sin capacidad."}, format="json"
    )
    assert rejected.json()["status"] == "rejected"


def test_an_edit_that_changes_nothing_does_not_make_an_editor(officer, admin_user, draft):  # type: ignore[no-untyped-def]
    application_update(application=draft, actor=admin_user, amount=Decimal("5000"))
    application_submit(application=draft, actor=officer, underwriting={})
    assert application_approve(application=draft, approver=admin_user).status == LoanApplication.Status.APPROVED


def test_nobody_but_the_preparer_changes_a_submitted_application(officer, admin_user, draft):  # type: ignore[no-untyped-def]
    application_submit(application=draft, actor=officer, underwriting={})
    url = f"/api/v1/loan-applications/{draft.pk}/"

    response = api_client(admin_user).patch(url, {"amount": "39000.00"}, format="json")
    assert response.status_code == 403
    assert "only the officer who prepared" in response.json()["error"]["message"]
    assert api_client(admin_user).post(f"{url}withdraw/").status_code == 403
    draft.refresh_from_db()
    assert (draft.status, draft.amount) == (LoanApplication.Status.SUBMITTED, Decimal("5000.00"))
    assert not draft.editors.filter(pk=admin_user.pk).exists()


def test_the_preparer_withdraws_to_draft_and_the_committee_sees_it_again(officer, approver, draft):  # type: ignore[no-untyped-def]
    olga = api_client(officer)
    url = f"/api/v1/loan-applications/{draft.pk}/"
    olga.post(f"{url}submit/")

    withdrawn = olga.post(f"{url}withdraw/")
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["status"], withdrawn.json()["submitted_at"], withdrawn.json()["underwriting"]) == (
        "draft",
        None,
        {},
    )
    assert olga.patch(url, {"amount": "7000.00"}, format="json").json()["amount"] == "7000.00"
    assert olga.post(f"{url}submit/").json()["status"] == "submitted"
    assert api_client(approver).post(f"{url}approve/", {}, format="json").json()["status"] == "approved"
    assert AuditEvent.objects.filter(action="application.withdraw", object_id=str(draft.pk)).exists()


def test_the_preparers_edit_page_change_returns_a_submitted_application_to_draft(client, officer, draft):  # type: ignore[no-untyped-def]
    application_submit(application=draft, actor=officer, underwriting={})
    client.force_login(officer)
    response = client.post(
        reverse("loans:application-edit", args=[draft.pk]),
        {
            "miner": draft.miner_id,
            "product": draft.product_id,
            "withholding_buyer": draft.withholding_buyer_id,
            "amount": "8000.00",
            "term": 6,
            "tea_pct": "40",
            "disbursement_date": draft.disbursement_date.isoformat(),
            "first_due_on": draft.first_due_on.isoformat(),
            "grace_periods": 0,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    draft.refresh_from_db()
    assert (draft.status, draft.amount, draft.underwriting) == (LoanApplication.Status.DRAFT, Decimal("8000.00"), {})


def test_the_page_hides_approval_from_an_editor_and_refuses_it(client, officer, admin_user, draft):  # type: ignore[no-untyped-def]
    application_update(application=draft, actor=admin_user, term=9)
    application_submit(application=draft, actor=officer, underwriting={})
    client.force_login(admin_user)
    page = client.get(reverse("loans:application-detail", args=[draft.pk])).content.decode()
    assert 'value="approve"' not in page
    assert 'value="reject"' in page
    response = client.post(reverse("loans:application-decide", args=[draft.pk]), {"decision": "approve"})
    assert response.status_code == 403
    draft.refresh_from_db()
    assert draft.status == LoanApplication.Status.SUBMITTED
