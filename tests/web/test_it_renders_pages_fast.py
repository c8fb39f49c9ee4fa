"""Pages cost a fixed number of queries however many rows they show (no N+1). (How fast they render is
measured in bench/, not asserted here: a wall-clock limit fails on a busy machine, not on slow code.)"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from installments.services import loan_disburse
from loans.services import application_approve, application_create, application_submit
from tests.factories import MinerFactory, RelationshipFactory

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
        *_filtered_urls(world, loan),
    ]


def _filtered_urls(world, loan):  # type: ignore[no-untyped-def]
    """Every list with its filters and searches (issue #16: constant queries, whatever the book)."""
    miners, loans, applications, buyers = (
        reverse("miners:list"),
        reverse("loans:list"),
        reverse("loans:applications"),
        reverse("installments:buyers"),
    )
    portfolio = f"buyer={world.buyer.pk}&region=04&product={world.product.pk}&officer={loan.application.prepared_by_id}"
    return [
        f"{miners}?q=quispe",
        f"{miners}?q=QUISPÉ+mamani",
        f"{miners}?q={world.miner.document_number}",
        f"{miners}?region=04&buyer={world.buyer.pk}",
        f"{loans}?{portfolio}&category=normal&late=on",
        f"{loans}?q=quispe",
        f"{loans}?q={loan.code}",
        f"{loans}?status=all",
        f"{applications}?{portfolio}&status=disbursed",
        f"{buyers}?region=04&kind=mining_company&q=minera",
    ]


# Every signed-in request saves the session once, which renews its idle timeout (SESSION_SAVE_EVERY_REQUEST).
SESSION_SAVE = 1


# The lists: session, user, roles, the filter bar's choices (buyers, products, officers; associations and
# buyers on the miners list), the page of rows with what it shows per row as subqueries, the nav.
@pytest.mark.parametrize(
    ("url_name", "limit"),
    [
        ("dashboard", 22),
        ("miners:list", 9),
        ("loans:list", 10),
        ("loans:applications", 10),
        ("installments:buyers", 7),
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
        # + the miner's messages and live statement links, and the miner's documents.
        (reverse("miners:detail", args=[world.miner.pk]), 17),
        # + the replay behind the payoff quote and how each payment was applied (entries, cronograma),
        # the messages to the miner, and its collateral.
        (reverse("loans:detail", args=[loan.pk]), 17),
        (reverse("loans:application-detail", args=[loan.application_id]), 12),
        (reverse("installments:buyer-detail", args=[world.buyer.pk]), 14),
        # + the payoff quote's replay (entries, cronograma).
        (reverse("installments:payment", args=[loan.pk]), 10),
    ]:
        with django_assert_max_num_queries(limit + SESSION_SAVE):
            response = officer_client.get(url)
        assert response.status_code == 200, url


def test_it_keeps_filtered_and_searched_lists_within_a_query_budget(
    officer_client, world, loan, django_assert_max_num_queries
) -> None:  # type: ignore[no-untyped-def]
    for url in _filtered_urls(world, loan):
        # + one query: the borrowers with that document, looked up before the loans.
        limit = 11 if "/loans/?q=" in url else 10
        with django_assert_max_num_queries(limit + SESSION_SAVE):
            response = officer_client.get(url)
        assert response.status_code == 200, url


def test_a_following_page_costs_what_the_first_does(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    MinerFactory.create_batch(30)
    url = reverse("miners:list")
    first = officer_client.get(url, {"region": "04"}).content.decode()
    following = re.search(r'href="\?([^"]+)" rel="next"', first)
    assert following is not None, "the list has a next page"
    next_url = f"{url}?{following.group(1).replace('&amp;', '&')}"
    assert "after=" in next_url
    assert _queries(officer_client, next_url) == _queries(officer_client, f"{url}?region=04")
