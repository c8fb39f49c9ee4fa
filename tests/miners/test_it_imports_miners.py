"""The miners CSV import: every row checked first, nothing saved when any row is bad."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from asmcredit.models import AuditEvent
from miners.imports import miners_import_csv
from miners.models import Miner
from tests.factories import MinerFactory

pytestmark = pytest.mark.django_db

HEADER = (
    "first_names,last_names,document_type,document_number,ruc,gender,birth_date,phone,ubigeo,role,"
    "reinfo_code,reinfo_status,reinfo_date\n"
)
GOOD = (
    HEADER
    + "Rosa,Huamán Quispe,DNI,41234567,,F,12/05/1985,987654321,040112,owner_operator,REINFO-1,VIGENTE,01/03/2022\n"
    + "Juana,Mamani Ccori,DNI,42345678,,F,,,210101,pallaquera,,,\n"
)


def test_it_imports_every_row_of_a_good_file(officer) -> None:  # type: ignore[no-untyped-def]
    progress: list[int] = []
    result = miners_import_csv(text=GOOD, actor=officer, progress=progress.append)
    assert result.ok and result.created == 2
    rosa = Miner.objects.get(document_number="41234567")
    assert rosa.reinfo_status == Miner.ReinfoStatus.VIGENTE
    assert rosa.birth_date == dt.date(1985, 5, 12)
    juana = Miner.objects.get(document_number="42345678")
    assert juana.role == Miner.Role.PALLAQUERA
    assert juana.formalization_stage == Miner.FormalizationStage.NOT_APPLICABLE
    assert AuditEvent.objects.filter(action="miner.import").count() == 2
    assert progress[-1] == 100


def test_it_saves_nothing_when_one_row_is_bad(officer) -> None:  # type: ignore[no-untyped-def]
    text = GOOD + "Pedro,Quispe,DNI,1234,,M,,,040112,,,,\n"
    result = miners_import_csv(text=text, actor=officer)
    assert not result.ok
    assert [row.line for row in result.error_rows] == [4]
    assert "DNI" in " ".join(result.error_rows[0].errors)
    assert Miner.objects.count() == 0


def test_it_reports_each_bad_row_with_its_reasons(officer) -> None:  # type: ignore[no-untyped-def]
    MinerFactory(document_number="41234567")
    text = (
        HEADER
        + "Rosa,Huamán,DNI,41234567,,F,,,040112,,,,\n"  # already registered
        + "Ana,Ccama,DNI,43456789,,Q,,,040112,,,,\n"  # unknown gender
        + "Ana,Ccama,DNI,43456789,,F,,,999999,,,,\n"  # repeated document, bad ubigeo
        # a bad RUC, and a pallaquera in REINFO
        + "Luz,Apaza,DNI,44567890,20123456789,F,,,040112,pallaquera,REINFO-9,VIGENTE,\n"
    )
    with translation.override("en"):
        result = miners_import_csv(text=text, actor=officer, dry_run=True)
    errors = {row.line: " | ".join(row.errors) for row in result.error_rows}
    assert set(errors) == {2, 3, 4, 5}
    assert "gender" in errors[3]
    assert "Repeats the document of line 3." in errors[4]
    assert "Pallaqueras" in errors[5]
    assert Miner.objects.count() == 1


def test_it_accepts_spanish_headers_and_semicolons(officer) -> None:  # type: ignore[no-untyped-def]
    text = "\ufeffnombres;apellidos;dni;sexo;ubigeo;rol\nRosa;Huamán;41234567;mujer;040112;titular\n"
    result = miners_import_csv(text=text, actor=officer)
    assert result.ok, result.as_dict()
    assert Miner.objects.get().gender == "F"


def test_it_checks_without_saving_on_a_dry_run(officer) -> None:  # type: ignore[no-untyped-def]
    result = miners_import_csv(text=GOOD, actor=officer, dry_run=True)
    assert result.ok and result.created == 0
    assert Miner.objects.count() == 0


def test_it_refuses_a_file_without_the_required_columns(officer) -> None:  # type: ignore[no-untyped-def]
    result = miners_import_csv(text="first_names,last_names\nRosa,Huamán\n", actor=officer)
    assert not result.ok
    assert "document_number" in result.errors[0]


def test_it_refuses_the_ngo_analyst(analyst) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        miners_import_csv(text=GOOD, actor=analyst)
