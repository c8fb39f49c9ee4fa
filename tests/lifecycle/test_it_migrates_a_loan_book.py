"""Migración de cartera: three loans replayed against the balances the lender declares; the one that does
not tie is listed field by field and never imported, the others are, once."""

from __future__ import annotations

from decimal import Decimal

import pytest

from asmcredit.models import AuditEvent, OutboxMessage
from installments.models import LoanTransaction
from lifecycle.book_import.services import book_import_create, book_import_run
from lifecycle.models import BookImport, BookImportLine
from loans.models import Loan
from reports.loan_history import loan_history
from tests.lifecycle.book_files import (
    CUTOFF,
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
D = Decimal


@pytest.fixture
def files(rosa, teodoro, product, orex):  # type: ignore[no-untyped-def]
    return {
        "loans": csv_text(
            LOANS_HEADER, loans_rows(rosa.document_number, teodoro.document_number, product.code, orex.ruc)
        ),
        "payments": csv_text(PAYMENTS_HEADER, PAYMENTS_ROWS),
        "schedule": csv_text(SCHEDULE_HEADER, SCHEDULE_ROWS),
    }


def run(admin_user, files, *, commit=False):  # type: ignore[no-untyped-def]
    batch = book_import_create(actor=admin_user, cutoff=CUTOFF, commit=commit, file_name="cartera.csv", **files)
    return book_import_run(batch=batch)


def outcomes(batch: BookImport) -> dict[str, str]:
    return dict(batch.lines.values_list("lender_number", "outcome"))


def test_a_dry_run_lists_the_difference_and_keeps_nothing(admin_user, files):  # type: ignore[no-untyped-def]
    batch = run(admin_user, files)

    assert batch.status == BookImport.Status.DONE
    assert outcomes(batch) == {"CMAC-001": "ties", "CMAC-002": "mismatch", "CMAC-003": "ties"}
    assert (batch.loans, batch.tied, batch.mismatched, batch.imported) == (3, 2, 1, 0)
    mismatch = batch.lines.get(lender_number="CMAC-002")
    assert mismatch.differences == [
        {"field": "outstanding_principal", "ours": "8472.84", "theirs": "8500.00", "difference": "-27.16"}
    ]
    assert not Loan.objects.exists()
    assert not LoanTransaction.objects.exists()
    assert not AuditEvent.objects.filter(action="loan.migrate").exists()


def test_a_commit_imports_the_loans_that_tie_and_reports_the_other(admin_user, files, rosa):  # type: ignore[no-untyped-def]
    batch = run(admin_user, files, commit=True)

    assert outcomes(batch) == {"CMAC-001": "imported", "CMAC-002": "mismatch", "CMAC-003": "imported"}
    assert (batch.tied, batch.imported, batch.mismatched) == (2, 2, 1)
    assert set(Loan.objects.values_list("lender_number", flat=True)) == {"CMAC-001", "CMAC-003"}
    first = Loan.objects.get(lender_number="CMAC-001")
    assert first.miner == rosa
    assert first.installment_amount == D("1840.40")
    assert first.withholding_buyer is not None
    assert first.migration.batch == batch
    assert first.disbursement_reference == "MIGRACION"
    # The lender's own cronograma is the loan's, and its interest due on the cut-off is what it declared.
    third = Loan.objects.get(lender_number="CMAC-003")
    assert list(third.schedule_lines.filter(version=1).values_list("interest", flat=True)) == [
        D("100.00"),
        D("70.00"),
        D("35.00"),
    ]
    assert third.outstanding_principal == D("2000.00")
    assert third.days_past_due > 0  # the second line fell due on 15/03/2025 and was not paid
    # Audited, in the loan's history, and no receipt sent for payments made before ASM Credit.
    history = [item.action for item in loan_history(loan=first).items]
    assert history.count("payment.record") == 2 and "loan.migrate" in history
    assert not OutboxMessage.objects.filter(task_name__startswith="notices.").exists()


def test_the_run_reports_its_progress(admin_user, files):  # type: ignore[no-untyped-def]
    seen: list[int] = []
    batch = book_import_create(actor=admin_user, cutoff=CUTOFF, **files)
    book_import_run(batch=batch, progress=seen.append)
    assert seen == [100]  # three loans: once at the end (every 20 loans on a large file)


def test_a_second_run_skips_what_is_already_imported(admin_user, files):  # type: ignore[no-untyped-def]
    run(admin_user, files, commit=True)
    again = run(admin_user, files, commit=True)

    assert outcomes(again) == {"CMAC-001": "skipped", "CMAC-002": "mismatch", "CMAC-003": "skipped"}
    assert again.imported == 0 and again.skipped == 2
    assert Loan.objects.count() == 2
    assert "AC-2025-" in again.lines.get(lender_number="CMAC-001").message


def test_the_fixed_loan_is_imported_on_the_next_run(admin_user, files, rosa, teodoro, product, orex):  # type: ignore[no-untyped-def]
    run(admin_user, files, commit=True)
    files["loans"] = csv_text(
        LOANS_HEADER, loans_rows(rosa.document_number, teodoro.document_number, product.code, orex.ruc, "8472.84")
    )
    fixed = run(admin_user, files, commit=True)

    assert outcomes(fixed)["CMAC-002"] == "imported"
    assert Loan.objects.get(lender_number="CMAC-002").outstanding_principal == D("8472.84")


def test_bad_rows_and_columns_refuse_the_whole_upload_with_their_rows(admin_user, files):  # type: ignore[no-untyped-def]
    files["loans"] = files["loans"].replace("CMAC-002,", "CMAC-001,").replace("15/01/2025,,", "31/02/2025,,")
    files["payments"] = files["payments"].replace("CMAC-003,15/02/2025", "CMAC-999,15/02/2025")
    batch = run(admin_user, files, commit=True)

    assert batch.status == BookImport.Status.FAILED
    assert {(e["file"], e["row"]) for e in batch.row_errors} == {
        ("loans", 3),  # CMAC-001 again
        ("loans", 4),  # 31/02/2025
        ("payments", 4),  # CMAC-002 is no longer in the file
        ("payments", 5),  # CMAC-999 never was
    }
    assert not Loan.objects.exists()
    assert not BookImportLine.objects.exists()


def test_a_missing_column_and_an_unknown_miner_are_named(admin_user, files):  # type: ignore[no-untyped-def]
    files["payments"] = files["payments"].replace("Monto", "Importe cobrado")
    files["loans"] = files["loans"].replace(files["loans"].splitlines()[1].split(",")[1], "99999999", 1)
    batch = run(admin_user, files)

    messages = {(e["file"], e["row"]): " ".join(e["errors"]) for e in batch.row_errors}
    assert "monto" in messages[("payments", 1)]
    assert "no miner with document 99999999" in messages[("loans", 2)]


def test_a_cronograma_that_does_not_add_up_is_refused(admin_user, files):  # type: ignore[no-untyped-def]
    files["schedule"] = files["schedule"].replace("15/04/2025,1000.00", "15/04/2025,900.00")
    batch = run(admin_user, files)

    assert batch.row_errors == [
        {
            "file": "schedule",
            "row": 2,
            "errors": ["Loan CMAC-003: the principal of the cronograma adds up to 2900.00, not the loan's 3000.00."],
        }
    ]


def test_an_xlsx_workbook_with_three_sheets_migrates_the_same(admin_user, rosa, teodoro, product, orex):  # type: ignore[no-untyped-def]
    from asmcredit.tabular import upload_text

    content = upload_text(
        workbook(
            {
                "Prestamos": (
                    LOANS_HEADER,
                    loans_rows(rosa.document_number, teodoro.document_number, product.code, orex.ruc),
                ),
                "Pagos": (PAYMENTS_HEADER, PAYMENTS_ROWS),
                "Cronograma": (SCHEDULE_HEADER, SCHEDULE_ROWS),
            }
        )
    )
    batch = run(admin_user, {"loans": content, "payments": content, "schedule": content}, commit=True)

    assert outcomes(batch) == {"CMAC-001": "imported", "CMAC-002": "mismatch", "CMAC-003": "imported"}


def test_only_the_lender_administrator_migrates_a_book(officer, files):  # type: ignore[no-untyped-def]
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        book_import_create(actor=officer, cutoff=CUTOFF, **files)
