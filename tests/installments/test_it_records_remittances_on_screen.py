"""Treasury on screen: a buyer's remittance recorded through the form is matched as the API would match
it, bad input is a form error that changes nothing, a double click records once, and the roles hold.

Personas: Minera Orex withheld S/ 1,373.94 from Rosa on 10/02/2025 and as much from Teodoro on
12/02/2025; Tania works in treasury, Olga is a loan officer, Arturo approves credit, Nadia (NGO) reads
aggregates only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from asmcredit.models import AuditEvent
from installments.models import ReconciliationException, Remittance, RemittanceMatch, Withholding
from tests.factories import BuyerFactory
from tests.installments import treasury_personas as personas
from tests.installments.conftest import disburse

D = Decimal
NEW = reverse("installments:remittance-new")


treasurer, withholdings = personas.treasurer, personas.withholdings


def _form(buyer: Any, **changes: Any) -> dict[str, Any]:
    data = {
        "token": "f" * 32,
        "buyer": buyer.pk,
        "paid_on": "14/02/2025",
        "currency": "PEN",
        "amount": "2000.00",
        "reference": "BCP-001",
        "note": "Transferencia semanal",
    }
    data.update(changes)
    return data


def _outcome(buyer: Any) -> dict[str, Any]:
    """What a remittance left in the books, in the terms a treasurer checks."""
    remittance = Remittance.objects.get(buyer=buyer)
    return {
        "remittance": (remittance.reference, remittance.amount, remittance.currency, remittance.paid_on),
        "unmatched": remittance.unmatched_amount,
        "matches": list(
            RemittanceMatch.objects.filter(remittance=remittance)
            .order_by("withholding__withheld_on")
            .values_list("withholding__settlement__lot_code", "amount")
        ),
        "withholdings": dict(Withholding.objects.filter(buyer=buyer).values_list("settlement__lot_code", "status")),
        "exceptions": list(ReconciliationException.objects.filter(buyer=buyer).values_list("kind", "amount")),
        "audit": list(AuditEvent.objects.filter(action="remittance.record").values_list("object_id", flat=True)),
    }


# --- What the buyer owes, before the amount is typed ----------------------------------------------------


def test_it_shows_the_unremitted_withholdings_oldest_first_before_the_amount(client, treasurer, orex, withholdings):
    client.force_login(treasurer)

    page = client.get(NEW, {"buyer": orex.pk}, HTTP_ACCEPT_LANGUAGE="es").content.decode()

    owed = page[page.index('id="owed"') : page.index('id="id_amount"')]
    assert owed.index("R-1") < owed.index("T-1")  # the order a remittance pays them in
    assert "S/ 2,747.88" in owed and "Rosa Huamán Condori" in owed
    assert 'value="PEN" selected' in page  # the currency of what it owes


def test_it_asks_for_the_buyer_first(client, treasurer, orex, withholdings):
    client.force_login(treasurer)

    page = client.get(NEW).content.decode()

    assert f'<option value="{orex.pk}">{orex.name}</option>' in page and 'id="id_amount"' not in page


# --- One write path -------------------------------------------------------------------------------------


@pytest.mark.parametrize("channel", ["screen", "api"])
def test_it_records_the_same_remittance_on_screen_as_through_the_api(
    client, treasurer, officer, orex, withholdings, channel
):  # type: ignore[no-untyped-def]
    if channel == "screen":
        client.force_login(treasurer)
        response = client.post(NEW, _form(orex))
        remittance = Remittance.objects.get(buyer=orex)
        assert response.status_code == 302
        assert response["Location"] == reverse("installments:remittance-detail", args=[remittance.pk])
    else:
        api = APIClient()
        api.force_authenticate(officer)
        body = {
            "buyer": orex.pk,
            "reference": "BCP-001",
            "amount": "2000.00",
            "currency": "PEN",
            "paid_on": "2025-02-14",
        }
        assert api.post("/api/v1/remittances/", body, format="json").status_code == 201
        remittance = Remittance.objects.get(buyer=orex)

    assert _outcome(orex) == {
        "remittance": ("BCP-001", D("2000.00"), "PEN", dt.date(2025, 2, 14)),
        "unmatched": D("0.00"),
        "matches": [("R-1", D("1373.94")), ("T-1", D("626.06"))],
        "withholdings": {"R-1": "remitted", "T-1": "partial"},
        "exceptions": [],
        "audit": [str(remittance.pk)],
    }


def test_it_shows_what_the_remittance_matched_and_the_exception_it_raised(client, treasurer, orex, withholdings):
    client.force_login(treasurer)

    response = client.post(NEW, _form(orex, amount="3000.00"), follow=True, HTTP_ACCEPT_LANGUAGE="es")

    page = response.content.decode()
    remittance = Remittance.objects.get(buyer=orex)
    assert remittance.note == "Transferencia semanal" and remittance.created_by == treasurer
    assert "Remesa BCP-001 registrada." in page
    assert page.count("S/ 1,373.94") >= 4  # each withholding and what the remittance paid of it
    assert "S/ 252.12" in page and "remesa en exceso" in page  # left unmatched: an over-remittance
    [over] = ReconciliationException.objects.filter(remittance=remittance)
    assert (over.kind, over.amount, over.status) == ("over", D("252.12"), "open")


# --- Bad input is a form error and changes nothing ----------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"amount": "-50.00"}, "amount", "El monto debe ser positivo."),
        ({"amount": "0"}, "amount", "El monto debe ser positivo."),
        ({"amount": "doce"}, "amount", "Ingrese un número."),
        ({"paid_on": "01/01/2999"}, "paid_on", "Esta fecha está en el futuro."),
        ({"paid_on": "31/02/2025"}, "paid_on", "Introduzca una fecha válida."),
        ({"currency": "USD"}, "currency", "no retuvo nada en USD"),
        ({"currency": "EUR"}, "currency", "Escoja una opción válida."),
        ({"reference": "   "}, "reference", "Este campo es requerido."),
    ],
)
def test_it_refuses_bad_input_with_a_form_error_and_changes_nothing(
    client, treasurer, orex, withholdings, changes, field, message
):  # type: ignore[no-untyped-def]
    client.force_login(treasurer)
    audit_rows = AuditEvent.objects.count()

    response = client.post(NEW, _form(orex, **changes), HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert message in response.content.decode()
    assert not Remittance.objects.exists() and AuditEvent.objects.count() == audit_rows


def test_it_refuses_a_bank_reference_already_recorded_for_the_buyer(client, treasurer, orex, withholdings):
    client.force_login(treasurer)
    client.post(NEW, _form(orex, token="first"))

    response = client.post(NEW, _form(orex, token="second", amount="100.00"), HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 400
    assert "Esta referencia bancaria ya fue registrada." in response.context["form"].errors["reference"]
    assert Remittance.objects.get().amount == D("2000.00")


def test_it_refuses_an_unknown_buyer(client, treasurer, orex, withholdings):
    client.force_login(treasurer)

    response = client.post(NEW, {**_form(orex), "buyer": "987654"}, HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 400 and "buyer" in response.context["form"].errors
    assert "Escoja una opción válida" in response.content.decode()
    assert not Remittance.objects.exists()


def test_it_records_a_double_click_once(client, treasurer, orex, withholdings):
    client.force_login(treasurer)

    first = client.post(NEW, _form(orex))
    second = client.post(NEW, _form(orex), HTTP_ACCEPT_LANGUAGE="es")

    remittance = Remittance.objects.get()
    assert first["Location"] == second["Location"] == reverse("installments:remittance-detail", args=[remittance.pk])
    assert AuditEvent.objects.filter(action="remittance.record").count() == 1
    page = client.get(second["Location"], HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "Este formulario ya se envió" in page


# Serialized rollback: the transactional tests after this one (tests/outbox) expect the migrations' rows back.
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_it_records_once_when_a_double_click_posts_the_form_twice_at_the_same_moment(treasurer, orex, withholdings):
    import threading

    from django.db import connection
    from django.test import Client

    start = threading.Barrier(2)
    answers: list[Any] = []

    def post() -> None:
        try:
            client = Client()
            client.force_login(treasurer)
            start.wait()
            answers.append(client.post(NEW, _form(orex)))
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    remittance = Remittance.objects.get()
    detail = reverse("installments:remittance-detail", args=[remittance.pk])
    assert [(answer.status_code, answer["Location"]) for answer in answers] == [(302, detail)] * 2
    assert RemittanceMatch.objects.count() == 2


def test_it_keeps_the_currency_choice_open_for_a_buyer_that_withheld_nothing_yet(client, treasurer, orex):
    client.force_login(treasurer)

    response = client.post(NEW, _form(orex, currency="USD", amount="120.00"))

    assert response.status_code == 302
    [over] = ReconciliationException.objects.all()
    assert (over.kind, over.amount) == ("over", D("120.00"))  # credit for later withholdings


# --- Roles ----------------------------------------------------------------------------------------------


def _pages(remittance: Remittance) -> list[str]:
    return [
        reverse("installments:remittances"),
        reverse("installments:remittance-detail", args=[remittance.pk]),
        reverse("installments:exceptions"),
    ]


def test_it_lets_treasury_record_and_everyone_but_the_ngo_read(
    client, treasurer, officer, approver, analyst, orex, withholdings
):  # type: ignore[no-untyped-def]
    client.force_login(treasurer)
    assert client.get(NEW, {"buyer": orex.pk}).status_code == 200
    client.post(NEW, _form(orex))
    remittance = Remittance.objects.get()
    for user in (treasurer, officer, approver):
        client.force_login(user)
        assert [client.get(url).status_code for url in _pages(remittance)] == [200, 200, 200], user

    client.force_login(approver)
    assert client.get(NEW).status_code == 403
    assert client.post(NEW, _form(orex, token="approver", reference="BCP-002")).status_code == 403
    client.force_login(analyst)
    assert [client.get(url).status_code for url in [NEW, *_pages(remittance)]] == [403, 403, 403, 403]
    assert Remittance.objects.count() == 1


def test_it_keeps_treasury_away_from_the_loan_officers_work(client, treasurer, officer, orex, rosa, product):
    loan = disburse(miner=rosa, product=product, officer=officer, buyer=orex)
    client.force_login(treasurer)

    assert client.get(reverse("dashboard")).status_code == 200
    assert client.get(reverse("installments:buyer-detail", args=[orex.pk])).status_code == 200
    assert client.get(reverse("installments:payment", args=[loan.pk])).status_code == 403


def test_it_links_the_buyer_page_to_the_form(client, treasurer, approver, orex):
    link = f"{NEW}?buyer={orex.pk}"
    client.force_login(treasurer)
    assert link in client.get(reverse("installments:buyer-detail", args=[orex.pk])).content.decode()
    client.force_login(approver)
    assert link not in client.get(reverse("installments:buyer-detail", args=[orex.pk])).content.decode()


# --- The remittances list -------------------------------------------------------------------------------


@pytest.fixture
def remittances(treasurer, orex, withholdings) -> list[Remittance]:  # type: ignore[no-untyped-def]
    """Three Orex transfers (one short of nothing, one over) and one from Chala in dollars."""
    from installments.services import remittance_record

    chala = BuyerFactory(name="Planta Chala Gold S.A.")
    made = [
        remittance_record(buyer=orex, reference=ref, amount=D(amount), currency="PEN", paid_on=day, actor=treasurer)
        for ref, amount, day in (
            ("BCP-001", "1000.00", dt.date(2025, 2, 13)),
            ("BCP-002", "1000.00", dt.date(2025, 2, 14)),
            ("BCP-003", "1000.00", dt.date(2025, 2, 20)),
        )
    ]
    made.append(
        remittance_record(
            buyer=chala,
            reference="WIRE-9",
            amount=D("50.00"),
            currency="USD",
            paid_on=dt.date(2025, 2, 15),
            actor=treasurer,
        )
    )
    return [outcome.remittance for outcome in made]


def _references(client: Any, **filters: Any) -> list[str]:
    response = client.get(reverse("installments:remittances"), filters)
    return [r.reference for r in response.context["page"]]


def test_it_lists_remittances_newest_first_with_their_filters(client, officer, orex, remittances):
    client.force_login(officer)

    assert _references(client) == ["BCP-003", "WIRE-9", "BCP-002", "BCP-001"]
    assert _references(client, buyer=orex.pk) == ["BCP-003", "BCP-002", "BCP-001"]
    assert _references(client, currency="USD") == ["WIRE-9"]
    assert _references(client, paid_from="14/02/2025", paid_to="15/02/2025") == ["WIRE-9", "BCP-002"]
    # 1,000 + 1,000 pay 2,747.88 but the third: 747.88 of it; 252.12 left over. Chala owes nothing.
    assert _references(client, status="unmatched") == ["BCP-003", "WIRE-9"]
    assert _references(client, status="reconciled") == ["BCP-002", "BCP-001"]
    assert _references(client, status="exceptions") == ["BCP-003", "WIRE-9"]
    assert _references(client, paid_from="no es fecha") == ["BCP-003", "WIRE-9", "BCP-002", "BCP-001"]


def test_it_exports_the_filtered_remittances(client, officer, orex, remittances):
    import io

    from openpyxl import load_workbook

    client.force_login(officer)
    url = reverse("installments:remittances")

    response = client.get(url, {"buyer": orex.pk, "status": "unmatched", "format": "csv"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    lines = text.strip().splitlines()
    assert len(lines) == 2 and lines[1].startswith("2025-02-20,Minera Orex S.A.C.,")
    assert ",BCP-003,PEN,1000.00,747.88,252.12,1," in lines[1]

    response = client.get(url, {"currency": "USD", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and (rows[1][3], rows[1][4], rows[1][5]) == ("WIRE-9", "USD", 50)


def test_it_shows_a_remittance_page_with_its_matches(client, officer, orex, remittances, withholdings):
    client.force_login(officer)

    page = client.get(
        reverse("installments:remittance-detail", args=[remittances[1].pk]), HTTP_ACCEPT_LANGUAGE="es"
    ).content.decode()

    assert "BCP-002" in page and "R-1" in page and "T-1" in page  # 373.94 of Rosa's, 626.06 of Teodoro's
    assert "S/ 373.94" in page and "S/ 626.06" in page and "totalmente conciliada" in page


# --- Query budgets --------------------------------------------------------------------------------------


def _queries(client: Any, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200
    return len(context.captured_queries)


def test_it_reads_the_lists_in_a_fixed_number_of_queries(client, officer, treasurer, orex, withholdings):
    from installments.services import remittance_record

    client.force_login(officer)
    urls = [
        reverse("installments:remittances"),
        reverse("installments:exceptions") + "?status=all",
        f"{NEW}?buyer={orex.pk}",
    ]
    remittance_record(
        buyer=orex, reference="R-0", amount=D("3000.00"), currency="PEN", paid_on=dt.date(2025, 2, 14), actor=treasurer
    )
    one = {url: _queries(client, url) for url in urls}
    for n in range(1, 6):
        remittance_record(
            buyer=BuyerFactory(),
            reference=f"R-{n}",
            amount=D("10"),
            currency="PEN",
            paid_on=dt.date(2025, 2, 14),
            actor=treasurer,
        )
    many = {url: _queries(client, url) for url in urls}

    assert many == one
    # Session, user, roles, the buyer link, the rows (or the owed figures), the filters' buyers, the session save.
    assert [count <= budget for count, budget in zip(one.values(), [10, 10, 11], strict=True)] == [True] * 3, one
