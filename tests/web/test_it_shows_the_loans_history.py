"""The loan page tells who did what, and when, from the audit trail: the application's steps, the
disbursement, payments, the miner's statement links, with before → after for a change of state, in
Spanish, newest first, a page at a time for a constant number of queries."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from installments.services import payment_record
from notices.links import statement_link_create
from reports.loan_history import PAGE_SIZE

pytestmark = pytest.mark.django_db


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _rows(page: str) -> list[list[str]]:
    """The history table's rows (the cells' text): the loan page's table body, or an htmx page of rows."""
    if 'id="history"' in page:
        page = page.split('id="history"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [
        [_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", page, re.S)
    ]


def _history(client: Client, loan: Any, **query: str) -> str:
    return client.get(reverse("loans:detail", args=[loan.pk]), query).content.decode()


def test_it_tells_who_did_what_newest_first(officer_client: Client, officer: Any, loan: Any) -> None:
    payment_record(loan=loan, amount=Decimal("500.00"), paid_on=loan.disbursed_on, actor=officer, reference="R-77")
    statement_link_create(miner=loan.miner, actor=officer)

    rows = _rows(_history(officer_client, loan))

    assert [(who, what.split(" ·")[0].split(" Estado:")[0]) for _when, who, what in rows] == [
        ("olga.officer", "Enlace al estado de cuenta enviado al minero"),
        ("olga.officer", "Pago registrado"),
        ("olga.officer", "Crédito desembolsado"),
        ("arturo.approver", "Solicitud aprobada"),
        ("olga.officer", "Solicitud enviada a aprobación"),
        ("olga.officer", "Solicitud creada"),
    ]
    assert rows[1][2] == f"Pago registrado · S/ 500.00 · {loan.disbursed_on:%d/%m/%Y} · R-77"
    assert rows[2][2] == f"Crédito desembolsado · S/ 20,000.00 · {loan.disbursed_on:%d/%m/%Y} · {loan.code}"
    assert "Estado: enviada a aprobación → aprobada" in rows[3][2]
    assert "Estado: borrador → enviada a aprobación" in rows[4][2]
    assert re.fullmatch(r"\d\d/\d\d/\d{4} \d\d:\d\d", rows[0][0])


def test_it_tells_of_a_withholding_and_the_void_of_its_settlement(
    officer_client: Client, officer: Any, world: Any, loan: Any
) -> None:
    from installments.models import Withholding
    from installments.services import settlement_post, settlement_void
    from tests.installments.conftest import DOMAIN_LOT

    outcome = settlement_post(
        buyer=world.buyer,
        miner=world.miner,
        actor=officer,
        lot_code="L-HIST-1",
        settled_on=world.today,
        currency="USD",
        exchange_rate=Decimal("3.75"),
        **DOMAIN_LOT,
    )
    withheld = Withholding.objects.get(loan=loan, settlement=outcome.settlement)
    settlement_void(settlement=outcome.settlement, actor=officer, reason="Ley mal digitada")

    rows = _rows(_history(officer_client, loan))
    void, withholding = rows[0][2], rows[1][2]
    assert void.startswith("Liquidación de mineral anulada")
    assert "Estado: registrada → anulada" in void and "Ley mal digitada" in void
    assert withholding == (
        f"Cuota retenida de una liquidación de mineral · S/ {withheld.amount:,.2f} · {world.today:%d/%m/%Y}"
    )
    assert not any(row[2].startswith("Liquidación registrada") for row in rows)  # the post itself is left out


def test_it_shows_another_loans_events_nowhere(
    officer_client: Client, officer: Any, approver: Any, world: Any, loan: Any
) -> None:
    from tests.web.test_it_renders_pages_fast import _more_loans

    _more_loans(world, officer, approver, 1)  # another miner's loan, from the same buyer and product
    assert len(_rows(_history(officer_client, loan))) == 4


def test_it_pages_the_history_for_a_constant_number_of_queries(officer_client: Client, officer: Any, loan: Any) -> None:
    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            officer_client.get(reverse("loans:detail", args=[loan.pk]))
        return len(context.captured_queries)

    payment_record(loan=loan, amount=Decimal("10.00"), paid_on=loan.disbursed_on, actor=officer)
    few = queries()
    for n in range(PAGE_SIZE + 5):
        payment_record(loan=loan, amount=Decimal("10.00"), paid_on=loan.disbursed_on, actor=officer, reference=f"P-{n}")
    assert queries() == few

    first = _history(officer_client, loan)
    assert len(_rows(first)) == PAGE_SIZE + 1  # and the row of the button for more
    more = re.search(r'hx-get="[^"]*\?history_before=(\d+)"', first)
    assert more is not None
    rest = officer_client.get(
        reverse("loans:detail", args=[loan.pk]), {"history_before": more.group(1)}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "<html" not in rest  # the rows only, appended in place
    shown = _rows(first)[:PAGE_SIZE] + _rows(rest)
    # 4 origination events, 26 payments: everything once, the oldest last.
    assert len(shown) == 30 and shown[-1][2] == "Solicitud creada"
    assert len({row[2] for row in shown if row[2].startswith("Pago registrado")}) == 26
    assert "Ver eventos anteriores" not in rest


def test_it_ignores_a_malformed_page_cursor(officer_client: Client, loan: Any) -> None:
    for cursor in ("abc", "9" * 40, "-1", "²"):
        response = officer_client.get(reverse("loans:detail", args=[loan.pk]), {"history_before": cursor})
        assert response.status_code == 200
