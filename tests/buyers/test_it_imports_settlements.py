"""Settlement batches and the buyer's upload page: CSV settlements, all or nothing, errors per line."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from buyers.models import BuyerUser, Settlement
from installments.services.settlement_batches import settlements_import_csv
from tests.factories import BuyerFactory, MinerFactory, RelationshipFactory

HEADER = (
    "miner_document,lot_code,settled_on,exchange_rate,wet_tonnes,moisture_pct,grade_oz_tc,recovery,"
    "gold_price_usd_oz,commercial_deduction_usd_oz,maquila_usd_tc,reagents_usd_tms,freight_usd_tms"
)


# A recent date: settlements older than SETTLEMENT_MAX_AGE_DAYS are refused.
SETTLED_ON = (timezone.localdate() - dt.timedelta(days=30)).isoformat()


def _row(document: str, lot: str, **changes: str) -> str:
    values = {
        "miner_document": document,
        "lot_code": lot,
        "settled_on": SETTLED_ON,
        "exchange_rate": "3.75",
        "wet_tonnes": "10",
        "moisture_pct": "8",
        "grade_oz_tc": "0.5",
        "recovery": "0.84",
        "gold_price_usd_oz": "3322.10",
        "commercial_deduction_usd_oz": "80",
        "maquila_usd_tc": "110",
        "reagents_usd_tms": "30.26",
        "freight_usd_tms": "22",
    }
    values.update(changes)
    return ",".join(values.values())


def _supplier(buyer):  # type: ignore[no-untyped-def]
    return RelationshipFactory(buyer=buyer, miner=MinerFactory()).miner


def test_it_imports_every_row(db) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    text = "\n".join([HEADER, _row(miner.document_number, "L-1"), _row(miner.document_number, "L-2")])
    result = settlements_import_csv(buyer=buyer, actor="test", text=text)
    assert result.ok and result.saved
    assert result.rows == 2
    assert [o.settlement.payable_usd for o in result.outcomes] == [Decimal("12212.83")] * 2
    assert Settlement.objects.filter(buyer=buyer, source="csv").count() == 2


def test_it_saves_nothing_and_names_each_bad_line(db) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    stranger = MinerFactory()
    text = "\n".join(
        [
            HEADER,
            _row(miner.document_number, "L-1"),
            _row(miner.document_number, "L-2", wet_tonnes="diez"),
            _row(stranger.document_number, "L-3"),
            _row(miner.document_number, "L-1"),
        ]
    )
    result = settlements_import_csv(buyer=buyer, actor="test", text=text)
    assert not result.ok
    # Keyed by the file's line numbers (the header is line 1).
    assert set(result.errors) == {3, 4, 5}
    assert set(result.errors[3]) == {"wet_tonnes"}
    assert result.errors[4] == {"miner_document": ["This miner is not one of this buyer's suppliers."]}
    assert result.errors[5] == {"lot_code": ["This lot code appears twice in the batch."]}
    assert not Settlement.objects.exists()


def test_it_reads_excel_csv_with_semicolons_decimal_commas_and_spanish_headers(db) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    text = (
        "DNI;Lote;Fecha;Tipo cambio;TMH;H2O;Ley oz/TC;Recuperación;INTER;RC;Maquila;Consumos;Flete\n"
        f"{miner.document_number};L-1;{SETTLED_ON};3,75;10;8;0,5;0,84;3322,10;80;110;30,26;22\n"
    ).encode("cp1252")
    result = settlements_import_csv(buyer=buyer, actor="test", file=io.BytesIO(text))
    assert result.ok, result.errors
    assert result.outcomes[0].settlement.dry_tonnes == Decimal("9.200")


def test_it_refuses_unknown_columns(db) -> None:
    result = settlements_import_csv(buyer=BuyerFactory(), actor="test", text=HEADER + ",colour\n")
    assert result.errors == {1: {"header": ["Unknown column 'colour'."]}}


def test_it_refuses_an_empty_file(db) -> None:
    assert settlements_import_csv(buyer=BuyerFactory(), actor="test", text="").errors == {
        1: {"file": ["The file is empty."]}
    }
    assert settlements_import_csv(buyer=BuyerFactory(), actor="test", text=HEADER + "\n").errors == {
        1: {"file": ["The file has a header but no settlements."]}
    }


def test_it_checks_without_saving_in_a_dry_run(db) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    result = settlements_import_csv(
        buyer=buyer, actor="test", text="\n".join([HEADER, _row(miner.document_number, "L-1")]), dry_run=True
    )
    assert result.ok and not result.saved
    assert result.outcomes[0].settlement.payable_usd == Decimal("12212.83")
    assert not Settlement.objects.exists()


# --- The upload page ------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _plain_static_files(settings):  # type: ignore[no-untyped-def]
    # The manifest storage needs `collectstatic`; pages render the same with plain storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


def _buyer_login(django_user_model, buyer):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user("ana.orex", password="correct-horse-battery-9")
    BuyerUser.objects.create(user=user, buyer=buyer)
    client = Client()
    client.force_login(user)
    return client


def test_it_shows_the_upload_page_to_a_buyer_user(django_user_model) -> None:
    buyer = BuyerFactory()
    response = _buyer_login(django_user_model, buyer).get("/buyer/settlements/upload/")
    assert response.status_code == 200
    assert buyer.name in response.content.decode()


def test_it_saves_an_uploaded_file(django_user_model) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    client = _buyer_login(django_user_model, buyer)
    upload = SimpleUploadedFile("s.csv", "\n".join([HEADER, _row(miner.document_number, "L-1")]).encode())
    response = client.post("/buyer/settlements/upload/", {"file": upload})
    assert response.status_code == 200
    assert "L-1" in response.content.decode()
    assert Settlement.objects.get().created_by.username == "ana.orex"


def test_it_reports_bad_rows_and_saves_nothing(django_user_model) -> None:
    buyer = BuyerFactory()
    miner = _supplier(buyer)
    client = _buyer_login(django_user_model, buyer)
    text = "\n".join([HEADER, _row(miner.document_number, "L-1"), _row(miner.document_number, "L-2", recovery="2")])
    response = client.post("/buyer/settlements/upload/", {"file": SimpleUploadedFile("s.csv", text.encode())})
    assert response.status_code == 400
    page = response.content.decode()
    assert "<code>recovery</code>" in page
    assert not Settlement.objects.exists()


def test_it_keeps_the_page_to_buyer_users(officer) -> None:
    client = Client()
    client.force_login(officer)
    assert client.get("/buyer/settlements/upload/").status_code == 403
    assert Client().get("/buyer/settlements/upload/").status_code == 302
