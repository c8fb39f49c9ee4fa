"""With DEBUG off, a 403, a 404 or a 500 is the lender's own page in the user's language with a way
back home; the 500 renders even with the database unreachable; under /api/ they stay JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import OperationalError, connection
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path, reverse

from config.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401 - this module is a URLconf

pytestmark = pytest.mark.django_db


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


# This module is also the URLconf of its tests (pytest.mark.urls): the application's URLs and handlers
# plus a page and an API path that fail.
urlpatterns = [path("boom/", boom), path("api/v1/boom/", boom), *urlpatterns]

FAILING_URLS = pytest.mark.urls(__name__)

PAGES = {
    "es": {
        403: ("No puede abrir esta página", "Su rol no da acceso"),
        404: ("Página no encontrada", "La dirección puede estar mal escrita"),
        500: ("Algo salió mal", "Vuelva a intentarlo en unos minutos"),
    },
    "en": {
        403: ("You cannot open this page", "Your role does not give access"),
        404: ("Page not found", "The address may be mistyped"),
        500: ("Something went wrong", "Try again in a few minutes"),
    },
}


@pytest.fixture(autouse=True)
def _production(settings: Any) -> None:
    settings.DEBUG = False
    settings.LENDER_NAME = "Caja Rural Los Andes (prueba)"


def _client(user: Any, language: str) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.post(reverse("set_language"), {"language": language, "next": "/"})
    return client


def _assert_branded(response: Any, status: int, language: str) -> None:
    assert response.status_code == status
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    heading, sentence = PAGES[language][status]
    assert f"<h1>{heading}</h1>" in page
    assert sentence in page
    assert f'<html lang="{language}' in page
    assert "Caja Rural Los Andes (prueba)" in page and "img/lender-logo.svg" in page
    assert 'href="/"' in page  # the way back


@pytest.mark.parametrize("language", ["es", "en"])
def test_it_shows_a_branded_403(analyst: Any, language: str) -> None:
    # Preparing an application is for loan officers; the NGO analyst is refused.
    response = _client(analyst, language).get(reverse("loans:application-create"))
    _assert_branded(response, 403, language)


@pytest.mark.parametrize("language", ["es", "en"])
def test_it_shows_a_branded_404(officer: Any, language: str) -> None:
    response = _client(officer, language).get("/no-such-page/")
    _assert_branded(response, 404, language)


@FAILING_URLS
@pytest.mark.parametrize("language", ["es", "en"])
def test_it_shows_a_branded_500(officer: Any, language: str) -> None:
    response = _client(officer, language).get("/boom/")
    _assert_branded(response, 500, language)


@FAILING_URLS
def test_it_shows_the_500_page_with_the_database_unreachable(officer: Any) -> None:
    client = _client(officer, "en")

    def unreachable(*args: Any, **kwargs: Any) -> Any:
        raise OperationalError("could not connect to server: Connection refused")

    with pytest.MonkeyPatch.context() as patch:
        # Every query fails from the first one on, the session's read included.
        patch.setattr(connection, "cursor", unreachable)
        response = client.get("/boom/")
    # The session could not be read, so the language is not known: the lender's language.
    _assert_branded(response, 500, "es")


@FAILING_URLS
def test_it_answers_an_api_failure_with_json_500(officer: Any) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(officer)
    response = client.get("/api/v1/boom/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"]["code"] == "server_error"


def test_it_keeps_api_404s_and_403s_as_json(officer: Any, analyst: Any) -> None:
    client = Client()
    client.force_login(officer)
    missing = client.get("/api/v1/no-such-thing/")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"

    client.force_login(analyst)  # NGO analysts read, never write
    refused = client.post("/api/v1/miners/", {}, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "permission_denied"
