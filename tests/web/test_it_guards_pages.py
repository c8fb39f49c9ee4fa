"""Every page checks roles: a forbidden action is not shown, and refused when forced."""

from __future__ import annotations

import pytest
from django.urls import reverse

from loans.models import LoanApplication

pytestmark = pytest.mark.django_db


def _pages(world, application, loan):  # type: ignore[no-untyped-def]
    return [
        reverse("dashboard"),
        reverse("miners:list"),
        reverse("miners:detail", args=[world.miner.pk]),
        reverse("loans:list"),
        reverse("loans:detail", args=[loan.pk]),
        reverse("loans:applications"),
        reverse("loans:application-detail", args=[application.pk]),
        reverse("installments:buyers"),
        reverse("installments:buyer-detail", args=[world.buyer.pk]),
    ]


def test_it_sends_anonymous_visitors_to_the_login_page(client, world, application, loan) -> None:  # type: ignore[no-untyped-def]
    for url in _pages(world, application, loan):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("persona", ["officer", "approver", "analyst", "admin_user"])
def test_it_shows_the_read_pages_to_every_role(request, client, persona, world, application, loan) -> None:  # type: ignore[no-untyped-def]
    client.force_login(request.getfixturevalue(persona))
    for url in _pages(world, application, loan):
        assert client.get(url).status_code == 200, url


def test_it_refuses_a_user_without_a_role(client, django_user_model, world) -> None:  # type: ignore[no-untyped-def]
    client.force_login(django_user_model.objects.create_user("nobody", password="x-long-password-1"))
    assert client.get(reverse("dashboard")).status_code == 403
    assert client.get(reverse("miners:list")).status_code == 403


@pytest.mark.parametrize(
    "url_name", ["miners:create", "miners:import", "miners:import-settlements", "loans:application-create"]
)
def test_it_refuses_officer_pages_to_approvers_and_analysts(approver, analyst, client, url_name) -> None:  # type: ignore[no-untyped-def]
    for user in (approver, analyst):
        client.force_login(user)
        assert client.get(reverse(url_name)).status_code == 403
        assert client.post(reverse(url_name), {}).status_code == 403


def test_it_hides_and_refuses_the_decision_to_the_officer(officer_client, application, officer) -> None:  # type: ignore[no-untyped-def]
    from loans.services import application_submit

    application_submit(application=application, actor=officer)
    page = officer_client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()
    assert 'value="approve"' not in page
    response = officer_client.post(reverse("loans:application-decide", args=[application.pk]), {"decision": "approve"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.SUBMITTED


def test_it_refuses_the_decision_to_whoever_prepared_it(client, admin_user, world) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt
    from decimal import Decimal

    from loans.services import application_create, application_submit

    application = application_create(
        miner=world.miner,
        product=world.product,
        amount=Decimal("20000"),
        term=12,
        disbursement_date=world.today,
        first_due_on=world.today + dt.timedelta(days=31),
        prepared_by=admin_user,
        equipment=world.equipment,
        withholding_buyer=world.buyer,
    )
    application_submit(application=application, actor=admin_user)
    client.force_login(admin_user)
    page = client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()
    assert 'value="approve"' not in page
    assert "otro aprobador debe decidirla" in page
    response = client.post(reverse("loans:application-decide", args=[application.pk]), {"decision": "approve"})
    assert response.status_code == 403
    application.refresh_from_db()
    assert application.status == LoanApplication.Status.SUBMITTED


def test_it_hides_submit_and_disburse_from_the_approver(approver_client, application) -> None:  # type: ignore[no-untyped-def]
    page = approver_client.get(reverse("loans:application-detail", args=[application.pk])).content.decode()
    assert reverse("loans:application-submit", args=[application.pk]) not in page
    response = approver_client.post(reverse("loans:application-submit", args=[application.pk]))
    assert response.status_code == 403


def test_it_never_shows_document_numbers_to_the_ngo_analyst(analyst_client, world) -> None:  # type: ignore[no-untyped-def]
    dni = world.miner.document_number
    for url in (reverse("miners:list"), reverse("miners:detail", args=[world.miner.pk])):
        assert dni not in analyst_client.get(url).content.decode(), url
    # and searching by DNI finds nobody for them
    assert world.miner.last_names not in analyst_client.get(reverse("miners:list"), {"q": dni}).content.decode()


def test_it_shows_document_numbers_to_officers(officer_client, world) -> None:  # type: ignore[no-untyped-def]
    page = officer_client.get(reverse("miners:list"), {"q": world.miner.document_number}).content.decode()
    assert world.miner.document_number in page
    assert world.miner.last_names in page


def test_it_lets_only_the_ngo_verify_equipment(officer_client, loan) -> None:  # type: ignore[no-untyped-def]
    page = officer_client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert reverse("loans:verify", args=[loan.pk]) not in page
    assert officer_client.post(reverse("loans:verify", args=[loan.pk]), {"delivered": "on"}).status_code == 403
