"""The officer's actions through the pages: each one calls its service and says what happened."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse

from asmcredit.models import JobRun
from installments.models import LoanTransaction, ReconciliationException
from loans.models import Loan, LoanApplication
from miners.models import Miner

pytestmark = pytest.mark.django_db


def _form(world, **overrides):  # type: ignore[no-untyped-def]
    data = {
        "miner": world.miner.pk,
        "product": world.product.pk,
        "equipment": world.equipment.pk,
        "withholding_buyer": world.buyer.pk,
        "amount": "20000.00",
        "term": "12",
        "tea_pct": "40.00",
        "disbursement_date": world.today.strftime("%d/%m/%Y"),
        "first_due_on": (world.today + dt.timedelta(days=31)).strftime("%d/%m/%Y"),
        "grace_periods": "0",
        "purpose_note": "Concentrador gravimétrico",
    }
    data.update(overrides)
    return data


def test_it_registers_a_miner_with_the_buyer_she_sells_to(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    response = officer_client.post(
        reverse("miners:create"),
        {
            "first_names": "Rosa",
            "last_names": "Huamán",
            "document_type": "DNI",
            "document_number": "41234567",
            "gender": "F",
            "ubigeo": "040112",
            "role": "owner_operator",
            "formalization_stage": "informal",
            "rel-buyer": world.buyer.pk,
            "rel-since": "01/02/2023",
            "rel-agreement_kind": "supply_contract",
        },
    )
    miner = Miner.objects.get(document_number="41234567")
    assert response.status_code == 302 and response["Location"] == reverse("miners:detail", args=[miner.pk])
    assert miner.relationships.get().since == dt.date(2023, 2, 1)


def test_it_shows_field_errors_for_bad_identifiers(officer_client) -> None:  # type: ignore[no-untyped-def]
    response = officer_client.post(
        reverse("miners:create"),
        {
            "first_names": "X",
            "last_names": "Y",
            "document_type": "DNI",
            "document_number": "123",
            "gender": "F",
            "ubigeo": "000000",
            "role": "owner_operator",
            "formalization_stage": "informal",
            "ruc": "10412345670",
        },
    )
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"document_number", "ubigeo", "ruc"} <= set(errors)
    assert Miner.objects.filter(first_names="X").count() == 0


def test_it_previews_the_schedule_and_the_underwriting_as_the_officer_types(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    response = officer_client.post(reverse("loans:application-preview"), _form(world), HTTP_HX_REQUEST="true")
    page = response.content.decode()
    assert response.status_code == 200
    assert "TCEA" in page and "40.00%" in page
    assert "recommendation approve" in page
    assert LoanApplication.objects.count() == 0  # a preview saves nothing


def test_it_adapts_the_form_to_the_product(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    from tests.factories import LoanProductFactory

    micro: Any = LoanProductFactory(purpose="micro_enterprise", requires_reinfo=False, name="Bodega")
    response = officer_client.post(
        reverse("loans:application-fields"),
        {"miner": world.miner.pk, "product": micro.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="product",
    )
    page = response.content.decode()
    assert 'type="hidden" name="equipment"' in page  # no catalogue for a shop
    assert "no se requiere inscripción en el REINFO" in page
    equipment_page = officer_client.post(
        reverse("loans:application-fields"),
        {"miner": world.miner.pk, "product": world.product.pk, "equipment": world.equipment.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TRIGGER_NAME="equipment",
    ).content.decode()
    assert '<select name="equipment"' in equipment_page
    assert 'value="20000.00"' in equipment_page  # the equipment's price becomes the amount


def test_it_takes_an_application_from_draft_to_loan(client, world, officer, approver) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    response = client.post(reverse("loans:application-create"), _form(world))
    application = LoanApplication.objects.get()
    assert response["Location"] == reverse("loans:application-detail", args=[application.pk])
    client.post(reverse("loans:application-submit", args=[application.pk]))
    application.refresh_from_db()
    assert application.status == "submitted" and application.underwriting["recommendation"] == "approve"

    client.force_login(approver)
    client.post(reverse("loans:application-decide", args=[application.pk]), {"decision": "reject", "reason": ""})
    application.refresh_from_db()
    assert application.status == "submitted"  # a rejection needs a reason
    client.post(reverse("loans:application-decide", args=[application.pk]), {"decision": "approve", "comment": "ok"})
    application.refresh_from_db()
    assert application.status == "approved" and application.decided_by == approver

    client.force_login(officer)
    response = client.post(
        reverse("loans:application-disburse", args=[application.pk]),
        {"disbursed_on": world.today.strftime("%d/%m/%Y"), "reference": "TRF-9"},
    )
    loan = Loan.objects.get(application=application)
    assert response["Location"] == reverse("loans:detail", args=[loan.pk])
    assert loan.payee == "supplier" and loan.payee_supplier == world.equipment.supplier


def test_it_rejects_with_a_reason(approver_client, application, officer) -> None:  # type: ignore[no-untyped-def]
    from loans.services import application_submit

    application_submit(application=application, actor=officer)
    approver_client.post(
        reverse("loans:application-decide", args=[application.pk]),
        {"decision": "reject", "reason": "Entregas irregulares"},
    )
    application.refresh_from_db()
    assert application.status == "rejected" and application.decision_comment == "Entregas irregulares"


def test_it_shows_both_prepayment_options_before_recording(officer_client, loan) -> None:  # type: ignore[no-untyped-def]
    url = reverse("installments:payment", args=[loan.pk])
    data = {"amount": "12000.00", "paid_on": loan.disbursed_on.strftime("%d/%m/%Y"), "reference": "R-1"}
    page = officer_client.post(url, {**data, "action": "preview"}).content.decode()
    assert 'value="reduce_term"' in page and 'value="reduce_installment"' in page
    assert not LoanTransaction.objects.filter(loan=loan, kind__in=["payment", "prepayment"]).exists()

    response = officer_client.post(url, {**data, "prepayment_mode": "reduce_installment", "action": "confirm"})
    assert response.status_code == 302
    prepayment = LoanTransaction.objects.get(loan=loan, kind="payment")
    assert prepayment.amount == Decimal("12000.00") and prepayment.prepayment_mode == "reduce_installment"
    assert loan.schedule_lines.filter(version=2).exists()  # applied as a pago anticipado


def test_it_records_a_small_payment_as_installments(officer_client, loan) -> None:  # type: ignore[no-untyped-def]
    url = reverse("installments:payment", args=[loan.pk])
    data = {"amount": "500.00", "paid_on": loan.disbursed_on.strftime("%d/%m/%Y")}
    page = officer_client.post(url, {**data, "action": "preview"}, HTTP_HX_REQUEST="true").content.decode()
    assert 'value="reduce_term"' not in page
    officer_client.post(url, {**data, "action": "confirm"})
    assert LoanTransaction.objects.get(loan=loan, kind="payment").amount == Decimal("500.00")


def test_it_lets_the_ngo_verify_the_equipment(analyst_client, loan) -> None:  # type: ignore[no-untyped-def]
    analyst_client.post(
        reverse("loans:verify", args=[loan.pk]), {"delivered": "on", "installed": "on", "note": "Instalado en Chala"}
    )
    loan.refresh_from_db()
    assert loan.delivery_verified_at and loan.installation_verified_at
    assert loan.verification_note == "Instalado en Chala"


def test_it_resolves_a_reconciliation_exception_with_a_note(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    exception = ReconciliationException.objects.create(
        buyer=world.buyer, kind="short", amount=Decimal("120.00"), detected_on=world.today, detail="Remesa corta"
    )
    page = officer_client.get(reverse("installments:buyer-detail", args=[world.buyer.pk])).content.decode()
    assert reverse("installments:exception-resolve", args=[exception.pk]) in page
    officer_client.post(reverse("installments:exception-resolve", args=[exception.pk]), {"note": ""})
    exception.refresh_from_db()
    assert exception.status == "open"
    officer_client.post(
        reverse("installments:exception-resolve", args=[exception.pk]), {"note": "Completó con la remesa R-2"}
    )
    exception.refresh_from_db()
    assert exception.status == "resolved" and exception.resolution_note == "Completó con la remesa R-2"


def test_it_imports_miners_from_a_csv_with_a_preview_and_a_progress_bar(
    officer_client, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    from django.core.files.uploadedfile import SimpleUploadedFile

    text = (
        "first_names,last_names,document_number,gender,ubigeo\nRosa,Huamán,41234567,F,040112\nAna,Ccama,123,F,040112\n"
    )
    upload = SimpleUploadedFile("miners.csv", text.encode(), content_type="text/csv")
    page = officer_client.post(reverse("miners:import"), {"file": upload, "action": "preview"}).content.decode()
    assert "Confirmar importación" not in page  # line 3 is bad: nothing can be confirmed
    assert "DNI" in page

    good = text.rsplit("Ana", 1)[0]
    upload = SimpleUploadedFile("miners.csv", good.encode(), content_type="text/csv")
    page = officer_client.post(reverse("miners:import"), {"file": upload, "action": "preview"}).content.decode()
    assert "Confirmar importación" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(reverse("miners:import"), {"content": good, "action": "confirm"})
    job = JobRun.objects.get(name="import_miners")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.progress == 100 and job.rows_touched == 1
    progress = officer_client.get(reverse("job-progress", args=[job.pk])).content.decode()
    assert 'aria-valuenow="100"' in progress and "hx-trigger" not in progress
    assert Miner.objects.filter(document_number="41234567").exists()


def test_it_polls_a_running_job(officer_client) -> None:  # type: ignore[no-untyped-def]
    job = JobRun.objects.create(name="import_miners", progress=40)
    page = officer_client.get(reverse("job-progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in page and 'aria-valuenow="40"' in page
