"""Collateral on screen: the officer records the financed equipment as a pledge from the loan page
(prefilled from the equipment), form errors keep what was typed and save nothing, and an insurance
policy expiring within COLLATERAL_EXPIRY_WARNING_DAYS (or expired) warns on the loan page and on the
officer's dashboard."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from installments.services import payment_record, payoff_quote
from loans.collateral import collateral_add, collateral_update
from loans.models import Collateral, Loan
from tests.factories import EquipmentFactory, MinerFactory
from tests.installments.conftest import disburse, make_product

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def loan(officer) -> Loan:  # type: ignore[no-untyped-def]
    equipment = EquipmentFactory(price=D("20000.00"), name="Concentrador centrífugo Knelson")
    disbursed = TODAY - dt.timedelta(days=20)
    return disburse(
        miner=MinerFactory(first_names="Rosa", last_names="Huamán"),
        product=make_product(code="equipo", requires_equipment=True),
        officer=officer,
        amount=D("20000.00"),
        equipment=equipment,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )


def _english(client) -> None:  # type: ignore[no-untyped-def]
    """The pages in English, as the person chose (the tests read their words)."""
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def _day(day: dt.date) -> str:
    return day.strftime("%d/%m/%Y")


def insured(loan: Loan, officer, expires_on: dt.date, entry: str, description: str) -> Collateral:  # type: ignore[no-untyped-def]
    return collateral_add(
        loan=loan,
        actor=officer,
        description=description,
        appraised_value=D("5000.00"),
        appraised_on=TODAY - dt.timedelta(days=30),
        registry_entry=entry,
        registered_on=TODAY - dt.timedelta(days=25),
        insurer="Rímac Seguros",
        policy_number=f"POL-{entry}",
        policy_expires_on=expires_on,
    )


def test_an_officer_pledges_the_financed_equipment_from_the_loan_page(client, officer, loan) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    _english(client)
    detail = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert "No collateral recorded." in detail and reverse("loans:collateral-new", args=[loan.pk]) in detail

    new = reverse("loans:collateral-new", args=[loan.pk])
    prefilled = client.get(new + "?prefill=equipment")
    form = prefilled.context["form"]
    assert form.initial["description"].startswith("Concentrador centrífugo Knelson — ")
    assert (form.initial["appraised_value"], form.initial["equipment"]) == (D("20000.00"), loan.equipment_id)

    typed = {
        "description": "Concentrador centrífugo Knelson, serie 2231",
        "equipment": str(loan.equipment_id),
        "appraised_value": "18500.00",
        "currency": "PEN",
        "appraised_on": _day(TODAY),
        "registry_entry": "RMC-2025-004512",
        "registered_on": "",
        "insurer": "",
        "policy_number": "POL-1",
        "policy_expires_on": _day(TODAY + dt.timedelta(days=365)),
    }
    refused = client.post(new, typed)
    assert refused.status_code == 400
    page = refused.content.decode()
    assert "A registration needs both the registry entry number and its date." in page
    assert "Name the insurer of the policy." in page
    assert 'value="Concentrador centrífugo Knelson, serie 2231"' in page  # what was typed stays
    assert not Collateral.objects.exists()

    saved = client.post(new, {**typed, "registered_on": _day(TODAY), "insurer": "Rímac Seguros"})
    assert saved.status_code == 302
    pledged = Collateral.objects.get()
    assert (pledged.equipment_id, pledged.appraised_value, pledged.recorded_by) == (
        loan.equipment_id,
        D("18500.00"),
        officer,
    )
    assert pledged.is_registered

    detail = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert "RMC-2025-004512" in detail and "registered" in detail
    # 18,500 of the 20,000 owed.
    assert "covers 92.5% of the outstanding principal" in detail
    assert "Collateral recorded" in detail  # the loan's history

    edit = reverse("loans:collateral-edit", args=[loan.pk, pledged.pk])
    assert client.get(edit).context["form"].initial["registry_entry"] == "RMC-2025-004512"
    released = client.post(
        edit, {**typed, "registered_on": _day(TODAY), "insurer": "Rímac Seguros", "released_on": _day(TODAY)}
    )
    assert released.status_code == 302
    pledged.refresh_from_db()
    assert pledged.released_on == TODAY and not pledged.is_registered


def test_roles_and_closed_loans(client, officer, analyst, loan) -> None:  # type: ignore[no-untyped-def]
    new = reverse("loans:collateral-new", args=[loan.pk])
    client.force_login(analyst)
    _english(client)
    assert client.get(new).status_code == 403
    detail = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert 'id="collateral"' in detail and new not in detail  # the NGO reads, never records

    payment_record(loan=loan, amount=payoff_quote(loan=loan, on=TODAY).total, paid_on=TODAY, actor=officer)
    client.force_login(officer)
    assert client.get(new).status_code == 302
    assert not Collateral.objects.exists()


def test_policies_expiring_within_the_window_warn_on_the_loan_and_the_dashboard(  # type: ignore[no-untyped-def]
    client, officer, loan, settings
) -> None:
    expiring = insured(loan, officer, TODAY + dt.timedelta(days=10), "RMC-A", "Molino de bolas")
    expired = insured(loan, officer, TODAY - dt.timedelta(days=1), "RMC-B", "Grupo electrógeno")
    later = insured(loan, officer, TODAY + dt.timedelta(days=40), "RMC-C", "Mesa vibratoria")
    lifted = insured(loan, officer, TODAY - dt.timedelta(days=3), "RMC-D", "Compresora")
    collateral_update(collateral=lifted, actor=officer, released_on=TODAY)

    client.force_login(officer)
    _english(client)
    dashboard = client.get(reverse("dashboard"))
    listed = [c.pk for c in dashboard.context["queues"]["collateral_policies"]["items"]]
    assert listed == [expired.pk, expiring.pk]  # longest expired first; the 40-day one and the released one wait
    page = dashboard.content.decode()
    assert "Collateral insurance to renew" in page and "Molino de bolas" in page and "Mesa vibratoria" not in page

    detail = client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
    assert 'id="collateral-alert"' in detail
    assert f"the policy on Grupo electrógeno expired on {_day(expired.policy_expires_on)}" in detail
    assert f"the policy on Molino de bolas expires on {_day(expiring.policy_expires_on)}" in detail
    assert "Mesa vibratoria expires" not in detail

    settings.COLLATERAL_EXPIRY_WARNING_DAYS = 45
    listed = [c.pk for c in client.get(reverse("dashboard")).context["queues"]["collateral_policies"]["items"]]
    assert listed == [expired.pk, expiring.pk, later.pk]

    payment_record(loan=loan, amount=payoff_quote(loan=loan, on=TODAY).total, paid_on=TODAY, actor=officer)
    assert client.get(reverse("dashboard")).context["queues"]["collateral_policies"]["items"] == []
    # Paid off: nothing to renew any more (the pledge is to be lifted), so the loan page stops warning.
    assert 'id="collateral-alert"' not in client.get(reverse("loans:detail", args=[loan.pk])).content.decode()
