"""The servicing personas (Minera Orex, Rosa, Teodoro, the product) for a loan's life beyond the happy path."""

from __future__ import annotations

import pytest

from tests.installments.conftest import orex, product, rosa, teodoro  # noqa: F401
from tests.web.conftest import _web_settings  # noqa: F401 - pages served from the source static files
from tests.web.test_it_walks_an_officer_through_a_loan import browser_page  # noqa: F401


@pytest.fixture
def treasurer(django_user_model):  # type: ignore[no-untyped-def]
    from tests.conftest import _user

    return _user(django_user_model, "tomas.treasury", "treasury")
