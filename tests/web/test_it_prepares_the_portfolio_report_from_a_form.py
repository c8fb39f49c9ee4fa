"""The portfolio report is in the navigation, with a form of labelled fields and date pickers whose
mistakes are shown beside the field, in place under htmx; a valid form starts the report's job."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from asmcredit.models import JobRun
from reports import services

pytestmark = pytest.mark.django_db

URL = reverse("reports:portfolio")


def _field(page: str, name: str) -> str:
    """The HTML of one field of the form: its label, input, help and errors."""
    chunks = [chunk for chunk in page.split('<div class="field')[1:] if f'<label for="id_{name}">' in chunk]
    assert len(chunks) == 1, name
    return chunks[0].split('<div class="form-actions">')[0]


@pytest.mark.parametrize("persona", ["officer_client", "analyst_client"])
def test_it_is_in_the_navigation(request: Any, persona: str) -> None:
    client: Client = request.getfixturevalue(persona)
    home = client.get(reverse("dashboard")).content.decode()
    assert f'<a href="{URL}"' in home
    assert "Reporte de cartera" in home
    response = client.get(URL)
    assert response.context["nav"] == "portfolio"  # the entry marked as the current page


def test_it_labels_every_field_and_picks_dates(officer_client: Client) -> None:
    page = officer_client.get(URL).content.decode()
    assert 'type="date" name="as_of"' in _field(page, "as_of") and "Fecha de corte" in _field(page, "as_of")
    assert 'type="date" name="date_from"' in _field(page, "date_from")
    assert "Todos los compradores" in _field(page, "buyer")
    assert "Todas las regiones" in _field(page, "region")
    assert "Todos los productos" in _field(page, "product")
    assert "Idioma del PDF" in _field(page, "lang")


def test_it_shows_a_mistake_beside_its_field(officer_client: Client) -> None:
    bad = {"as_of": "2025-06-30", "date_from": "2025-07-01", "lang": "es"}

    page = officer_client.post(URL, bad)
    assert page.status_code == 400
    assert "El periodo debe empezar antes de la fecha de corte." in _field(page.content.decode(), "date_from")

    panel = officer_client.post(URL, bad, HTTP_HX_REQUEST="true")
    assert panel.status_code == 200  # htmx swaps no 4xx: the panel comes back with the error in place
    html = panel.content.decode()
    assert "<html" not in html and 'role="alert"' in html
    assert "El periodo debe empezar antes de la fecha de corte." in _field(html, "date_from")
    assert not JobRun.objects.filter(name=services.PORTFOLIO_JOB).exists()


def test_it_refuses_an_unknown_buyer_as_a_field_error(officer_client: Client) -> None:
    page = officer_client.post(URL, {"as_of": "2025-06-30", "buyer": "20999999999"}).content.decode()
    assert 'class="errorlist"' in _field(page, "buyer")


def test_it_starts_the_report_and_shows_its_progress_in_place(
    officer_client: Client, django_capture_on_commit_callbacks: Any, settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    with django_capture_on_commit_callbacks(execute=False):
        panel = officer_client.post(URL, {"as_of": "2025-06-30", "lang": "en"}, HTTP_HX_REQUEST="true")
    html = panel.content.decode()
    job = JobRun.objects.get(name=services.PORTFOLIO_JOB)
    assert job.detail["params"]["lang"] == "en" and job.detail["params"]["as_of"] == "2025-06-30"
    assert f'id="report-job-{job.pk}"' in html and "<progress" in html
    assert 'value="2025-06-30"' in _field(html, "as_of")  # the form stays filled in
