"""manage.py regulatory_report: writes the file and keeps it, or exits non-zero with the reason."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from installments.services import portfolio_rate
from reports.regulatory import book
from reports.regulatory.models import RegulatoryFile
from tests.reports.conftest import AS_OF, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rated(portfolio):
    portfolio_rate(as_of=AS_OF)
    return portfolio


# A ledger a céntimo short in 1401 vigentes (settings.REGULATORY_LEDGER names this module in a test).
def account_balances(*, as_of: Any, currency: str) -> dict[str, Decimal]:
    balances = book.account_balances(as_of=as_of, currency=currency)
    if "1401" in balances:
        balances["1401"] -= Decimal("0.01")
    return balances


loan_account_balances = book.loan_account_balances


def test_it_writes_the_debtor_file(rated, tmp_path, capsys):
    output = tmp_path / "rcd.txt"
    call_command("regulatory_report", "--kind", "rcd", "--cutoff", "2025-06-30", "-o", str(output))
    kept = RegulatoryFile.objects.get()
    assert output.read_bytes() == kept.content.read()
    assert output.read_bytes().startswith(b"00600000202506300000000040000000")
    assert kept.generated_by is None and kept.generated_by_name.startswith("manage.py regulatory_report")
    assert kept.sha256 in capsys.readouterr().out

    call_command("regulatory_report", "--kind", "rcd", "--cutoff", "2025-06-30", "-o", str(output))
    assert "identical to the file kept before" in capsys.readouterr().out


def test_it_writes_the_anexo5_pdf_or_csv_by_the_file_name(rated, tmp_path):
    call_command("regulatory_report", "--kind", "anexo5", "--cutoff", "2025-06-30", "-o", str(tmp_path / "a5.pdf"))
    assert "Anexo 5" in pdf_text((tmp_path / "a5.pdf").read_bytes(), tmp_path)
    call_command("regulatory_report", "--kind", "anexo5", "--cutoff", "2025-06-30", "-o", str(tmp_path / "a5.csv"))
    assert (tmp_path / "a5.csv").read_text(encoding="utf-8").startswith("Código de categoría,")


def test_it_exits_non_zero_when_the_file_does_not_tie(rated, tmp_path, settings):
    settings.REGULATORY_LEDGER = __name__
    output = tmp_path / "rcd.txt"
    with pytest.raises(CommandError, match="does not tie") as refused:
        call_command("regulatory_report", "--kind", "rcd", "--cutoff", "2025-06-30", "-o", str(output))
    assert refused.value.returncode == 1
    assert "1411: the file has 2 records" in str(refused.value)
    assert not output.exists() and not RegulatoryFile.objects.exists()


def test_it_exits_non_zero_without_a_rating_that_day(rated, tmp_path):
    output = tmp_path / "rcd.txt"
    with pytest.raises(CommandError, match="No rating run is recorded for 2025-06-29"):
        call_command("regulatory_report", "--kind", "rcd", "--cutoff", "2025-06-29", "-o", str(output))
    assert not output.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--kind", "rcd", "--cutoff", "2025-02-30", "-o", "x.txt"], "--cutoff must be a date"),
        (["--kind", "anexo5", "--cutoff", "2025-06-30", "-o", "x.xls"], "anexo5 is written as csv or pdf"),
        (["--kind", "rcd", "--cutoff", "2025-06-30", "-o", "/nonexistent/x.txt"], "does not exist"),
    ],
)
def test_it_exits_with_a_message_on_bad_input(db, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CommandError, match=message):
        call_command("regulatory_report", *args)
