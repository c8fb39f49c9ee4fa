"""The Anexo 5 style summary: balances and provisions by category and guarantee type, as CSV and PDF.

The report fixture rated on 2025-06-30 (see test_it_writes_the_sbs_debtor_file.py): Juana Normal,
Rosa CPP (3,520.84), Mario Dudoso (20,000.00), Pedro Pérdida (5,000.00). Rosa's loan has a guarantee
pledge registered for 80% of it (preferred guarantee); the others none.
Provisions (DOMAIN.md §6): Rosa 3,520.84 × (20% × 5% + 80% × 2.5%) = 105.63; Mario 60% = 12,000.00;
Pedro 100% = 5,000.00; Juana 1%.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from installments.models import LoanRating
from installments.services import portfolio_rate
from loans.collateral import collateral_add
from reports.regulatory.models import RegulatoryFile
from reports.regulatory.services import regulatory_files_generate
from tests.reports.conftest import AS_OF, pay_installments, pdf_text

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rated(portfolio, officer):
    # A preferred guarantee is registered collateral (issue 13): a pledge appraised at 80% of Rosa's
    # principal on the cut-off, registered before it.
    collateral_add(
        loan=portfolio.rosa_loan,
        actor=officer,
        description="Molino de bolas, serie 0001",
        appraised_value=Decimal("2816.67"),
        appraised_on=AS_OF - dt.timedelta(days=30),
        registry_entry="RMC-2025-000001",
        registered_on=AS_OF - dt.timedelta(days=20),
    )
    portfolio_rate(as_of=AS_OF)
    return portfolio


def test_it_writes_the_summary_as_csv(rated, approver):
    csv_file, pdf_file = regulatory_files_generate(kind="anexo5", cutoff=AS_OF, actor=approver)
    juana = LoanRating.objects.get(loan=rated.juana_loan, as_of=AS_OF)
    lines = csv_file.content.read().decode("utf-8").split("\r\n")

    assert lines[0] == "Código de categoría,Categoría,Tipo de garantía,Créditos,Saldo (S/),Provisión (S/)"
    assert lines[1] == f"0,Normal,Sin garantía,1,{juana.outstanding_principal},{juana.provision}"
    assert lines[2] == "0,Normal,Garantía preferida,0,0.00,0.00"
    assert lines[3] == "1,Con problemas potenciales,Sin garantía,0,0.00,0.00"
    assert lines[4] == "1,Con problemas potenciales,Garantía preferida,1,3520.84,105.63"
    assert lines[7] == "3,Dudoso,Sin garantía,1,20000.00,12000.00"
    assert lines[9] == "4,Pérdida,Sin garantía,1,5000.00,5000.00"
    assert lines[11] == "" and len(lines) == 12
    assert (csv_file.format, pdf_file.format) == ("csv", "pdf")
    assert csv_file.totals["provision"] == str(Decimal("17105.63") + juana.provision)


def test_it_writes_the_summary_as_a_pdf(rated, approver, tmp_path):
    _csv, pdf_file = regulatory_files_generate(kind="anexo5", cutoff=AS_OF, actor=approver)
    text = pdf_text(pdf_file.content.read(), tmp_path)
    # (Titles in Spanish once the catalogue has them; the category names are the layout's data.)
    assert "Anexo 5" in text and "30/06/2025" in text
    assert "Con problemas potenciales" in text and "S/ 3,520.84" in text and "S/ 105.63" in text
    assert "S/ 12,000.00" in text and "Pérdida" in text


def test_it_regenerates_both_files_identically(rated, approver):
    first = regulatory_files_generate(kind="anexo5", cutoff=AS_OF, actor=approver)
    pay_installments(rated.rosa_loan, 1, dt.date(2025, 7, 5))
    again = regulatory_files_generate(kind="anexo5", cutoff=AS_OF, actor=approver)
    assert [kept.sha256 for kept in again] == [kept.sha256 for kept in first]
    assert [kept.same_as_previous for kept in again] == [True, True]
    assert RegulatoryFile.objects.count() == 4
