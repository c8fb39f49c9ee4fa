"""One queue of reconciliation exceptions for every buyer: oldest first, filtered by buyer, kind, status and
age, resolved from its row with what was done and why (who and when kept, and audited), exported with
its filters.

Personas: Minera Orex and Planta Chala (buyers); Tania (treasury) resolves; Arturo (credit approver)
reads; Nadia (NGO) does not see the queue.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.models import ReconciliationException
from installments.services import remittance_record
from tests.factories import BuyerFactory
from tests.installments import treasury_personas as personas

D = Decimal
QUEUE = reverse("installments:exceptions")


treasurer = personas.treasurer


@pytest.fixture
def chala(db):  # type: ignore[no-untyped-def]
    return BuyerFactory(name="Planta Chala Gold S.A.")


@pytest.fixture
def exceptions(orex, chala, treasurer) -> dict[str, ReconciliationException]:  # type: ignore[no-untyped-def]
    """Orex: a transfer of S/ 500 nobody owed (over, 40 days ago) and a short one (5 days ago); Chala: a
    dollar transfer nobody owed (10 days ago); and an old Orex exception already resolved."""
    today = timezone.localdate()

    def transfer(buyer: Any, reference: str, amount: str, currency: str, days: int) -> ReconciliationException:
        outcome = remittance_record(
            buyer=buyer,
            reference=reference,
            amount=D(amount),
            currency=currency,
            paid_on=today - dt.timedelta(days=days),
            actor=treasurer,
        )
        return outcome.exceptions[0]

    over = transfer(orex, "BCP-OVER", "500.00", "PEN", 40)
    dollars = transfer(chala, "WIRE-USD", "120.00", "USD", 10)
    short = ReconciliationException.objects.create(
        buyer=orex, kind="short", amount=D("80.50"), detected_on=today - dt.timedelta(days=5), detail="Short"
    )
    done = ReconciliationException.objects.create(
        buyer=orex,
        kind="short",
        amount=D("10.00"),
        detected_on=today - dt.timedelta(days=90),
        status="resolved",
        resolved_at=timezone.now(),
        resolution="buyer_remitted",
        resolution_note="Pagó con BCP-9",
    )
    return {"over": over, "dollars": dollars, "short": short, "done": done}


def _queue(client: Any, **filters: Any) -> list[int]:
    response = client.get(QUEUE, filters)
    assert response.status_code == 200
    return [e.pk for e in response.context["page"]]


def test_it_queues_every_buyers_open_exceptions_oldest_first(client, approver, exceptions):
    client.force_login(approver)
    ids = {name: e.pk for name, e in exceptions.items()}

    page = client.get(QUEUE, HTTP_ACCEPT_LANGUAGE="es").content.decode()

    assert _queue(client) == [ids["over"], ids["dollars"], ids["short"]]
    assert "Planta Chala Gold S.A." in page and "Minera Orex S.A.C." in page
    assert "US$ 120.00" in page and "S/ 500.00" in page and "S/ 80.50" in page  # each in its own currency
    assert (
        "BCP-OVER" in page
        and reverse("installments:remittance-detail", args=[exceptions["over"].remittance_id]) in page
    )
    assert "remesa en exceso" in page and "remesa incompleta" in page
    assert 'action="/exceptions/' not in page  # an approver reads; resolving is treasury's


def test_it_filters_the_queue_by_buyer_kind_status_and_age(client, approver, orex, chala, exceptions):
    client.force_login(approver)
    ids = {name: e.pk for name, e in exceptions.items()}

    assert _queue(client, buyer=orex.pk) == [ids["over"], ids["short"]]
    assert _queue(client, buyer=chala.pk) == [ids["dollars"]]
    assert _queue(client, kind="short") == [ids["short"]]
    assert _queue(client, status="resolved") == [ids["done"]]
    assert _queue(client, status="all") == [ids["done"], ids["over"], ids["dollars"], ids["short"]]
    assert _queue(client, age="7") == [ids["over"], ids["dollars"]]
    assert _queue(client, age="30") == [ids["over"]]
    assert _queue(client, age="30", status="all") == [ids["done"], ids["over"]]
    assert _queue(client, kind="nonsense") == [ids["over"], ids["dollars"], ids["short"]]  # a bad filter is ignored


def test_it_resolves_an_exception_from_the_queue_and_goes_back_to_it(client, treasurer, orex, exceptions):
    client.force_login(treasurer)
    over = exceptions["over"]
    back = f"{QUEUE}?buyer={orex.pk}&kind=over"

    response = client.post(
        reverse("installments:exception-resolve", args=[over.pk]),
        {"resolution": "refunded", "note": "Devuelto a Orex, operación 7781", "next": back},
    )

    assert response.status_code == 302 and response["Location"] == back
    over.refresh_from_db()
    assert (over.status, over.resolution, over.resolution_note) == (
        "resolved",
        "refunded",
        "Devuelto a Orex, operación 7781",
    )
    assert over.resolved_by == treasurer and over.resolved_at is not None
    event = AuditEvent.objects.get(action="reconciliation_exception.resolve", object_id=str(over.pk))
    assert event.actor == treasurer and event.before is not None and event.after is not None
    assert (event.before["status"], event.after["status"], event.after["resolution"]) == (
        "open",
        "resolved",
        "refunded",
    )
    assert _queue(client, buyer=orex.pk) == [exceptions["short"].pk]
    page = client.get(QUEUE, {"status": "resolved"}, HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "devuelto al comprador — Devuelto a Orex, operación 7781" in page and "Tania Ríos" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"resolution": "refunded", "note": "  "}, "Indique cómo se resolvió la excepción."),
        ({"resolution": "forgiven", "note": "Perdonado"}, "Elija qué se hizo con la excepción."),
    ],
)
def test_it_keeps_the_exception_open_without_a_resolution_and_a_note(client, treasurer, exceptions, data, message):
    client.force_login(treasurer)
    short = exceptions["short"]

    response = client.post(
        reverse("installments:exception-resolve", args=[short.pk]),
        {**data, "next": QUEUE},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="es",
    )

    short.refresh_from_db()
    assert short.status == "open" and message in response.content.decode()
    assert not AuditEvent.objects.filter(action="reconciliation_exception.resolve").exists()


def test_it_says_so_when_the_exception_was_already_resolved(client, treasurer, exceptions):
    client.force_login(treasurer)

    response = client.post(
        reverse("installments:exception-resolve", args=[exceptions["done"].pk]),
        {"resolution": "other", "note": "Otra vez", "next": QUEUE},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="es",
    )

    exceptions["done"].refresh_from_db()
    assert exceptions["done"].resolution_note == "Pagó con BCP-9"
    assert "Esta excepción ya está resuelta." in response.content.decode()


def test_it_never_sends_the_resolver_off_the_site(client, treasurer, orex, exceptions):
    client.force_login(treasurer)

    response = client.post(
        reverse("installments:exception-resolve", args=[exceptions["short"].pk]),
        {"resolution": "corrected", "note": "Error de digitación", "next": "https://evil.example/"},
    )

    assert response["Location"] == reverse("installments:buyer-detail", args=[orex.pk]) + "#exceptions"


def test_it_lets_only_treasury_loan_officers_and_the_admin_resolve(client, approver, analyst, officer, exceptions):
    url = reverse("installments:exception-resolve", args=[exceptions["short"].pk])
    data = {"resolution": "other", "note": "Revisado"}
    client.force_login(approver)
    assert client.post(url, data).status_code == 403
    client.force_login(analyst)
    assert client.post(url, data).status_code == 403 and client.get(QUEUE).status_code == 403
    exceptions["short"].refresh_from_db()
    assert exceptions["short"].status == "open"

    client.force_login(officer)
    assert client.post(url, data).status_code == 302
    exceptions["short"].refresh_from_db()
    assert exceptions["short"].status == "resolved"


def test_it_exports_the_queue_with_its_filters(client, approver, orex, exceptions):
    from openpyxl import load_workbook

    client.force_login(approver)

    response = client.get(QUEUE, {"buyer": orex.pk, "format": "csv"})
    lines = b"".join(response.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert len(lines) == 3  # the header and Orex's two open exceptions, oldest first
    assert ",Minera Orex S.A.C.," in lines[1] and ",BCP-OVER,PEN,500.00," in lines[1]
    assert ",80.50," in lines[2]

    response = client.get(QUEUE, {"status": "resolved", "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][7] == 10 and rows[1][11] == "Pagó con BCP-9"


def test_it_links_the_dashboard_exceptions_box_to_the_queue(client, officer, exceptions):
    client.force_login(officer)

    page = client.get(reverse("dashboard")).content.decode()

    assert f'href="{QUEUE}"' in page


def test_it_reads_the_queue_in_a_fixed_number_of_queries(client, approver, orex, exceptions):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(approver)

    def queries() -> int:
        with CaptureQueriesContext(connection) as context:
            client.get(QUEUE, {"status": "all"})
        return len(context.captured_queries)

    few = queries()
    for n in range(6):
        ReconciliationException.objects.create(
            buyer=BuyerFactory(), kind="short", amount=D(n), detected_on=timezone.localdate()
        )
    assert queries() == few <= 10
