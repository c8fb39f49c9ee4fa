"""Issue 14, items 5 and 8: the journal for the lender's core system (API, keyset pages, ETags), as CSV
and XLSX, the trial balance as CSV and PDF, and the month-end page an accountant closes from."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import tempfile
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from rest_framework.test import APIClient

from accounting.models import AccountingPeriod, JournalLine
from accounting.posting import journal_post
from installments.services import payment_record
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def posted(officer, rosa, product):  # type: ignore[no-untyped-def]
    loan = disburse(miner=rosa, product=product, officer=officer)
    payment_record(loan=loan, amount=D("1838.45"), paid_on=dt.date(2025, 2, 17), actor=officer, reference="CAJA-1")
    journal_post(as_of=dt.date(2025, 2, 28))
    return loan


def _api(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user=user)
    return client


def test_the_api_pages_a_month_of_lines_by_keyset_with_etags(posted, accountant):  # type: ignore[no-untyped-def]
    client = _api(accountant)
    first = client.get("/api/v1/journal/", {"period": "2025-02", "limit": 2})
    assert first.status_code == 200 and first["ETag"]
    body = first.json()
    assert len(body["results"]) == 2 and body["next"]
    february = JournalLine.objects.filter(entry__period=dt.date(2025, 2, 1)).count()
    seen = [row["id"] for row in body["results"]]
    following = body["next"]
    while following:
        page = client.get(following).json()
        seen += [row["id"] for row in page["results"]]
        following = page["next"]
    assert len(seen) == len(set(seen)) == february
    payment = next(
        row
        for row in client.get("/api/v1/journal/", {"period": "2025-02", "limit": 100}).json()["results"]
        if row["event"] == "payment" and row["account"] == "1113"
    )
    assert payment["debit"] == "1838.45" and payment["loan"] == posted.code and payment["memo"] == "CAJA-1"

    again = client.get("/api/v1/journal/", {"period": "2025-02", "limit": 2}, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304


def test_the_api_refuses_a_bad_period_and_other_roles(posted, accountant, officer):  # type: ignore[no-untyped-def]
    bad = _api(accountant).get("/api/v1/journal/", {"period": "2025-13"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "invalid" and "period" in bad.json()["error"]["fields"]
    # Year 0000 fits the pattern but no calendar; an id beyond PostgreSQL's bigint is no id.
    year_zero = _api(accountant).get("/api/v1/journal/", {"period": "0000-01"})
    assert year_zero.status_code == 400 and "period" in year_zero.json()["error"]["fields"]
    too_far = _api(accountant).get("/api/v1/journal/", {"period": "2025-02", "after": 2**63})
    assert too_far.status_code == 400 and "after" in too_far.json()["error"]["fields"]
    assert _api(officer).get("/api/v1/journal/", {"period": "2025-02"}).status_code == 403


def test_the_journal_downloads_as_csv_and_xlsx(posted, accountant, client):  # type: ignore[no-untyped-def]
    client.force_login(accountant)
    page = client.get("/accounting/journal/", {"period": "2025-02"})
    assert page.status_code == 200 and b"1113" in page.content

    csv = b"".join(client.get("/accounting/journal/", {"period": "2025-02", "format": "csv"}).streaming_content)
    assert b"1838.45" in csv and b"CAJA-1" in csv
    xlsx = client.get("/accounting/journal/", {"period": "2025-02", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + JournalLine.objects.filter(entry__period=dt.date(2025, 2, 1)).count()


def test_the_trial_balance_balances_and_downloads_as_csv_and_pdf(posted, accountant, client):  # type: ignore[no-untyped-def]
    client.force_login(accountant)
    page = client.get("/accounting/trial-balance/", {"period": "2025-02", "currency": "PEN"})
    balance = page.context["balance"]
    assert balance.balanced and balance.total_debit > 0

    csv = client.get("/accounting/trial-balance/", {"period": "2025-02", "currency": "PEN", "format": "csv"})
    assert b"1411" in csv.content and str(balance.total_debit).encode() in csv.content
    pdf = client.get("/accounting/trial-balance/", {"period": "2025-02", "currency": "PEN", "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    with tempfile.NamedTemporaryFile(suffix=".pdf") as file:
        file.write(pdf.content)
        file.flush()
        text = subprocess.run(
            ["pdftotext", "-layout", file.name, "-"], capture_output=True, text=True, check=True
        ).stdout
    assert "1411" in text and "5114.01" in text


def test_an_accountant_closes_and_reopens_from_the_month_end_page(posted, accountant, officer, client):  # type: ignore[no-untyped-def]
    client.force_login(officer)
    assert client.post("/accounting/periods/2025-02/close/").status_code == 403
    client.force_login(accountant)
    assert client.get("/accounting/periods/").status_code == 200
    client.post("/accounting/periods/2025-02/close/")
    assert AccountingPeriod.objects.get(month=dt.date(2025, 2, 1)).status == "closed"
    client.post("/accounting/periods/2025-02/reopen/", {"reason": "Extracto bancario tardío"})
    assert AccountingPeriod.objects.get(month=dt.date(2025, 2, 1)).status == "open"
