"""Issue #15 item 5: the statement page is reached through a signed link that expires and can be revoked.
A tampered, expired or revoked link is a friendly 403 in Spanish, never a 500; officers make and revoke
links, other roles cannot."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from notices.links import (
    StatementLinkInvalid,
    statement_link_create,
    statement_link_resolve,
    statement_link_revoke,
    statement_link_token,
    statement_link_url,
)
from notices.models import StatementLink
from tests.factories import MinerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def rosa():  # type: ignore[no-untyped-def]
    return MinerFactory.create(first_names="Rosa", last_names="Huamán Condori")


def _path(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_it_round_trips_a_signed_link(rosa, officer, settings) -> None:  # type: ignore[no-untyped-def]
    settings.SITE_URL = "https://asm.example.pe"
    link, url = statement_link_create(miner=rosa, actor=officer)
    token = statement_link_token(link)
    assert url == f"https://asm.example.pe/s/{token}/"
    assert token.startswith(f"{link.pk}.")
    assert statement_link_resolve(token) == link
    assert link.expires_at - timezone.now() > dt.timedelta(days=29, hours=23)
    assert link.created_by == officer
    assert AuditEvent.objects.filter(action="statement_link.create", object_id=str(link.pk)).count() == 1


def test_it_refuses_a_tampered_token(rosa) -> None:  # type: ignore[no-untyped-def]
    link, _url = statement_link_create(miner=rosa)
    token = statement_link_token(link)
    other = statement_link_create(miner=MinerFactory.create())[0]
    forged = f"{other.pk}.{token.split('.', 1)[1]}"  # someone else's id under this signature
    for bad in (forged, token[:-1] + ("A" if token[-1] != "A" else "B"), "x", f"{link.pk}"):
        with pytest.raises(StatementLinkInvalid) as caught:
            statement_link_resolve(bad)
        assert caught.value.reason == "tampered"


def test_it_refuses_an_expired_or_revoked_link(rosa, officer) -> None:  # type: ignore[no-untyped-def]
    expired, _url = statement_link_create(miner=rosa)
    StatementLink.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(StatementLinkInvalid) as caught:
        statement_link_resolve(statement_link_token(expired))
    assert caught.value.reason == "expired"

    revoked, _url = statement_link_create(miner=rosa)
    statement_link_revoke(link=revoked, actor=officer)
    with pytest.raises(StatementLinkInvalid) as caught:
        statement_link_resolve(statement_link_token(revoked))
    assert caught.value.reason == "revoked"
    assert AuditEvent.objects.filter(action="statement_link.revoke", object_id=str(revoked.pk)).count() == 1
    with pytest.raises(TransitionError):
        statement_link_revoke(link=revoked, actor=officer)


def test_it_reuses_a_live_link_in_messages_and_renews_one_about_to_expire(rosa) -> None:  # type: ignore[no-untyped-def]
    first = statement_link_url(miner=rosa)
    assert statement_link_url(miner=rosa) == first
    assert StatementLink.objects.filter(miner=rosa).count() == 1
    StatementLink.objects.filter(miner=rosa).update(expires_at=timezone.now() + dt.timedelta(days=2))
    renewed = statement_link_url(miner=rosa)
    assert renewed != first
    assert StatementLink.objects.filter(miner=rosa).count() == 2


@pytest.mark.parametrize("spoil", ["tamper", "expire", "revoke"])
def test_it_shows_a_friendly_403_in_spanish(client, rosa, officer, spoil) -> None:  # type: ignore[no-untyped-def]
    link, url = statement_link_create(miner=rosa)
    path = _path(url)
    if spoil == "tamper":
        path = path.replace(f"/s/{link.pk}.", f"/s/{link.pk + 1000}.")
    elif spoil == "expire":
        StatementLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - dt.timedelta(days=1))
    else:
        statement_link_revoke(link=link, actor=officer)
    response = client.get(path)
    assert response.status_code == 403
    text = response.content.decode()
    assert "Este enlace ya no funciona" in text
    assert "Cómo obtener un nuevo enlace" in text
    assert response["Cache-Control"] == "private, no-store"
    assert "Rosa" not in text  # nothing of the miner leaks through a dead link
    assert client.get(path, {"lang": "en"}).content.decode().count("This link no longer works") >= 1


def test_officers_make_and_revoke_links_from_the_miner_page(client, rosa, officer, analyst) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    assert client.post(f"/miners/{rosa.pk}/statement-links/new/").status_code == 403
    assert not StatementLink.objects.exists()

    client.force_login(officer)
    response = client.post(f"/miners/{rosa.pk}/statement-links/new/")
    assert response.status_code == 302
    link = StatementLink.objects.get(miner=rosa)
    assert link.created_by == officer
    page = client.get(f"/miners/{rosa.pk}/").content.decode()
    assert f"/s/{statement_link_token(link)}/" in page

    client.force_login(analyst)
    assert client.post(f"/statement-links/{link.pk}/revoke/").status_code == 403
    assert f"/s/{statement_link_token(link)}/" not in client.get(f"/miners/{rosa.pk}/").content.decode()
    client.force_login(officer)
    assert client.post(f"/statement-links/{link.pk}/revoke/").status_code == 302
    link.refresh_from_db()
    assert link.revoked_at is not None
    assert client.get(f"/s/{statement_link_token(link)}/").status_code == 403
