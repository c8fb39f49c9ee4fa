"""Whatever goes wrong under /api/, the client gets the API's JSON error shape, never an HTML page or a 500."""

from __future__ import annotations

from typing import Any

from django.test import Client
from rest_framework.test import APIClient

MINER = {
    "first_names": "Rosa",
    "last_names": "Quispe Mamani",
    "document_type": "dni",
    "document_number": "45871236",
    "gender": "F",
    "phone": "987654321",
    "ubigeo": "170101",
    "role": "owner",
}


def _error(response: Any) -> dict[str, Any]:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    return response.json()["error"]


def _post_raw(client: APIClient, body: bytes | str) -> Any:
    return client.generic("POST", "/api/v1/miners/", body, content_type="application/json")


def test_it_answers_an_unknown_api_path_with_json_404(officer_api: APIClient) -> None:
    response = officer_api.get("/api/v1/no-such-thing/")
    assert response.status_code == 404
    assert _error(response)["code"] == "not_found"


def test_it_answers_an_unknown_api_path_with_json_404_without_credentials(db: None) -> None:
    response = Client().post("/api/v2/settlements/", data="{}", content_type="application/json")
    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "Not found."}


def test_it_keeps_web_404s_as_html(db: None, client: Client) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_it_answers_a_wrong_method_with_json_405(officer_api: APIClient) -> None:
    response = officer_api.put("/api/v1/miners/", {}, format="json")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"


def test_it_answers_an_oversized_body_with_json_413(officer_api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = {**MINER, "first_names": "R" * 20_000}
    response = officer_api.post("/api/v1/miners/", body, format="json")
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"


def test_it_answers_an_oversized_form_body_with_json_413(officer_api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    response = officer_api.post("/api/v1/miners/", {**MINER, "first_names": "R" * 20_000})
    assert response.status_code == 413
    assert _error(response)["code"] == "request_too_large"


def test_it_answers_malformed_json_with_parse_error(officer_api: APIClient) -> None:
    response = _post_raw(officer_api, '{"first_names": "Rosa",')
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_it_refuses_a_lone_surrogate_naming_the_field(officer_api: APIClient) -> None:
    body = (
        '{"first_names": "Ro\\ud800sa", "last_names": "Quispe", "document_type": "dni", "document_number": "45871236"}'
    )
    response = _post_raw(officer_api, body)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["first_names"]


def test_it_refuses_a_lone_surrogate_inside_a_bulk_row(officer_api: APIClient) -> None:
    body = '{"rows": [{"lot_code": "A"}, {"lot_code": "\\udfff"}]}'
    response = officer_api.generic("POST", "/api/v1/settlements/bulk/", body, content_type="application/json")
    assert response.status_code == 400
    assert list(_error(response)["fields"]) == ["rows.1.lot_code"]


def test_it_refuses_a_lone_surrogate_in_a_key(officer_api: APIClient) -> None:
    response = _post_raw(officer_api, '{"\\ud800": "x"}')
    assert response.status_code == 400
    assert _error(response)["code"] in {"invalid", "parse_error"}


def test_it_refuses_deeply_nested_json_with_parse_error(officer_api: APIClient) -> None:
    depth = 50_000
    response = _post_raw(officer_api, "[" * depth + "]" * depth)
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_it_refuses_moderately_nested_json_with_parse_error(officer_api: APIClient) -> None:
    depth = 900  # below Python's recursion limit, but deep enough to exhaust it in later recursive code
    response = _post_raw(officer_api, '{"first_names": ' + "[" * depth + "]" * depth + "}")
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"


def test_it_answers_too_many_form_fields_with_parse_error(officer_api: APIClient, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    response = officer_api.post("/api/v1/miners/", {f"field{n}": "x" for n in range(10)})
    assert response.status_code == 400
    assert _error(response)["code"] == "parse_error"
