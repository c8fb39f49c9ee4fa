"""``GET|POST /api/v1/loans/{id}/collateral/`` and ``PATCH /api/v1/collateral/{id}/``: an officer records
an equipment pledge and later its registration and release; bad input is a 400 naming every bad field
and changes nothing; roles and states are refused in the API's JSON error shape; every change is
audited before → after and shows in the loan's history."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from asmcredit.models import AuditEvent
from installments.services import payment_record, payoff_quote
from loans.models import Collateral, Loan
from reports.loan_history import loan_history
from tests.api.conftest import token_client
from tests.factories import EquipmentFactory, MinerFactory
from tests.installments.conftest import disburse, make_product

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def loan(officer) -> Loan:  # type: ignore[no-untyped-def]
    equipment = EquipmentFactory(price=D("20000.00"), name="Concentrador centrífugo Knelson")
    return disburse(
        miner=MinerFactory(),
        product=make_product(code="equipo", requires_equipment=True),
        officer=officer,
        amount=D("20000.00"),
        equipment=equipment,
    )


def pledge_body(loan: Loan, **more: Any) -> dict[str, Any]:
    return {
        "description": "Concentrador centrífugo Knelson KC-MD3, serie 2231",
        "equipment": loan.equipment_id,
        "appraised_value": "18500.00",
        "appraised_on": "2025-01-20",
        "insurer": "Rímac Seguros",
        "policy_number": "POL-778812",
        "policy_expires_on": "2026-01-20",
        **more,
    }


def url(loan: Loan) -> str:
    return f"/api/v1/loans/{loan.pk}/collateral/"


def test_an_officer_records_a_pledge_then_its_registration_and_release(officer, loan) -> None:  # type: ignore[no-untyped-def]
    client = token_client(officer)

    created = client.post(url(loan), pledge_body(loan), format="json")

    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["loan_code"], body["currency"], body["appraised_value"]) == (loan.code, "PEN", "18500.00")
    assert (body["registry_entry"], body["registered_on"], body["is_registered"]) == ("", None, False)
    assert body["recorded_by"] == officer.username
    listed = client.get(url(loan)).json()
    assert [row["id"] for row in listed] == [body["id"]]

    registered = client.patch(
        f"/api/v1/collateral/{body['id']}/",
        {"registry_entry": "RMC-2025-004512", "registered_on": "2025-02-03"},
        format="json",
    )
    assert registered.status_code == 200, registered.json()
    assert registered.json()["is_registered"] is True

    today = timezone.localdate().isoformat()
    released = client.patch(f"/api/v1/collateral/{body['id']}/", {"released_on": today}, format="json")
    assert (released.status_code, released.json()["is_registered"]) == (200, False)

    events = list(AuditEvent.objects.filter(object_type="loans.Collateral", object_id=str(body["id"])).order_by("id"))
    assert [e.action for e in events] == ["collateral.add", "collateral.update", "collateral.update"]
    assert events[0].before is None and events[0].after is not None
    assert events[0].after["appraised_value"] == "18500.00"
    assert (events[1].before or {})["registry_entry"] == ""
    assert (events[1].after or {})["registry_entry"] == "RMC-2025-004512"
    assert ((events[2].before or {})["released_on"], (events[2].after or {})["released_on"]) == (None, today)

    history = loan_history(loan=loan).items
    assert [item.label for item in history[:3]] == ["Collateral changed", "Collateral changed", "Collateral recorded"]
    release = {change.label: (change.before, change.after) for change in history[0].changes}
    assert release == {"released on": (None, timezone.localdate())}
    assert (history[2].amount, history[2].note) == (D("18500.00"), "Concentrador centrífugo Knelson KC-MD3, serie 2231")


def test_bad_input_is_a_400_naming_every_field_and_records_nothing(officer, loan) -> None:  # type: ignore[no-untyped-def]
    client = token_client(officer)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    other = EquipmentFactory.create()

    answer = client.post(
        url(loan),
        pledge_body(
            loan,
            description="   ",
            equipment=other.pk,
            registry_entry="RMC-1",
            appraised_on=tomorrow,
            policy_number="POL-2",
            policy_expires_on=None,
        ),
        format="json",
    )

    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"description", "equipment", "registered_on", "appraised_on", "policy_expires_on"}
    assert error["fields"]["registered_on"] == ["A registration needs both the registry entry number and its date."]
    assert error["fields"]["equipment"] == ["Only the equipment this loan financed can be linked."]
    assert not Collateral.objects.exists()
    assert not AuditEvent.objects.filter(object_type="loans.Collateral").exists()

    negative = client.post(url(loan), pledge_body(loan, appraised_value="-5"), format="json")
    assert (negative.status_code, list(negative.json()["error"]["fields"])) == (400, ["appraised_value"])


def test_a_registry_entry_secures_one_loan_only(officer, loan) -> None:  # type: ignore[no-untyped-def]
    client = token_client(officer)
    registered = {"registry_entry": "RMC-2025-000007", "registered_on": "2025-02-03"}
    assert client.post(url(loan), pledge_body(loan, **registered), format="json").status_code == 201
    other = disburse(miner=MinerFactory(), product=make_product(code="capital"), officer=officer)

    answer = client.post(url(other), pledge_body(other, equipment=None, **registered), format="json")

    assert answer.status_code == 400
    assert answer.json()["error"]["fields"] == {
        "registry_entry": ["This registry entry is already recorded as collateral of another loan."]
    }


def test_roles_states_and_unknown_loans_are_refused_as_json(officer, analyst, approver, loan) -> None:  # type: ignore[no-untyped-def]
    denied = token_client(analyst).post(url(loan), pledge_body(loan), format="json")
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "permission_denied")
    assert token_client(analyst).get(url(loan)).status_code == 200  # the NGO reads

    # The credit committee records collateral too.
    assert token_client(approver).post(url(loan), pledge_body(loan), format="json").status_code == 201

    missing = token_client(officer).get("/api/v1/loans/99999999/collateral/")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "not_found")

    payment_record(
        loan=loan,
        amount=payoff_quote(loan=loan, on=timezone.localdate()).total,
        paid_on=timezone.localdate(),
        actor=officer,
    )
    closed = token_client(officer).post(url(loan), pledge_body(loan), format="json")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "invalid_transition")

    first = Collateral.objects.get()
    release_early = token_client(officer).patch(
        f"/api/v1/collateral/{first.pk}/",
        {"registry_entry": "RMC-9", "registered_on": "2025-03-01", "released_on": "2025-02-01"},
        format="json",
    )
    assert release_early.json()["error"]["fields"] == {
        "released_on": ["The pledge cannot be released before it was registered."]
    }
    first.refresh_from_db()
    assert (first.registry_entry, first.released_on) == ("", None)
