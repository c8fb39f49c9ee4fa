"""The portfolio and impact report read back from its PDF: the same figures as portfolio_summary."""

from __future__ import annotations

import re

import pytest

from reports import formatting, services
from reports.selectors import portfolio_summary
from tests.reports.conftest import AS_OF, PERIOD_FROM, pdf_text, save_artifact

pytestmark = pytest.mark.django_db


@pytest.fixture
def summary(portfolio):
    return portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)


def _pages(text: str) -> list[str]:
    return text.split("\f")


def test_it_prints_the_figures_on_a_one_page_executive_summary(summary, tmp_path):
    document = services.portfolio_pdf(summary, lang="es")
    save_artifact(document, "portfolio-es")
    first = _pages(pdf_text(document, tmp_path))[0]
    assert "Reporte de cartera e impacto" in first
    assert "Resumen ejecutivo" in first
    assert "Periodo del 01/01/2025 al 30/06/2025" in first
    for figure in (
        "S/ 33,000.00",  # disbursed
        "S/ 11,000.00",  # average
        "S/ 28,056.93",  # outstanding
        "71.28%",  # PAR30
        "PAR1 83.83%",
        "PAR90 0.00%",
        "50.0%",  # rated Normal
        "referencia del sector 82%",
        "12.5 kg/año",
    ):
        assert figure in first, figure
    assert f"{summary.repayment_rate * 100:.1f}%" in first
    assert "Página 1 de" in first


def test_it_prints_par_categories_and_breakdowns_in_the_body(summary, tmp_path):
    text = pdf_text(services.portfolio_pdf(summary, lang="es"), tmp_path)
    par_lines = {line.split("(")[0].strip(): line for line in text.splitlines() if line.strip().startswith("PAR")}
    assert formatting.soles(summary.par1_amount) in par_lines["PAR1"] and "83.83%" in par_lines["PAR1"]
    assert "S/ 20,000.00" in par_lines["PAR30"] and "71.28%" in par_lines["PAR30"]
    assert "S/ 0.00" in par_lines["PAR90"] and "0.00%" in par_lines["PAR90"]
    assert re.search(r"Dudoso\s+1\s+25\.00%\s+S/ 20,000\.00\s+71\.28%", text)
    assert re.search(r"Normal\s+2\s+50\.00%\s+S/ 4,536\.09\s+16\.17%", text)
    assert "Pallaquera" in text and "Puno" in text and "Minera Orex S.A.C." in text
    assert formatting.soles(summary.withheld) in text and "63.7 días" in text
    assert "Concentrador gravimétrico" in text
    assert "Educación financiera" in text


def test_it_draws_vector_charts(summary, spanish):
    html = services.pdf.render_html(
        "reports/pdf/portfolio.html",
        {"s": summary, "charts": services.portfolio_charts(summary), "filters": []},
        lang="es",
    )
    assert html.count("<svg") >= 4  # categories, months, region, buyer
    assert "Cartera por categoría SBS" in html


def test_it_prints_the_report_in_english_on_request(summary, tmp_path):
    document = services.portfolio_pdf(summary, lang="en")
    save_artifact(document, "portfolio-en", pages=False)
    first = _pages(pdf_text(document, tmp_path))[0]
    assert "Portfolio and impact report" in first
    assert "S/ 28,056.93" in first and "71.28%" in first
    assert "Page 1 of" in first


def test_it_names_the_filters_applied(portfolio, tmp_path):
    summary = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM, buyer=portfolio.orex)
    first = _pages(pdf_text(services.portfolio_pdf(summary), tmp_path))[0]
    assert f"Minera Orex S.A.C. (RUC {portfolio.orex.ruc})" in first
    assert "S/ 3,520.84" in first


def test_it_exports_every_table_as_csv_with_the_same_figures(summary, spanish):
    tables = services.portfolio_tables(summary)
    assert set(tables) == {
        "key-figures",
        "categories",
        "gender",
        "role",
        "region",
        "buyer",
        "product",
        "equipment",
        "trainings",
        "months",
        "fair-price",
        "messages",
        "guarantees",
    }
    key_figures = services.table_csv(tables["key-figures"])
    assert "Saldo de capital,28056.93" in key_figures.replace('"', "") or "28056.93" in key_figures
    assert "71.28" in key_figures
    region = services.table_csv(tables["region"]).splitlines()
    assert region[0].startswith("Región,")
    assert "Puno,1,20000.00,1,1,20000.00,20000.00,100.00" in region
