"""The one reader of uploaded tables (``asmcredit.tabular.read_table``): the CSVs and workbooks buyers and
officers actually have — Excel's Latin-1 with semicolons, UTF-8 with a BOM, XLSX with date and number
cells — and a clear refusal of everything else."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest
from django.utils import translation

from asmcredit.tabular import (
    TableError,
    TemplateColumn,
    TooManyRows,
    header_key,
    parse_decimal,
    read_table,
    template_csv,
    template_xlsx,
    upload_text,
)
from tests.inputs.workbooks import xlsx


def test_it_reads_a_utf8_csv_with_a_bom() -> None:
    table = read_table("\ufeffNombres,DNI\nÑusta,41234567\n".encode(), max_rows=10)
    assert table.header == ("Nombres", "DNI")
    assert [(row.number, row.cells) for row in table.rows] == [(2, ("Ñusta", "41234567"))]


def test_it_reads_excels_latin1_semicolon_csv_with_its_accents() -> None:
    raw = "Nombres;Apellidos;Recuperación\r\nÑusta;Huamán Peña;0,84\r\n".encode("latin-1")
    table = read_table(raw, max_rows=10)
    assert table.header == ("Nombres", "Apellidos", "Recuperación")
    assert table.rows[0].cells == ("Ñusta", "Huamán Peña", "0,84")


def test_windows_1252_characters_that_latin1_lacks_come_out_right() -> None:
    raw = "Lote;Fuente INTER\r\nL-1;“Kitco” – 3 € \r\n".encode("cp1252")
    assert read_table(raw, max_rows=10).rows[0].cells == ("L-1", "“Kitco” – 3 € ")


def test_a_byte_windows_1252_leaves_undefined_makes_the_file_latin1() -> None:
    raw = b"Nombres;Notas\nPe\xf1a;\x81 \x80\n"
    assert read_table(raw, max_rows=10).rows[0].cells == ("Peña", "\x81 \x80")


def test_it_reads_a_comma_csv_with_the_delimiter_quoted_inside_a_field() -> None:
    text = 'Apellidos,Notas,TMH\n"Quispe, Rosa","dijo ""sí""; luego",10.5\n'
    table = read_table(text, max_rows=10)
    assert table.rows[0].cells == ("Quispe, Rosa", 'dijo "sí"; luego', "10.5")


def test_a_quoted_header_with_commas_does_not_fool_the_delimiter_guess() -> None:
    table = read_table('"Ley, oz/TC";"Nombre, completo";TMH\n0,5;Rosa;10\n', max_rows=10)
    assert table.header == ("Ley, oz/TC", "Nombre, completo", "TMH")


def test_excels_sep_line_sets_the_delimiter_and_is_not_a_row() -> None:
    table = read_table("sep=;\nA;B\n1,5;2\n", max_rows=10)
    assert table.header == ("A", "B") and table.header_row == 1
    assert [(row.number, row.cells) for row in table.rows] == [(2, ("1,5", "2"))]


def test_rows_keep_the_numbers_excel_shows_across_blank_lines() -> None:
    table = read_table("\nA,B\n1,2\n\n,\n3,4\n", max_rows=10)
    assert table.header_row == 2
    assert [row.number for row in table.rows] == [3, 6]


def test_it_reads_an_xlsx_with_date_and_number_cells() -> None:
    raw = xlsx(
        [
            ["Fecha", "TMH", "Precio", "Documento"],
            [dt.date(2025, 3, 1), 10.25, 3322.1, "01234567"],
            [],
            [dt.datetime(2025, 3, 2, 0, 0), 7, Decimal("0.1") + Decimal("0.2"), 41234567],
        ]
    )
    table = read_table(raw, max_rows=10)
    assert table.header == ("Fecha", "TMH", "Precio", "Documento")
    first, second = table.rows
    assert first.number == 2 and first.cells == (dt.date(2025, 3, 1), 10.25, 3322.1, "01234567")
    assert second.number == 4 and second.cells[0] == dt.date(2025, 3, 2)
    assert parse_decimal(second.cells[2], decimal_mark=None) == Decimal("0.3")


def test_an_xlsx_is_known_by_its_content_not_its_name_and_travels_as_text() -> None:
    raw = xlsx([["A"], ["x"]])
    text = upload_text(raw)  # what the preview form sends back and the job receives
    assert text.startswith("data:application/vnd.openxmlformats")
    assert read_table(text, max_rows=10) == read_table(raw, max_rows=10)


def test_it_reads_the_sheet_the_template_names_or_else_the_first() -> None:
    raw = xlsx([["A"], ["datos"]], title="Liquidaciones", before=("Portada",))
    assert read_table(raw, max_rows=10, sheet="liquidaciones").rows[0].cells == ("datos",)
    assert read_table(raw, max_rows=10, sheet="Mineros").rows[0].cells == ("otra hoja",)


def test_it_refuses_an_empty_file_a_blank_one_and_a_workbook_without_rows() -> None:
    for content in (b"", "  \n\n", xlsx([])):
        with pytest.raises(TableError) as caught:
            read_table(content, max_rows=10)
        assert caught.value.message == "The file is empty."


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(200),  # an old .xls
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Length 5 >>\x00stream",
    ],
    ids=["png", "xls", "pdf"],
)
def test_it_refuses_a_binary_file_with_a_message_saying_what_to_do(content: bytes) -> None:
    with pytest.raises(TableError) as caught:
        read_table(content, max_rows=10)
    assert "not a CSV file or an XLSX workbook" in caught.value.message
    with translation.override("es"), pytest.raises(TableError) as caught:
        read_table(content, max_rows=10)
    assert "no es un archivo CSV ni un libro XLSX" in caught.value.message


def test_a_zip_that_is_not_a_workbook_is_refused() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hola")
    with pytest.raises(TableError) as caught:
        read_table(buffer.getvalue(), max_rows=10)
    assert caught.value.message == "The file cannot be read as an XLSX workbook."


def test_a_workbook_that_unpacks_past_the_limit_is_refused_before_it_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b" " * (61 * 1024 * 1024))
    assert len(buffer.getvalue()) < 1024 * 1024
    with pytest.raises(TableError) as caught:
        read_table(buffer.getvalue(), max_rows=10)
    assert "too large once unpacked" in caught.value.message


def test_past_max_rows_it_stops_and_names_the_first_row_over() -> None:
    text = "A\n" + "".join(f"{n}\n" for n in range(5))
    assert len(read_table(text, max_rows=5).rows) == 5
    with pytest.raises(TooManyRows) as caught:
        read_table(text + "5\n", max_rows=5)
    assert caught.value.row == 7 and caught.value.message == "At most 5 rows per file."


def test_headers_match_whatever_their_case_accents_and_blanks() -> None:
    assert header_key("  RECUPERACIÓN ") == header_key("recuperacion") == "recuperacion"
    assert header_key("\ufeffTipo de  cambio") == "tipo_de_cambio"
    assert header_key("Ley oz/TC") == "ley_oz_tc"
    assert header_key("H2O %") == "h2o"
    assert header_key("Número de documento") == "numero_de_documento"


def test_the_templates_read_back_as_they_were_written() -> None:
    columns = [
        TemplateColumn("Fecha", True, "dd/mm/aaaa", dt.date(2025, 3, 1)),
        TemplateColumn("Número de documento", True, "text", "01234567", text=True),
        TemplateColumn("TMH", True, "number", Decimal("10.25")),
        TemplateColumn("Otros", False, "number"),
    ]
    csv_table = read_table(template_csv(columns), max_rows=1)
    assert csv_table.header == ("Fecha", "Número de documento", "TMH", "Otros")
    assert csv_table.rows[0].cells == ("01/03/2025", "01234567", "10.25", "")
    workbook = template_xlsx(columns, sheet="Liquidaciones")
    xlsx_table = read_table(workbook, max_rows=1, sheet="Liquidaciones")
    assert xlsx_table.rows[0].cells[:3] == (dt.date(2025, 3, 1), "01234567", 10.25)
    guide = read_table(workbook, max_rows=10, sheet="Instrucciones")
    assert guide.header == ("Column", "Required", "Format")
    assert [row.cells[:2] for row in guide.rows] == [
        ("Fecha", "Yes"),
        ("Número de documento", "Yes"),
        ("TMH", "Yes"),
        ("Otros", "No"),
    ]
