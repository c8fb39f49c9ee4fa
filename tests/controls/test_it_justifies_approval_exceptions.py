"""Approving against a failed eligibility rule is an exception: it needs a written justification, which
is recorded on the application and in the audit row, and the exception is listed for the auditor."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from loans.models import Loan, LoanApplication
from loans.services import application_approve, application_create, application_submit
from tests.controls.conftest import api_client
from tests.factories import LoanProductFactory, RelationshipFactory
from tests.installments.conftest import disburse, make_product

JUSTIFICATION = "Atraso por cierre de planta; regularizado según constancia del comprador."


@pytest.fixture
def failing(officer) -> LoanApplication:  # type: ignore[no-untyped-def]
    """Submitted while the miner has another loan 30 days past due: the CPP hard check fails."""
    relationship = RelationshipFactory()
    miner = relationship.miner
    earlier = disburse(miner=miner, product=make_product(), officer=officer)
    Loan.objects.filter(pk=earlier.pk).update(days_past_due=30)
    today = timezone.localdate()
    application = application_create(
        miner=miner,
        product=LoanProductFactory(),
        amount=Decimal("5000.00"),
        term=6,
        disbursement_date=today,
        first_due_on=today + dt.timedelta(days=31),
        prepared_by=officer,
        withholding_buyer=relationship.buyer,
    )
    application = application_submit(application=application, actor=officer)
    checks = {check["code"]: check["ok"] for check in application.underwriting["checks"]}
    assert checks["no_cpp_loans"] is False and application.underwriting["recommendation"] == "decline"
    return application


def test_it_refuses_an_exception_approval_without_a_written_justification(approver, failing) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/loan-applications/{failing.pk}/approve/"
    for comment in ("", "   ", "ok, buen cliente"):
        response = api_client(approver).post(url, {"comment": comment}, format="json")
        assert response.status_code == 400, comment
        assert list(response.json()["error"]["fields"]) == ["comment"]
    failing.refresh_from_db()
    assert failing.status == LoanApplication.Status.SUBMITTED


def test_it_records_a_justified_exception_on_the_application_and_the_audit_row(approver, failing) -> None:  # type: ignore[no-untyped-def]
    response = api_client(approver).post(
        f"/api/v1/loan-applications/{failing.pk}/approve/", {"comment": f"  {JUSTIFICATION} "}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["approved_as_exception"], body["exception_justification"]) == (
        "approved",
        True,
        JUSTIFICATION,
    )
    audit = AuditEvent.objects.get(action="application.approve", object_id=str(failing.pk))
    assert audit.after is not None
    assert (audit.after["approved_as_exception"], audit.after["exception_justification"]) == (True, JUSTIFICATION)
    assert any("CPP" in rule for rule in audit.after["failed_rules"])


def test_it_lists_exceptions_for_the_auditor_by_decision_date(approver, officer, failing, draft) -> None:  # type: ignore[no-untyped-def]
    application_approve(application=failing, approver=approver, comment=JUSTIFICATION)
    application_submit(application=draft, actor=officer, underwriting={})
    application_approve(application=draft, approver=approver)  # passes every rule: not an exception
    today = timezone.localdate()

    assert list(LoanApplication.objects.approval_exceptions(today, today)) == [failing]
    assert not LoanApplication.objects.approval_exceptions(today + dt.timedelta(days=1), None).exists()
    listed = api_client(approver).get("/api/v1/loan-applications/", {"approved_as_exception": "true"}).json()
    assert [row["id"] for row in listed["results"]] == [failing.pk]


def test_the_detail_page_shows_the_exception_and_its_justification(client, approver, failing) -> None:  # type: ignore[no-untyped-def]
    client.force_login(approver)
    page = client.get(reverse("loans:application-detail", args=[failing.pk])).content.decode()
    assert 'value="approve"' in page

    response = client.post(
        reverse("loans:application-decide", args=[failing.pk]), {"decision": "approve", "comment": "ok"}
    )
    assert response.status_code == 302
    failing.refresh_from_db()
    assert failing.status == LoanApplication.Status.SUBMITTED

    client.post(
        reverse("loans:application-decide", args=[failing.pk]), {"decision": "approve", "comment": JUSTIFICATION}
    )
    failing.refresh_from_db()
    assert (failing.status, failing.approved_as_exception) == (LoanApplication.Status.APPROVED, True)
    page = client.get(reverse("loans:application-detail", args=[failing.pk])).content.decode()
    assert 'class="badge warn"' in page and JUSTIFICATION in page


def test_the_portfolio_report_lists_the_exception_in_its_pdf_and_csv(  # type: ignore[no-untyped-def]
    client, approver, failing, tmp_path
) -> None:
    from reports import services
    from reports.selectors import portfolio_summary
    from tests.reports.conftest import pdf_text

    application_approve(application=failing, approver=approver, comment=JUSTIFICATION)
    today = timezone.localdate()
    summary = portfolio_summary(as_of=today, date_from=today.replace(day=1))
    text = " ".join(pdf_text(services.portfolio_pdf(summary), tmp_path).split())
    assert "Aprobaciones por excepción" in text or "Approvals by exception" in text
    assert f"#{failing.pk}" in text and approver.username in text

    client.force_login(approver)
    response = client.get(
        reverse("reports:portfolio-csv", args=["approval-exceptions"]),
        {"as_of": today.isoformat(), "date_from": today.replace(day=1).isoformat()},
    )
    assert response.status_code == 200
    lines = response.content.decode().splitlines()
    assert len(lines) == 2 and lines[1].startswith(f"{failing.pk},") and JUSTIFICATION in lines[1]
