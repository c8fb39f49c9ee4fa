"""The buyer's upload page answers 413 for a settlements CSV over the size limit — 5 MB or
``MAX_CSV_ROWS`` rows — with the reason on the page, and saves nothing."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from buyers.models import BuyerUser, Settlement
from buyers.settlement_input import MAX_CSV_ROWS, parse_settlements_csv
from tests.api.conftest import BuyerPersona, settlement_body

URL = "/buyer/settlements/upload/"


def _buyer_user(django_user_model, orex: BuyerPersona) -> Client:  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("ana.orex", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=orex.buyer)
    client = Client()
    client.force_login(user)
    return client


def _csv(orex: BuyerPersona, rows: int) -> bytes:
    row = {k: str(v) for k, v in settlement_body(orex.supplier, "L").items()}
    lines = [",".join(row)]
    lines += [",".join({**row, "lot_code": f"L-{n}"}.values()) for n in range(rows)]
    return "\n".join(lines).encode()


def test_a_100000_row_file_is_refused_with_413(django_user_model, orex: BuyerPersona) -> None:
    content = _csv(orex, 100_000)
    client = _buyer_user(django_user_model, orex)
    response = client.post(URL, {"file": SimpleUploadedFile("s.csv", content)})
    assert response.status_code == 413
    assert "El archivo supera los 5 MB" in response.content.decode()  # the page speaks Spanish by default
    assert not Settlement.objects.exists()


def test_a_file_under_5_mb_but_over_the_row_limit_is_refused_with_413(django_user_model, orex: BuyerPersona) -> None:
    content = _csv(orex, MAX_CSV_ROWS + 1)
    assert len(content) < 5 * 1024 * 1024
    client = _buyer_user(django_user_model, orex)
    response = client.post(URL, {"file": SimpleUploadedFile("s.csv", content)})
    assert response.status_code == 413
    page = response.content.decode()
    assert f"Como máximo {MAX_CSV_ROWS} filas por archivo." in page
    assert not Settlement.objects.exists()


def test_a_file_of_exactly_the_row_limit_is_read(orex: BuyerPersona) -> None:
    records, _lines, errors = parse_settlements_csv(_csv(orex, MAX_CSV_ROWS).decode())
    assert errors == {} and len(records) == MAX_CSV_ROWS


def test_a_post_without_a_file_is_a_400_with_the_form_error(django_user_model, orex: BuyerPersona) -> None:
    response = _buyer_user(django_user_model, orex).post(URL, {"check_only": "on"})
    assert response.status_code == 400
    assert "Este campo es requerido." in response.content.decode()


# --- The officers' import pages -------------------------------------------------------------------


def _officer(officer) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(officer)
    return client


def test_an_officers_settlements_import_over_the_row_limit_is_a_413(officer, orex: BuyerPersona) -> None:
    content = _csv(orex, MAX_CSV_ROWS + 1)
    response = _officer(officer).post(
        "/miners/import/settlements/", {"buyer": orex.buyer.pk, "file": SimpleUploadedFile("s.csv", content)}
    )
    assert response.status_code == 413
    assert f"Como máximo {MAX_CSV_ROWS} filas por archivo." in response.content.decode()
    assert not Settlement.objects.exists()


def test_an_officers_miners_import_over_the_row_limit_is_a_413(officer) -> None:  # type: ignore[no-untyped-def]
    from miners.imports import MAX_ROWS
    from miners.models import Miner

    header = "document_number,first_names,last_names,gender,ubigeo"
    rows = [f"{40000000 + n},Ana,Quispe,F,040101" for n in range(MAX_ROWS + 1)]
    content = "\n".join([header, *rows]).encode()
    response = _officer(officer).post("/miners/import/", {"file": SimpleUploadedFile("m.csv", content)})
    assert response.status_code == 413
    assert not Miner.objects.exists()


def test_an_officers_import_over_5_mb_is_a_413_and_without_a_file_a_400(officer) -> None:  # type: ignore[no-untyped-def]
    client = _officer(officer)
    big = SimpleUploadedFile("m.csv", b"x" * (5 * 1024 * 1024 + 1))
    assert client.post("/miners/import/", {"file": big}).status_code == 413
    assert client.post("/miners/import/", {}).status_code == 400
