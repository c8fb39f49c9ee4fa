"""Spanish by default, English when the user switches; amounts and dates stay Peruvian."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_it_speaks_spanish_by_default_and_english_on_request(officer_client, loan) -> None:  # type: ignore[no-untyped-def]
    url = reverse("loans:detail", args=[loan.pk])
    spanish = officer_client.get(url).content.decode()
    assert '<html lang="es' in spanish
    assert "Registrar pago" in spanish and "Record payment" not in spanish

    response = officer_client.post(reverse("set_language"), {"language": "en", "next": url})
    assert response.status_code == 302 and response["Location"] == url

    english = officer_client.get(url).content.decode()
    assert '<html lang="en' in english
    assert "Record payment" in english
    # Peruvian formats in both languages: S/ 20,000.00 and dd/mm/aaaa.
    for page in (spanish, english):
        assert "S/ 20,000.00" in page
        assert loan.disbursed_on.strftime("%d/%m/%Y") in page


def test_it_ignores_an_unknown_language_and_a_foreign_next(officer_client) -> None:  # type: ignore[no-untyped-def]
    response = officer_client.post(reverse("set_language"), {"language": "fr", "next": "https://evil.example/"})
    assert response["Location"] == "/"
    assert "Inicio" in officer_client.get(reverse("dashboard")).content.decode()
