"""/reports/regulatory/: the SBS files kept, their downloads, and generating one as a job with progress."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse

from asmcredit.models import JobRun
from installments.services import portfolio_rate
from reports.regulatory import services
from reports.regulatory.models import RegulatoryFile
from tests.reports.conftest import AS_OF

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rated(portfolio):
    portfolio_rate(as_of=AS_OF)
    return portfolio


def test_it_is_for_the_approver_and_the_admin_only(client, officer, analyst, approver, admin_user):
    url = reverse("reports:regulatory")
    assert client.get(url).status_code == 302
    for outsider in (officer, analyst):
        client.force_login(outsider)
        assert client.get(url).status_code == 403
    for allowed in (approver, admin_user):
        client.force_login(allowed)
        assert client.get(url).status_code == 200


def test_it_generates_a_file_in_the_background_and_offers_its_download(
    client, approver, rated, django_capture_on_commit_callbacks
):
    client.force_login(approver)
    page = client.get(reverse("reports:regulatory")).content.decode()
    assert 'value="2025-06-30"' in page  # the latest rated day is offered

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("reports:regulatory"), {"kind": "rcd", "cutoff": "2025-06-30"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    job = JobRun.objects.get(name=services.REGULATORY_JOB)
    assert (job.status, job.progress, job.rows_touched) == (JobRun.Status.SUCCEEDED, 100, 4)
    kept = RegulatoryFile.objects.get()
    assert (kept.job, kept.generated_by) == (job, approver)

    partial = client.get(reverse("reports:regulatory-job", args=[job.pk])).content.decode()
    assert "hx-trigger" not in partial

    listing = client.get(reverse("reports:regulatory")).content.decode()
    assert reverse("reports:regulatory-download", args=[kept.pk]) in listing
    assert kept.sha256[:12] in listing

    download = client.get(reverse("reports:regulatory-download", args=[kept.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == 'attachment; filename="RCD-00000-20250630.txt"'
    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == kept.sha256


def test_a_file_that_does_not_tie_fails_the_job_with_the_differences(
    client, approver, rated, settings, django_capture_on_commit_callbacks
):
    settings.REGULATORY_LEDGER = "tests.reports.test_it_runs_the_regulatory_report_command"
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("reports:regulatory"), {"kind": "rcd", "cutoff": "2025-06-30"})
    job = JobRun.objects.get(name=services.REGULATORY_JOB)
    # The differences, in the language of the one who asked (Spanish here): the account, ours and theirs.
    assert job.status == JobRun.Status.FAILED and "1411" in job.error and "6,056.93" in job.error
    assert not RegulatoryFile.objects.exists()
    partial = client.get(reverse("reports:regulatory-job", args=[job.pk])).content.decode()
    assert "1411" in partial and "6,056.93" in partial and "hx-trigger" not in partial


def test_it_refuses_a_cutoff_that_was_not_rated(client, approver, rated):
    client.force_login(approver)
    response = client.post(reverse("reports:regulatory"), {"kind": "anexo5", "cutoff": "2025-06-29"})
    assert response.status_code == 400
    assert "29/06/2025" in response.content.decode()
    assert not JobRun.objects.filter(name=services.REGULATORY_JOB).exists()


def test_it_polls_while_the_report_is_being_generated(client, approver):
    job = JobRun.objects.create(name=services.REGULATORY_JOB, progress=40)
    client.force_login(approver)
    partial = client.get(reverse("reports:regulatory-job", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in partial and 'value="40"' in partial
