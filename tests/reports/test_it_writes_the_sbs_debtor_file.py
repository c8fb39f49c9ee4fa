"""The monthly debtor report in the RCD / Anexo 6 shape (issue #14 item 6, DOMAIN.md §9).

The book is the report fixture (tests/reports/conftest.py) rated by the real nightly rating as of
2025-06-30. Worked by hand for that day:
- Rosa (DOMAIN.md §3's loan, 4 of 6 installments withheld, the 5th due 06-16 unpaid): 14 dpd, CPP,
  principal left 10,000.00 − (4 × 1,838.45 − 874.64 of interest) = 3,520.84 → 1411 vigentes in soles;
- Mario (20,000.00, never paid, first due 04-10): 81 dpd, Dudoso → 1415 vencidos;
- Pedro (5,000.00 from 2024, never paid): 364 dpd, Pérdida → 1415 vencidos (his 2024 loan is paid off);
- Juana (3,000.00, first installment paid on its day): Normal → 1411 vigentes.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from installments.models import LoanRating
from installments.services import portfolio_rate
from lifecycle.models import WriteOff
from reports.regulatory import fixed_width, rcd
from reports.regulatory.models import LayoutField, RegulatoryFile, ReportLayout
from reports.regulatory.services import regulatory_files_generate
from tests.reports.conftest import AS_OF, pay_installments

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def rated(portfolio):
    portfolio_rate(as_of=AS_OF)
    return portfolio


def _lines(content: bytes) -> list[str]:
    text = content.decode("latin-1")
    assert text.endswith("\r\n")
    return text[:-2].split("\r\n")


def _juana_balance(rated) -> Decimal:
    return LoanRating.objects.get(loan=rated.juana_loan, as_of=AS_OF).outstanding_principal


def test_it_writes_a_header_debtors_balances_and_totals_that_tie(rated, approver):
    (kept,) = regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver)
    lines = _lines(kept.content.read())
    juana = _juana_balance(rated)

    assert lines[0] == "0" + "06" + "00000" + "20250630" + "000000004" + "000000008"
    debtors = [line for line in lines if line[0] == "1"]
    balances = [line for line in lines if line[0] == "2"]
    totals = [line for line in lines if line[0] == "9"]
    assert (len(debtors), len(balances), len(totals)) == (4, 4, 2)
    assert {len(line) for line in debtors} == {164} and {len(line) for line in balances} == {56}

    # Rosa: DNI (1) 41234567, female (2), CPP before and after alignment (1), a micro debtor (1).
    (rosa,) = [line for line in debtors if line[11:23].strip() == "41234567"]
    assert rosa[10] == "1" and rosa[34:94].strip() == "HUAMÁN QUISPE" and rosa[94:154].strip() == "ROSA"
    assert rosa[154:158] == "2111"
    rosa_seq = rosa[1:10]
    (rosa_balance,) = [line for line in balances if line[1:10] == rosa_seq]
    assert rosa_balance[10:14] == "0001"  # branch (setting)
    assert rosa_balance[20:34].strip() == "1411"
    assert rosa_balance[34:36] == "10"  # microempresa
    assert rosa_balance[36:51] == "000000000352084"  # S/ 3,520.84 in céntimos
    assert rosa_balance[51:56] == "00014"

    assert totals == [
        "9" + "1411".ljust(14) + "000000002" + str(int((Decimal("3520.84") + juana) * 100)).rjust(18, "0"),
        "9" + "1415".ljust(14) + "000000002" + "2500000".rjust(18, "0"),
    ]
    assert kept.record_counts == {"debtors": 4, "balances": 4, "by_account": {"1411": 2, "1415": 2}}
    assert kept.totals == {"1411": str(Decimal("3520.84") + juana), "1415": "25000.00"}
    assert kept.layout_version == "1" and kept.generated_by == approver and kept.same_as_previous is None


def test_it_regenerates_the_same_bytes_after_later_payments(rated, approver):
    (first,) = regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver)
    # July: Rosa pays her overdue installment, Mario his first one: today's book changes, 06-30's does not.
    pay_installments(rated.rosa_loan, 1, dt.date(2025, 7, 5))
    pay_installments(rated.mario_loan, 1, dt.date(2025, 7, 6))
    portfolio_rate(as_of=dt.date(2025, 7, 31))

    (again,) = regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver)
    assert again.content.read() == first.content.read()
    assert again.sha256 == first.sha256 and again.previous == first and again.same_as_previous is True


def test_it_leaves_out_loans_written_off_by_the_cutoff(rated, approver, officer):
    WriteOff.objects.create(
        loan=rated.pedro_loan,
        reason="Pérdida, sin contacto",
        status=WriteOff.Status.APPROVED,
        requested_by=officer,
        decided_by=approver,
        written_off_on=AS_OF,
    )
    (kept,) = regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver)
    assert kept.record_counts["debtors"] == 3 and kept.totals["1415"] == "20000.00"


def test_it_refuses_a_file_that_does_not_tie_to_the_ledger(rated, approver):
    from reports.regulatory import book

    def ledger_a_centimo_off(*, as_of, currency):
        balances = book.account_balances(as_of=as_of, currency=currency)
        if currency == "PEN":
            balances["1405"] += Decimal("0.01")
        return balances

    with pytest.raises(rcd.TieOutError) as refused:
        regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver, account_balances=ledger_a_centimo_off)
    assert refused.value.differences == [
        "1415: the file has 2 records, 25,000.00; the ledger has 2 records, 25,000.01."
    ]
    assert not RegulatoryFile.objects.exists()


def test_it_refuses_a_file_whose_totals_record_was_tampered_with(rated):
    generated = rcd.rcd_build(cutoff=AS_OF)
    assert rcd.rcd_validate(content=generated.content, layout=generated.layout, cutoff=AS_OF) == []
    lines = _lines(generated.content)
    last = lines[-1]
    assert last.startswith("91415")
    lines[-1] = last[:-1] + "1"  # 25,000.00 → 25,000.01
    tampered = ("\r\n".join(lines) + "\r\n").encode("latin-1")

    differences = rcd.rcd_validate(content=tampered, layout=generated.layout, cutoff=AS_OF)
    assert differences == [
        "1415: the totals record says 2 records, 25,000.01; the balance records add up to 2 records, 25,000.00."
    ]


def test_a_new_layout_version_changes_the_file_as_data(rated, approver):
    first = ReportLayout.objects.get(kind="rcd", version="1")
    fields = list(first.fields.all())
    second = ReportLayout.objects.create(
        kind="rcd",
        version="2",
        effective_from=dt.date(2025, 6, 1),
        report_code="06",
        codes=first.codes,
    )
    for field in fields:
        field.pk, field.layout = None, second
        if field.record_type == "balance" and field.source_key == "balance":
            field.width = 20  # wider balance
        if field.record_type == "balance" and field.source_key == "dpd":
            field.position = 57  # moves after it
    LayoutField.objects.bulk_create(fields)

    (kept,) = regulatory_files_generate(kind="rcd", cutoff=AS_OF, actor=approver)
    balances = [line for line in _lines(kept.content.read()) if line[0] == "2"]
    assert {len(line) for line in balances} == {61}
    rosa = [line for line in balances if line[36:56] == "352084".rjust(20, "0")]
    assert len(rosa) == 1 and rosa[0][56:61] == "00014"
    assert kept.layout_version == "2"
    # The layout in force before 2025-06-01 is still version 1.
    assert ReportLayout.in_force(kind="rcd", on=dt.date(2025, 5, 31)) == first


def test_a_layout_whose_fields_overlap_is_refused(rated):
    layout = ReportLayout.objects.get(kind="rcd", version="1")
    LayoutField.objects.filter(layout=layout, record_type="balance", source_key="dpd").update(position=50)
    with pytest.raises(fixed_width.LayoutError, match="dpd overlaps|Días de atraso overlaps"):
        rcd.rcd_build(cutoff=AS_OF)


def test_it_refuses_a_cutoff_without_a_rating(portfolio):
    with pytest.raises(LookupError, match="No rating run is recorded for 2025-06-29"):
        rcd.rcd_generate(cutoff=dt.date(2025, 6, 29))
