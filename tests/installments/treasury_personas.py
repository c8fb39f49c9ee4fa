"""The treasury tests' people and book, shared by the screen, queue and browser tests: Tania, who works in
treasury, and Minera Orex's two withholdings of S/ 1,373.94 (Rosa's on 10/02/2025, Teodoro's on 12/02/2025,
from ``test_it_reconciles_remittances``). A test module binds what it uses to a name of its own
(``treasurer = personas.treasurer``) for pytest to find."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from tests.installments import conftest as servicing
from tests.installments import test_it_reconciles_remittances as reconciliation

withholdings = reconciliation.withholdings
orex, rosa, teodoro, product = servicing.orex, servicing.rosa, servicing.teodoro, servicing.product


@pytest.fixture
def treasurer(django_user_model):  # type: ignore[no-untyped-def]
    user = django_user_model.objects.create_user(
        username="tania.treasury", password="correct-horse-battery-9", first_name="Tania", last_name="Ríos"
    )
    user.groups.add(Group.objects.get_or_create(name="treasury")[0])
    return user
