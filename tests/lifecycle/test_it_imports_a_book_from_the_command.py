"""``manage.py import_book``: a dry run by default, --commit keeps what ties, and the exit status says
whether the files were refused (1) or nothing tied (2)."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

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
def book(tmp_path, rosa, teodoro, product, orex, admin_user) -> dict[str, Path]:  # type: ignore[no-untyped-def]
    paths = {
        "loans": tmp_path / "prestamos.csv",
        "payments": tmp_path / "pagos.csv",
        "schedule": tmp_path / "cronograma.csv",
    }
    paths["loans"].write_text(
        csv_text(LOANS_HEADER, loans_rows(rosa.document_number, teodoro.document_number, product.code, orex.ruc))
    )
    paths["payments"].write_text(csv_text(PAYMENTS_HEADER, PAYMENTS_ROWS))
    paths["schedule"].write_text(csv_text(SCHEDULE_HEADER, SCHEDULE_ROWS))
    return paths


def import_book(book: dict[str, Path], *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "import_book",
        str(book["loans"]),
        "--payments",
        str(book["payments"]),
        "--schedule",
        str(book["schedule"]),
        "--cutoff",
        "2025-03-31",
        *extra,
        stdout=out,
    )
    return out.getvalue()


def test_a_dry_run_prints_the_differences_and_imports_nothing(book):  # type: ignore[no-untyped-def]
    output = import_book(book)

    assert "Dry run" in output
    assert "outstanding_principal: ours 8472.84, theirs 8500.00, difference -27.16" in output
    assert "3 loans: 2 tie (2 would be imported), 1 do not tie, 0 already imported." in output
    assert not Loan.objects.exists()


def test_commit_imports_two_and_a_rerun_skips_them(book):  # type: ignore[no-untyped-def]
    assert "2 tie (2 imported)" in import_book(book, "--commit")
    assert "0 tie (0 imported), 1 do not tie, 2 already imported" in _failing(book, "--commit")
    assert Loan.objects.count() == 2


def _failing(book: dict[str, Path], *extra: str) -> str:
    """Run the command expecting exit status 2, and return what it printed."""
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_book",
            str(book["loans"]),
            "--payments",
            str(book["payments"]),
            "--schedule",
            str(book["schedule"]),
            "--cutoff",
            "2025-03-31",
            *extra,
            stdout=out,
        )
    assert raised.value.returncode == 2
    return out.getvalue()


def test_a_refused_file_exits_1_with_the_rows(book):  # type: ignore[no-untyped-def]
    book["payments"].write_text(book["payments"].read_text().replace("17/03/2025", "17/13/2025"))
    out = io.StringIO()
    with pytest.raises(CommandError) as raised:
        call_command(
            "import_book", str(book["loans"]), "--payments", str(book["payments"]), "--cutoff", "2025-03-31", stdout=out
        )

    assert raised.value.returncode == 1
    assert "payments row 3: fecha: 17/13/2025 is not a valid date." in out.getvalue()
    assert not Loan.objects.exists()


def test_a_workbook_carries_its_payments_and_cronograma_as_sheets(book, rosa, teodoro, product, orex, tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "cartera.xlsx"
    path.write_bytes(
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
    out = io.StringIO()
    call_command("import_book", str(path), "--cutoff", "2025-03-31", "--commit", stdout=out)

    assert set(Loan.objects.values_list("lender_number", flat=True)) == {"CMAC-001", "CMAC-003"}


def test_a_bad_cutoff_or_a_missing_file_is_refused(book):  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match="YYYY-MM-DD"):
        call_command("import_book", str(book["loans"]), "--cutoff", "31/03/2025")
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_book", "/nonexistent.csv", "--cutoff", "2025-03-31")


def test_the_exit_status_reaches_the_shell(book):  # type: ignore[no-untyped-def]
    """A CommandError's returncode is the process's: what a migration script checks."""
    result = subprocess.run(
        [sys.executable, "manage.py", "import_book", "/nonexistent.csv", "--cutoff", "2025-03-31"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert "Cannot read /nonexistent.csv" in result.stderr


def test_the_sample_files_in_docs_import_as_the_readme_says(admin_user):  # type: ignore[no-untyped-def]
    """docs/book-migration/: the README's example, for a product at TEA 40% without insurance or fees."""
    from tests.factories import MinerFactory
    from tests.installments.conftest import make_product

    make_product(code="capital-trabajo")
    MinerFactory.create(document_number="40112233")
    MinerFactory.create(document_number="40112234")
    docs = Path(__file__).resolve().parents[2] / "docs" / "book-migration"
    out = io.StringIO()
    call_command(
        "import_book",
        str(docs / "prestamos.csv"),
        "--payments",
        str(docs / "pagos.csv"),
        "--schedule",
        str(docs / "cronograma.csv"),
        "--cutoff",
        "2025-03-31",
        stdout=out,
    )
    assert "CMAC-002                 3  mismatch" in out.getvalue()
    assert "3 loans: 2 tie (2 would be imported), 1 do not tie, 0 already imported." in out.getvalue()
