"""The officer's miners import takes the files officers have — an XLSX workbook, Excel's Latin-1 CSV with
semicolons, a UTF-8 CSV with a BOM — with the template's Spanish headers, and its own template as it comes;
the preview's confirmation carries the same file to the import job."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from asmcredit.models import JobRun
from miners.imports import miners_import_csv
from miners.models import Miner
from tests.inputs.workbooks import xlsx

pytestmark = pytest.mark.django_db


@pytest.fixture
def officer_client(client, officer):  # type: ignore[no-untyped-def]
    client.force_login(officer)
    return client


HEADER = ["Nombres", "Apellidos", "Número de documento", "Sexo", "Fecha de nacimiento", "Ubigeo", "Rol"]


def test_it_reads_excels_latin1_semicolon_csv_with_spanish_headers(officer) -> None:  # type: ignore[no-untyped-def]
    content = (
        "NOMBRES;Apellidos;Número de documento;Sexo;Fecha de nacimiento;Ubigeo;Rol\r\n"
        "Ñusta;Peña Huamán;41234567;mujer;5/3/1990;040112;titular\r\n"
    ).encode("cp1252")
    result = miners_import_csv(text=content, actor=officer)
    assert result.ok, result.as_dict()
    miner = Miner.objects.get()
    assert (miner.first_names, miner.last_names) == ("Ñusta", "Peña Huamán")
    assert miner.birth_date == dt.date(1990, 3, 5) and miner.gender == "F"


def test_it_reads_a_utf8_csv_with_a_bom_and_iso_dates(officer) -> None:  # type: ignore[no-untyped-def]
    content = "\ufeffnombres,apellidos,dni,sexo,fecha_nacimiento,ubigeo\nRosa,Quispe,41234567,F,1990-03-05,040112\n"
    assert miners_import_csv(text=content.encode(), actor=officer).ok
    assert Miner.objects.get().birth_date == dt.date(1990, 3, 5)


def test_it_reads_an_xlsx_with_number_and_date_cells(officer) -> None:  # type: ignore[no-untyped-def]
    content = xlsx(
        [
            HEADER,
            ["Rosa", "Huamán", 41234567, "F", dt.date(1985, 5, 12), 40112, "titular"],  # Excel dropped the 0
            [],
            ["Ana", "Ccama", "42345678", "F", "12/05/1985", "210101", "trabajador"],
        ],
        title="Mineros",
    )
    result = miners_import_csv(text=content, actor=officer)
    assert result.ok, result.as_dict()
    rosa = Miner.objects.get(document_number="41234567")
    assert rosa.ubigeo == "040112" and rosa.birth_date == dt.date(1985, 5, 12)
    assert Miner.objects.get(document_number="42345678").role == Miner.Role.WORKER


def test_it_names_bad_rows_by_the_row_excel_shows(officer) -> None:  # type: ignore[no-untyped-def]
    content = xlsx(
        [
            HEADER,
            ["Rosa", "Huamán", "41234567", "F", 45717, "040112", ""],  # a date cell formatted "General"
            [],
            ["Ana", "Ccama", "42345678", "F", "31/02/1985", "210101", ""],
        ]
    )
    result = miners_import_csv(text=content, actor=officer, dry_run=True)
    errors = {row.line: row.errors for row in result.error_rows}
    assert set(errors) == {2, 4}
    assert errors[2] == [
        "birth_date: 45717 is a number, not a date: write the date as dd/mm/aaaa or format the cell as a date."
    ]
    assert errors[4] == ["birth_date: 31/02/1985 is not a valid date."]
    assert not Miner.objects.exists()


def test_it_refuses_a_file_that_is_no_table(officer) -> None:  # type: ignore[no-untyped-def]
    result = miners_import_csv(text=b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), actor=officer)
    assert not result.ok and "not a CSV file or an XLSX workbook" in result.errors[0]


def test_an_xlsx_goes_from_preview_to_the_import_job(officer_client, django_capture_on_commit_callbacks) -> None:  # type: ignore[no-untyped-def]
    content = xlsx([HEADER, ["Rosa", "Huamán", "41234567", "F", dt.date(1985, 5, 12), "040112", ""]])
    upload = SimpleUploadedFile("mineros.xlsx", content)
    response = officer_client.post(reverse("miners:import"), {"file": upload, "action": "preview"})
    page = response.content.decode()
    assert response.status_code == 200 and "Confirmar importación" in page
    hidden = response.context["form"]["content"].value()
    assert hidden.startswith("data:application/vnd.openxmlformats")  # the workbook itself, as text
    with django_capture_on_commit_callbacks(execute=True):
        response = officer_client.post(reverse("miners:import"), {"content": hidden, "action": "confirm"})
    job = JobRun.objects.get(name="import_miners")
    assert response["Location"] == reverse("job-detail", args=[job.pk])
    job.refresh_from_db()
    assert job.status == "succeeded" and job.rows_touched == 1
    assert Miner.objects.get().birth_date == dt.date(1985, 5, 12)


def test_the_page_previews_a_latin1_csv_with_its_accents(officer_client) -> None:  # type: ignore[no-untyped-def]
    content = "Nombres;Apellidos;DNI;Sexo;Ubigeo\r\nÑusta;Peña Huamán;41234567;F;40112\r\n".encode("latin-1")
    upload = SimpleUploadedFile("mineros.csv", content, content_type="text/csv")
    page = officer_client.post(reverse("miners:import"), {"file": upload, "action": "preview"}).content.decode()
    assert "Ñusta Peña Huamán" in page and "Confirmar importación" not in page  # a typed ubigeo is never padded
    assert "ubigeo:" in page


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloaded_template_imports_as_it_comes(officer_client, fmt: str) -> None:  # type: ignore[no-untyped-def]
    page = officer_client.get(reverse("miners:import")).content.decode()
    url = reverse("miners:import-template", args=[fmt])
    assert f'href="{url}"' in page
    template = officer_client.get(url)
    assert template["Content-Disposition"] == f'attachment; filename="plantilla-mineros.{fmt}"'
    upload = SimpleUploadedFile(f"plantilla.{fmt}", template.content)
    page = officer_client.post(reverse("miners:import"), {"file": upload, "action": "preview"}).content.decode()
    assert "Todas las filas son válidas." in page and "Rosa Huamán Quispe" in page


def test_the_template_is_for_officers(client, analyst) -> None:  # type: ignore[no-untyped-def]
    client.force_login(analyst)
    assert client.get(reverse("miners:import-template", args=["csv"])).status_code == 403


def test_the_template_marks_as_required_exactly_the_required_columns() -> None:
    from miners.imports import COLUMNS, REQUIRED, TEMPLATE_COLUMNS

    assert [column.required for column in TEMPLATE_COLUMNS] == [name in REQUIRED for name in COLUMNS]
