"""manage.py portfolio_report: scheduled delivery of the portfolio report."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db


def test_it_writes_the_report(portfolio, tmp_path):
    output = tmp_path / "cartera.pdf"
    call_command("portfolio_report", "--as-of", "2025-06-30", "--from", "2025-01-01", "-o", str(output))
    text = pdf_text(output.read_bytes(), tmp_path)
    assert "Reporte de cartera e impacto" in text
    assert "S/ 28,056.93" in text and "71.28%" in text


def test_it_writes_one_buyers_report_in_english(portfolio, tmp_path):
    output = tmp_path / "orex.pdf"
    call_command(
        "portfolio_report", "--as-of", "2025-06-30", "--buyer", portfolio.orex.ruc, "--lang", "en", "-o", str(output)
    )
    text = pdf_text(output.read_bytes(), tmp_path)
    assert "Portfolio and impact report" in text and "Minera Orex S.A.C." in text
    assert "S/ 3,520.84" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--as-of", "2025-02-30"], "--as-of must be a date"),
        (["--as-of", "2025-06-30", "--from", "2025-07-01"], "--from must not come after"),
        (["--as-of", "2025-06-30", "--buyer", "20123456789"], "not a valid RUC"),
        (["--as-of", "2025-06-30", "--buyer", "20100070970"], "No buyer has RUC"),
        (["--as-of", "2025-06-30", "--region", "40"], "not an INEI department"),
    ],
)
def test_it_exits_with_a_message_on_bad_input(db, tmp_path, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("portfolio_report", *args, "-o", str(tmp_path / "x.pdf"))
    assert not (tmp_path / "x.pdf").exists()
