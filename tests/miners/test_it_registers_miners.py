"""Registering and editing a miner: validated identifiers, an audited change, a supplier relationship."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from asmcredit.models import AuditEvent
from buyers.models import SupplierRelationship
from buyers.services import relationship_add
from miners.imports import miner_create, miner_update
from tests.factories import BuyerFactory

pytestmark = pytest.mark.django_db

ROSA = {
    "first_names": "Rosa",
    "last_names": "Huamán Quispe",
    "document_type": "DNI",
    "document_number": " 4123 4567 ",
    "gender": "F",
    "ubigeo": "040112",
}


def test_it_registers_a_miner_with_a_normalized_document(officer) -> None:  # type: ignore[no-untyped-def]
    miner = miner_create(actor=officer, **ROSA)
    assert miner.document_number == "41234567"
    assert AuditEvent.objects.filter(action="miner.create", object_id=str(miner.pk)).exists()


def test_it_refuses_a_wrong_ruc_check_digit(officer) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        miner_create(actor=officer, **ROSA, ruc="10412345670")
    assert "ruc" in exc.value.message_dict


def test_it_refuses_a_second_miner_with_the_same_dni(officer) -> None:  # type: ignore[no-untyped-def]
    miner_create(actor=officer, **ROSA)
    with pytest.raises(ValidationError):
        miner_create(actor=officer, **{**ROSA, "first_names": "Otra"})


def test_it_audits_an_edit_with_before_and_after(officer) -> None:  # type: ignore[no-untyped-def]
    miner = miner_create(actor=officer, **ROSA)
    miner_update(miner=miner, actor=officer, phone="987654321")
    event = AuditEvent.objects.get(action="miner.update")
    assert event.before is not None and event.after is not None
    assert event.before["phone"] == "" and event.after["phone"] == "987654321"


def test_it_records_the_buyer_a_miner_sells_to_once(officer) -> None:  # type: ignore[no-untyped-def]
    miner = miner_create(actor=officer, **ROSA)
    buyer = BuyerFactory()
    relationship_add(miner=miner, buyer=buyer, since=dt.date(2023, 5, 1), actor=officer)
    assert SupplierRelationship.objects.get(miner=miner).buyer == buyer
    with pytest.raises(ValidationError):
        relationship_add(miner=miner, buyer=buyer, since=dt.date(2023, 5, 1), actor=officer)


def test_it_leaves_registration_to_loan_officers(approver, analyst) -> None:  # type: ignore[no-untyped-def]
    for user in (approver, analyst):
        with pytest.raises(PermissionDenied):
            miner_create(actor=user, **ROSA)
