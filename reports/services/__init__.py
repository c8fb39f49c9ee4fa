"""The report documents, one module each; this package re-exports what callers import.

- ``cronograma``: the cronograma de pagos (hoja resumen) of a loan or an offer — DOMAIN.md §3.
- ``miner_statement``: the estado de cuenta of a miner for a period.
- ``buyer_statement``: the estado de cuenta of a buyer: settlements, withholdings, remittances,
  reconciliation, balance owed.
- ``portfolio``: the portfolio and impact report (figures from ``reports.selectors.portfolio_summary``) —
  charts, PDF, tables and CSV — generated in the background for the web page
  (``portfolio_report_generate``) or at once by the management command.

Every document is rendered under ``translation.override(lang)``; ``mask_documents`` hides the
borrower's document number for NGO staff, who get no document numbers (``masking``).
"""

from __future__ import annotations

from reports import pdf
from reports.services.buyer_statement import (
    BuyerStatement,
    CurrencyBalance,
    ExceptionRow,
    RemittanceRow,
    SettlementRow,
    buyer_statement,
    buyer_statement_pdf,
)
from reports.services.cronograma import Cronograma, CronogramaLine, cronograma_pdf, loan_cronograma, offer_cronograma
from reports.services.miner_statement import (
    NEXT_INSTALLMENTS,
    LoanStatement,
    MinerStatement,
    PendingInstallment,
    StatementEntry,
    loan_outstanding_on,
    miner_statement,
    miner_statement_pdf,
)
from reports.services.portfolio import (
    CHART_GROUPS,
    PDF_GROUPS,
    PORTFOLIO_JOB,
    REPORTS_DIR,
    OtherGroups,
    Table,
    approval_exceptions_table,
    pdf_breakdown,
    portfolio_charts,
    portfolio_job_start,
    portfolio_pdf,
    portfolio_report_generate,
    portfolio_tables,
    report_file_path,
    table_csv,
)

__all__ = [
    "CHART_GROUPS",
    "NEXT_INSTALLMENTS",
    "PDF_GROUPS",
    "PORTFOLIO_JOB",
    "REPORTS_DIR",
    "BuyerStatement",
    "Cronograma",
    "CronogramaLine",
    "CurrencyBalance",
    "ExceptionRow",
    "LoanStatement",
    "MinerStatement",
    "OtherGroups",
    "PendingInstallment",
    "RemittanceRow",
    "SettlementRow",
    "StatementEntry",
    "Table",
    "buyer_statement",
    "buyer_statement_pdf",
    "cronograma_pdf",
    "loan_cronograma",
    "loan_outstanding_on",
    "miner_statement",
    "miner_statement_pdf",
    "offer_cronograma",
    "pdf",  # the PDF renderer, as tests reach it (``services.pdf.render_html``)
    "pdf_breakdown",
    "portfolio_charts",
    "portfolio_job_start",
    "portfolio_pdf",
    "portfolio_report_generate",
    "approval_exceptions_table",
    "portfolio_tables",
    "report_file_path",
    "table_csv",
]
