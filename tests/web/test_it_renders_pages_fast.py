"""Pages cost a fixed number of queries however many rows they show (no N+1). (How fast they render is
measured in bench/, not asserted here: a wall-clock limit fails on a busy machine, not on slow code.)"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from installments.services import loan_disburse
from loans.services import application_approve, application_create, application_submit
from tests.factories import RelationshipFactory

pytestmark = pytest.mark.django_db


def _more_loans(world, officer, approver, n: int) -> None:  # type: ignore[no-untyped-def]
    for _ in range(n):
        relationship: Any = RelationshipFactory(buyer=world.buyer, since=dt.date(2022, 1, 1))
        miner = relationship.miner
        application = application_create(
            miner=miner,
            product=world.product,
            amount=Decimal("15000"),
            term=12,
            disbursement_date=world.today,
            first_due_on=world.today + dt.timedelta(days=31),
            prepared_by=officer,
            equipment=world.equipment,
            withholding_buyer=world.buyer,
        )
        application_submit(application=application, actor=officer)
        application_approve(application=application, approver=approver)
        loan_disburse(application=application, actor=officer)


def _queries(client, url: str) -> int:  # type: ignore[no-untyped-def]
    with CaptureQueriesContext(connection) as context:
        assert client.get(url).status_code == 200, url
    return len(context.captured_queries)


def _urls(world, loan):  # type: ignore[no-untyped-def]
    return [
        reverse("dashboard"),
        reverse("miners:list"),
        reverse("miners:detail", args=[world.miner.pk]),
        reverse("loans:list"),
        reverse("loans:detail", args=[loan.pk]),
        reverse("loans:applications"),
        reverse("loans:application-detail", args=[loan.application_id]),
        reverse("installments:buyers"),
        reverse("installments:buyer-detail", args=[world.buyer.pk]),
    ]


def test_it_costs_the_same_queries_for_one_loan_or_many(client, world, loan, officer, approver) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    before = {url: _queries(client, url) for url in _urls(world, loan)}
    _more_loans(world, officer, approver, 4)
    after = {url: _queries(client, url) for url in _urls(world, loan)}
    assert after == before


# Every signed-in request saves the session once, which renews its idle timeout (SESSION_SAVE_EVERY_REQUEST).
SESSION_SAVE = 1


@pytest.mark.parametrize(
    ("url_name", "limit"),
    [
        ("dashboard", 45),
        ("miners:list", 8),
        ("loans:list", 8),
        ("loans:applications", 8),
        ("installments:buyers", 8),
    ],
)
def test_it_keeps_list_pages_within_a_query_budget(
    officer_client, loan, url_name, limit, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    with django_assert_max_num_queries(limit + SESSION_SAVE):
        response = officer_client.get(reverse(url_name))
    assert response.status_code == 200, url_name


def test_it_keeps_detail_pages_within_a_query_budget(
    officer_client, world, loan, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for url, limit in [
        # + the miner's messages and live statement links.
        (reverse("miners:detail", args=[world.miner.pk]), 16),
        # + the replay behind the payoff quote and how each payment was applied (entries, cronograma),
        # and the messages to the miner.
        (reverse("loans:detail", args=[loan.pk]), 16),
        (reverse("loans:application-detail", args=[loan.application_id]), 12),
        (reverse("installments:buyer-detail", args=[world.buyer.pk]), 14),
        # + the payoff quote's replay (entries, cronograma).
        (reverse("installments:payment", args=[loan.pk]), 10),
    ]:
        with django_assert_max_num_queries(limit + SESSION_SAVE):
            response = officer_client.get(url)
        assert response.status_code == 200, url
