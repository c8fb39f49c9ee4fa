"""Disbursement: an approved application becomes a loan with its cronograma and its disbursement."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied

from asmcredit.errors import TransitionError
from asmcredit.models import AuditEvent
from installments.models import LoanTransaction, ScheduleLine
from installments.services import loan_disburse
from loans.models import LoanApplication
from tests.factories import EquipmentFactory
from tests.installments.conftest import disburse, make_product, orex, product, rosa  # noqa: F401

D = Decimal


def test_it_disburses_an_approved_application_with_its_cronograma(officer, rosa, product):  # noqa: F811
    loan = disburse(miner=rosa, product=product, officer=officer)

    assert loan.code == f"AC-2025-{loan.pk:06d}"
    assert (loan.principal, loan.installment_amount, loan.payee) == (D("10000.00"), D("1840.40"), "miner")
    assert loan.application.status == LoanApplication.Status.DISBURSED
    lines = ScheduleLine.objects.filter(loan=loan, version=1, is_current=True).order_by("number")
    assert [line.interest for line in lines][:3] == [D("313.24"), D("224.66"), D("201.58")]
    assert sum(line.principal for line in lines) == D("10000.00")
    disbursement = LoanTransaction.objects.get(loan=loan)
    assert (disbursement.kind, disbursement.amount, disbursement.value_date) == (
        "disbursement",
        D("10000.00"),
        dt.date(2025, 1, 15),
    )
    assert AuditEvent.objects.filter(action="loan.disburse", object_id=str(loan.pk)).exists()
    assert loan.outstanding_principal == D("10000.00")


def test_it_pays_an_equipment_loan_to_the_supplier_not_the_miner(officer, rosa):  # noqa: F811
    equipment = EquipmentFactory(price=D("12000.00"))
    equipment_product = make_product(code="equipo", requires_equipment=True)

    loan = disburse(miner=rosa, product=equipment_product, officer=officer, equipment=equipment)

    assert (loan.payee, loan.payee_supplier) == ("supplier", equipment.supplier)


def test_it_refuses_to_disburse_twice_or_by_the_wrong_role(officer, analyst, rosa, product):  # noqa: F811
    loan = disburse(miner=rosa, product=product, officer=officer)

    with pytest.raises(TransitionError):
        loan_disburse(application=loan.application, actor=officer)
    with pytest.raises(PermissionDenied):
        loan_disburse(application=loan.application, actor=analyst)
