"""Approval controls (DOMAIN.md §7): personas beyond the shared ones, and an application to decide.

Olga (officer) prepares; Arturo (credit approver) and Beatriz (another approver) decide; Lucía (lender
admin) holds every role, so she is the one who could edit, approve and disburse the same loan."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from loans.models import LoanApplication
from loans.services import application_create
from tests.factories import LoanProductFactory, RelationshipFactory


def api_client(user: Any) -> APIClient:
    # Authentication has its own tests; these are about who may do what.
    client = APIClient()
    client.force_authenticate(user=user)
    return client


@pytest.fixture
def beatriz(django_user_model):  # type: ignore[no-untyped-def]
    """A second credit approver, who never touched the application."""
    from django.contrib.auth.models import Group

    user = django_user_model.objects.create_user(username="beatriz.approver", password="correct-horse-battery-9")
    user.groups.add(Group.objects.get_or_create(name="credit_approver")[0])
    return user


@pytest.fixture
def draft(officer) -> LoanApplication:  # type: ignore[no-untyped-def]
    """S/ 5,000 over 6 months, prepared by Olga today."""
    today = timezone.localdate()
    relationship = RelationshipFactory()
    return application_create(
        miner=relationship.miner,
        withholding_buyer=relationship.buyer,
        product=LoanProductFactory(),
        amount=Decimal("5000.00"),
        term=6,
        disbursement_date=today,
        first_due_on=today + dt.timedelta(days=31),
        prepared_by=officer,
    )
