"""/reports/portfolio/: queue the report, follow its progress, download the PDF and the CSV tables."""

from __future__ import annotations

import pytest
from django.urls import reverse

from asmcredit.models import JobRun
from reports import services
from tests.reports.conftest import pdf_text

pytestmark = pytest.mark.django_db

PARAMS = {"as_of": "2025-06-30", "date_from": "2025-01-01", "lang": "es"}


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_it_shows_the_form_to_an_analyst(client, analyst, portfolio):
    client.force_login(analyst)
    response = client.get(reverse("reports:portfolio"))
    assert response.status_code == 200
    assert "Reporte de cartera e impacto" in response.content.decode()
    assert "Minera Orex S.A.C." in response.content.decode()


def test_it_keeps_buyers_and_strangers_out(client, buyer_user):
    assert client.get(reverse("reports:portfolio")).status_code == 302
    client.force_login(buyer_user)
    assert client.get(reverse("reports:portfolio")).status_code == 403
    assert client.get(reverse("reports:portfolio-csv", args=["region"]) + "?as_of=2025-06-30").status_code == 403


def test_it_generates_the_report_in_the_background_and_offers_the_download(
    client, analyst, portfolio, django_capture_on_commit_callbacks, tmp_path
):
    client.force_login(analyst)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("reports:portfolio"), PARAMS, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    job = JobRun.objects.get(name=services.PORTFOLIO_JOB)
    assert (job.status, job.progress, job.rows_touched) == (JobRun.Status.SUCCEEDED, 100, 4)
    assert job.detail["file"].startswith("reports/portfolio-2025-06-30-")

    partial = client.get(reverse("reports:portfolio-job", args=[job.pk])).content.decode()
    assert reverse("reports:portfolio-download", args=[job.pk]) in partial
    assert "hx-trigger" not in partial  # done: the partial stops polling
    assert reverse("reports:portfolio-csv", args=["categories"]) in partial

    download = client.get(reverse("reports:portfolio-download", args=[job.pk]))
    assert download.status_code == 200
    text = pdf_text(b"".join(download.streaming_content), tmp_path)
    assert "S/ 28,056.93" in text and "71.28%" in text


def test_it_polls_while_the_report_is_being_prepared(client, officer):
    job = JobRun.objects.create(name=services.PORTFOLIO_JOB, progress=40, detail={"params": PARAMS})
    client.force_login(officer)
    partial = client.get(reverse("reports:portfolio-job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial
    assert 'value="40"' in partial
    assert client.get(reverse("reports:portfolio-download", args=[job.pk])).status_code == 404


def test_it_records_a_failed_report(client, officer, monkeypatch, django_capture_on_commit_callbacks):
    def broken(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("reports.services.portfolio.portfolio_summary", broken)
    client.force_login(officer)
    with pytest.raises(RuntimeError), django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:portfolio"), PARAMS)
    job = JobRun.objects.get(name=services.PORTFOLIO_JOB)
    assert job.status == JobRun.Status.FAILED
    assert "database went away" in job.error
    partial = client.get(reverse("reports:portfolio-job", args=[job.pk])).content.decode()
    assert "No se pudo preparar el reporte" in partial


def test_it_refuses_bad_parameters(client, officer, portfolio):
    client.force_login(officer)
    for bad in (
        {"as_of": "30/06/2025"},
        {"as_of": "2025-06-30", "buyer": "20999999999"},
        {"as_of": "2025-06-30", "region": "99"},
    ):
        response = client.post(reverse("reports:portfolio"), bad)
        assert response.status_code == 400, bad
    assert not JobRun.objects.filter(name=services.PORTFOLIO_JOB).exists()


def test_it_exports_a_table_as_csv(client, approver, portfolio):
    client.force_login(approver)
    response = client.get(
        reverse("reports:portfolio-csv", args=["categories"]) + "?as_of=2025-06-30&date_from=2025-01-01&lang=en"
    )
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "Category,Loans,Loans (%),Outstanding,Outstanding (%)"
    assert "Doubtful,1,25.00,20000.00,71.28" in lines
    buyer_only = client.get(
        reverse("reports:portfolio-csv", args=["key-figures"]) + f"?as_of=2025-06-30&buyer={portfolio.orex.ruc}&lang=en"
    ).content.decode()
    assert "Outstanding principal,3520.84" in buyer_only
    assert client.get(reverse("reports:portfolio-csv", args=["nope"]) + "?as_of=2025-06-30").status_code == 404
