"""Api-Key for buyers, Token for staff; anything else is a 401 with the API's error shape."""

from __future__ import annotations

from rest_framework.test import APIClient

from asmcredit.models import StaffToken
from buyers.services import api_key_revoke
from tests.api.conftest import key_client


def test_it_answers_401_without_credentials(db) -> None:
    response = APIClient().get("/api/v1/suppliers/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "Api-Key"


def test_it_accepts_a_buyer_key(orex) -> None:
    response = orex.client.get("/api/v1/suppliers/")
    assert response.status_code == 200
    assert [row["miner"]["id"] for row in response.json()["results"]] == [orex.supplier.pk]


def test_it_refuses_an_unknown_key(db) -> None:
    response = key_client("asm_not-a-real-key").get("/api/v1/suppliers/")
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "Unknown API key."}


def test_it_refuses_a_revoked_key(orex) -> None:
    api_key_revoke(key=orex.buyer.api_keys.get())
    response = orex.client.get("/api/v1/suppliers/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_it_refuses_the_key_of_an_inactive_buyer(orex) -> None:
    orex.buyer.is_active = False
    orex.buyer.save()
    assert orex.client.get("/api/v1/suppliers/").status_code == 401


def test_it_refuses_a_malformed_header(db) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key two parts")
    assert client.get("/api/v1/suppliers/").status_code == 401


def test_it_accepts_a_staff_token(officer_api) -> None:
    assert officer_api.get("/api/v1/miners/").status_code == 200


def test_it_refuses_a_staff_login_without_a_role(nobody_api) -> None:
    response = nobody_api.get("/api/v1/miners/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_it_treats_a_login_linked_to_a_buyer_as_that_buyer(orex, rival, django_user_model) -> None:
    from buyers.models import BuyerUser
    from tests.api.conftest import token_client

    user = django_user_model.objects.create_user("contabilidad.orex", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=orex.buyer)
    client = token_client(user)
    assert client.get("/api/v1/miners/").status_code == 403
    ids = [row["id"] for row in client.get("/api/v1/suppliers/").json()["results"]]
    assert ids == [orex.relationship.pk]


def _staff_client(user, **issue) -> tuple[APIClient, StaffToken]:  # type: ignore[no-untyped-def]
    from asmcredit.tokens import staff_token_issue

    raw, token = staff_token_issue(user=user, actor="tests", **issue)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client, token


def test_it_refuses_an_expired_staff_token(officer) -> None:
    import datetime as dt

    from django.utils import timezone

    client, token = _staff_client(officer, days=1)
    token.expires_at = timezone.now() - dt.timedelta(seconds=1)
    token.save()
    response = client.get("/api/v1/miners/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"
    assert "expired" in response.json()["error"]["message"]


def test_it_refuses_a_revoked_staff_token(officer) -> None:
    from asmcredit.tokens import staff_token_revoke

    client, token = _staff_client(officer)
    assert client.get("/api/v1/miners/").status_code == 200
    staff_token_revoke(token=token, actor="tests")
    response = client.get("/api/v1/miners/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_it_refuses_a_token_of_an_inactive_user(officer) -> None:
    client, _ = _staff_client(officer)
    officer.is_active = False
    officer.save()
    assert client.get("/api/v1/miners/").status_code == 401


def test_it_refuses_a_plain_text_authtoken_row(officer) -> None:
    # DRF's authtoken table kept keys in clear; a row written there no longer opens the API.
    from rest_framework.authtoken.models import Token

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=officer).key}")
    response = client.get("/api/v1/miners/")
    assert response.status_code == 401
    assert response.json()["error"] == {"code": "authentication_failed", "message": "Invalid token."}
