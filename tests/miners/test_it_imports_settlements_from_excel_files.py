"""The officers' historical settlements import takes an XLSX workbook or Excel's Latin-1 CSV, previews the
rows in es-PE format, reports bad ones by the row Excel shows, and hands the same file to the import job."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import JobRun
from buyers.models import Settlement
from tests.factories import BuyerFactory, MinerFactory, RelationshipFactory
from tests.inputs.workbooks import xlsx

pytestmark = pytest.mark.django_db

URL = "/miners/import/settlements/"
SETTLED_ON = timezone.localdate() - dt.timedelta(days=40)
HEADER = ["Documento", "Lote", "Fecha", "Tipo de cambio", "TMH", "H2O %", "Ley oz/TC", "Recuperación", "INTER"]
COSTS = ["RC", "Maquila", "Consumos", "Flete"]


@pytest.fixture
def officer_client(client, officer):  # type: ignore[no-untyped-def]
    client.force_login(officer)
    return client


@pytest.fixture
def orex(db):  # type: ignore[no-untyped-def]
    miner = MinerFactory(first_names="Ñusta", last_names="Peña", document_number="41234567")
    return RelationshipFactory(buyer=BuyerFactory(name="Minera Orex S.A.C."), miner=miner).buyer


def test_an_xlsx_is_previewed_in_es_pe_format_and_imported_by_the_job(
    officer_client, orex, django_capture_on_commit_callbacks
) -> None:  # type: ignore[no-untyped-def]
    rows = [
        ["41234567", f"H-{n}", SETTLED_ON + dt.timedelta(days=n), 3.75, 10, 8, 0.5, 0.84, 3322.1, 80, 110, 30.26, 22]
        for n in range(3)
    ]
    upload = SimpleUploadedFile("historico.xlsx", xlsx([HEADER + COSTS, *rows]))
    response = officer_client.post(URL, {"buyer": orex.pk, "file": upload, "action": "preview"})
    page = response.content.decode()
    assert response.status_code == 200 and "Confirmar importación" in page
    assert "3 filas" in page and SETTLED_ON.strftime("%d/%m/%Y") in page
    assert "US$ 12,212.83" in page and "9.200" in page
    hidden = response.context["form"]["content"].value()
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(URL, {"buyer": orex.pk, "content": hidden, "action": "confirm"})
    job = JobRun.objects.get(name="import_settlements")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.rows_touched == 3
    assert sorted(Settlement.objects.values_list("lot_code", "payable_usd")) == [
        (f"H-{n}", Decimal("12212.83")) for n in range(3)
    ]


def test_a_latin1_csv_with_a_bad_row_is_reported_by_row_and_column(officer_client, orex) -> None:  # type: ignore[no-untyped-def]
    day = SETTLED_ON.strftime("%d/%m/%Y")
    content = "\r\n".join(
        [
            ";".join(HEADER + COSTS),
            f"41234567;H-1;{day};3,75;10;8;0,5;0,84;3.322,10;80;110;30,26;22",
            f"41234567;H-2;{day};3,75;10;8;0,5;1,84;3.322,10;80;110;30,26;22",
        ]
    ).encode("latin-1")
    response = officer_client.post(
        URL, {"buyer": orex.pk, "file": SimpleUploadedFile("h.csv", content), "action": "preview"}
    )
    page = response.content.decode()
    assert "Confirmar importación" not in page
    assert '<td class="num">3</td><td class="nowrap">Recuperación <code>recovery</code></td>' in page
    assert not Settlement.objects.exists()


def test_a_utf8_csv_with_a_bom_is_previewed(officer_client, orex) -> None:  # type: ignore[no-untyped-def]
    content = "\ufeff" + "\n".join(
        [",".join(HEADER + COSTS), f"41234567,H-1,{SETTLED_ON.isoformat()},3.75,10,8,0.5,0.84,3322.10,80,110,30.26,22"]
    )
    upload = SimpleUploadedFile("h.csv", content.encode())
    page = officer_client.post(URL, {"buyer": orex.pk, "file": upload, "action": "preview"}).content.decode()
    assert "Confirmar importación" in page and "US$ 12,212.83" in page


def test_the_page_links_the_settlements_template(officer_client) -> None:  # type: ignore[no-untyped-def]
    page = officer_client.get(URL).content.decode()
    assert 'href="/buyer/settlements/template.xlsx"' in page and 'href="/buyer/settlements/template.csv"' in page
