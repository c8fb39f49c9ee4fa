"""OpenAPI 3 at /api/v1/schema/, interactive docs without any CDN, every error documented."""

from __future__ import annotations

import yaml
from rest_framework.test import APIClient


def _schema(client: APIClient) -> dict:
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_it_serves_an_openapi_3_schema_with_every_resource(officer_api) -> None:
    schema = _schema(officer_api)
    assert schema["openapi"].startswith("3.")
    paths = set(schema["paths"])
    for path in (
        "/api/v1/suppliers/",
        "/api/v1/settlements/",
        "/api/v1/settlements/bulk/",
        "/api/v1/settlements/{id}/void/",
        "/api/v1/remittances/",
        "/api/v1/statement/",
        "/api/v1/miners/",
        "/api/v1/buyers/",
        "/api/v1/loan-products/",
        "/api/v1/loan-applications/",
        "/api/v1/loan-applications/{id}/submit/",
        "/api/v1/loan-applications/{id}/approve/",
        "/api/v1/loan-applications/{id}/reject/",
        "/api/v1/loan-applications/{id}/disburse/",
        "/api/v1/loans/",
        "/api/v1/loans/{id}/schedule/",
        "/api/v1/loans/{loan_pk}/payments/",
        "/api/v1/ratings/",
        "/api/v1/simulations/",
        "/api/v1/portfolio/",
    ):
        assert path in paths, path
    assert {"ApiKeyAuth", "tokenAuth"} <= set(schema["components"]["securitySchemes"])


def test_it_documents_errors_and_idempotency_on_every_operation(officer_api) -> None:
    schema = _schema(officer_api)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "401", "403", "404", "429"} <= set(responses), (method, path)
            error = responses["401"]["content"]["application/json"]["schema"]["$ref"]
            assert error.endswith("/Error")
            if method == "post":
                assert {"409", "422"} <= set(responses), path
                headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
                assert headers == ["Idempotency-Key"], path


def test_it_gives_examples_for_the_main_operations(officer_api) -> None:
    schema = _schema(officer_api)
    post = schema["paths"]["/api/v1/settlements/"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]
    assert post["responses"]["201"]["content"]["application/json"]["examples"]
    assert post["responses"]["400"]["content"]["application/json"]["examples"]


def test_it_serves_interactive_docs_from_its_own_static_files(officer_api, settings) -> None:
    # The manifest storage needs `collectstatic`; the page is the same with plain storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    response = officer_api.get("/api/v1/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    for cdn in ("cdn.jsdelivr", "unpkg.com", "cdnjs", "googleapis"):
        assert cdn not in page
    assert "drf_spectacular_sidecar" in page
