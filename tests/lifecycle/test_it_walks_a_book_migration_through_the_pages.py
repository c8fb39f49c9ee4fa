"""The lender administrator's migration page: upload, the dry run with its progress bar and its
differences, then the import of the loans that tie; nobody else opens it."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from asmcredit.models import JobRun
from lifecycle.models import BookImport
from loans.models import Loan
from tests.lifecycle.book_files import (
    LOANS_HEADER,
    PAYMENTS_HEADER,
    PAYMENTS_ROWS,
    SCHEDULE_HEADER,
    SCHEDULE_ROWS,
    csv_text,
    loans_rows,
    workbook,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def lucia(client, admin_user):  # type: ignore[no-untyped-def]
    client.force_login(admin_user)
    return client


def _upload(rosa, teodoro, product, orex) -> dict[str, object]:  # type: ignore[no-untyped-def]
    loans = csv_text(LOANS_HEADER, loans_rows(rosa.document_number, teodoro.document_number, product.code, orex.ruc))
    return {
        "cutoff": "2025-03-31",
        "loans": SimpleUploadedFile("prestamos.csv", loans.encode(), content_type="text/csv"),
        "payments": SimpleUploadedFile("pagos.csv", csv_text(PAYMENTS_HEADER, PAYMENTS_ROWS).encode()),
        "schedule": SimpleUploadedFile("cronograma.csv", csv_text(SCHEDULE_HEADER, SCHEDULE_ROWS).encode()),
    }


def test_a_dry_run_then_the_import_of_the_loans_that_tie(  # type: ignore[no-untyped-def]
    lucia, rosa, teodoro, product, orex, django_capture_on_commit_callbacks
):
    assert lucia.get(reverse("lifecycle:book-imports")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = lucia.post(reverse("lifecycle:book-imports"), _upload(rosa, teodoro, product, orex))
    dry_run = BookImport.objects.get()
    assert response["Location"] == reverse("lifecycle:book-import", args=[dry_run.pk])
    assert dry_run.job is not None
    dry_run.job.refresh_from_db()
    assert (dry_run.job.status, dry_run.job.progress) == ("succeeded", 100)

    page = lucia.get(response["Location"]).content.decode()
    assert "CMAC-002" in page and "8472.84" in page and "8500.00" in page and "-27.16" in page
    assert reverse("lifecycle:book-import-commit", args=[dry_run.pk]) in page
    assert not Loan.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = lucia.post(reverse("lifecycle:book-import-commit", args=[dry_run.pk]))
    committed = BookImport.objects.get(mode="commit")
    assert committed.confirms == dry_run and committed.imported == 2
    assert set(Loan.objects.values_list("lender_number", flat=True)) == {"CMAC-001", "CMAC-003"}
    page = lucia.get(response["Location"]).content.decode()
    first = Loan.objects.get(lender_number="CMAC-001")
    assert first.code in page
    # The loan's page says it is an opening loan, with its number at the lender and its import.
    loan_page = lucia.get(reverse("loans:detail", args=[first.pk])).content.decode()
    assert "CMAC-001" in loan_page and reverse("lifecycle:book-import", args=[committed.pk]) in loan_page
    # The dry run now points at its import instead of offering it again.
    page = lucia.get(reverse("lifecycle:book-import", args=[dry_run.pk])).content.decode()
    assert reverse("lifecycle:book-import-commit", args=[dry_run.pk]) not in page
    assert reverse("lifecycle:book-import", args=[committed.pk]) in page


def test_the_progress_bar_polls_while_the_replay_runs_and_reloads_when_done(lucia, admin_user):  # type: ignore[no-untyped-def]
    job = JobRun.objects.create(name="import_book", progress=40)
    batch = BookImport.objects.create(cutoff="2025-03-31", started_by=admin_user, job=job, loans_text="x")
    url = reverse("lifecycle:book-import-progress", args=[batch.pk])

    running = lucia.get(url)
    assert 'hx-trigger="every 1s"' in running.content.decode() and 'aria-valuenow="40"' in running.content.decode()
    assert "HX-Refresh" not in running

    BookImport.objects.filter(pk=batch.pk).update(status="done")
    done = lucia.get(url)
    assert done["HX-Refresh"] == "true" and "hx-trigger" not in done.content.decode()


def test_refused_files_are_listed_by_row(lucia, rosa, teodoro, product, orex, django_capture_on_commit_callbacks):  # type: ignore[no-untyped-def]
    content = workbook(
        {
            "Prestamos": (
                LOANS_HEADER,
                loans_rows(rosa.document_number, teodoro.document_number, "no-such-product", orex.ruc),
            ),
            "Pagos": (PAYMENTS_HEADER, PAYMENTS_ROWS),
        }
    )
    upload = SimpleUploadedFile("cartera.xlsx", content)
    with django_capture_on_commit_callbacks(execute=True):
        response = lucia.post(reverse("lifecycle:book-imports"), {"cutoff": "2025-03-31", "loans": upload})
    batch = BookImport.objects.get()
    assert batch.status == "failed" and batch.payments_text  # the "Pagos" sheet was read from the workbook
    assert [e["row"] for e in batch.row_errors] == [2, 3, 4]
    page = lucia.get(response["Location"]).content.decode()
    assert "no-such-product" in page
    assert batch.job is not None and JobRun.objects.get(pk=batch.job.pk).status == "failed"


def test_a_cutoff_in_the_future_is_a_form_error(lucia, rosa, teodoro, product, orex):  # type: ignore[no-untyped-def]
    data = _upload(rosa, teodoro, product, orex)
    data["cutoff"] = "2999-01-01"
    response = lucia.post(reverse("lifecycle:book-imports"), data)
    assert response.status_code == 400
    assert not BookImport.objects.exists()


def test_only_the_lender_administrator_opens_it(client, officer):  # type: ignore[no-untyped-def]
    client.force_login(officer)
    assert client.get(reverse("lifecycle:book-imports")).status_code == 403


def test_the_templates_download(lucia):  # type: ignore[no-untyped-def]
    response = lucia.get(reverse("lifecycle:book-import-template", args=["schedule", "xlsx"]))
    assert response.status_code == 200 and response.content.startswith(b"PK")
    assert lucia.get(reverse("lifecycle:book-import-template", args=["other", "csv"])).status_code == 404
