"""Issue 13: a reprogramación walked through the pages in a real browser (Debian's Chromium): from the loan
page an officer opens "Reprogramar…", offers two options, previews the chosen one's new cronograma and asks
for approval; an approver who did not ask approves it from the queue; the loan page shows the new version
with the deferred interest in its own column. Screenshots under test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from installments.models import ScheduleLine
from installments.services import loan_recompute
from lifecycle.models import RescheduleProposal
from loans.models import Loan
from tests.installments.conftest import disburse
from tests.web.test_it_walks_an_officer_through_a_loan import _login, _logout, _shot

# Serialized rollback: the outbox tests that run after this one expect the migrations' rows back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TODAY = timezone.localdate()


def test_a_reprogramacion_asked_previewed_and_approved_by_two_people(  # type: ignore[no-untyped-def]
    live_server, browser_page, officer, approver, orex, rosa, product
) -> None:
    disbursed = TODAY - dt.timedelta(days=20)
    loan = disburse(
        miner=rosa,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    loan_recompute(loan=loan)
    page, base = browser_page, live_server.url

    _login(page, base, officer.username)
    page.goto(f"{base}/loans/{loan.pk}/")
    page.click(f"a[href='/loans/{loan.pk}/reschedule/']")
    page.wait_for_url(f"{base}/loans/{loan.pk}/reschedule/")
    page.fill("#id_option_a_holiday", "2")
    page.fill("#id_option_a_extra", "0")
    page.fill("#id_option_b_holiday", "0")
    page.fill("#id_option_b_extra", "3")
    page.check("#id_chosen_0")
    page.fill("#id_reason", "Temporada de lluvias: la mina no trabaja dos meses")
    page.click("button[name=preview]")
    page.wait_for_selector("#preview")
    assert page.locator("[data-installment-after]").is_visible()
    _shot(page, "lifecycle-reschedule-preview")
    assert not RescheduleProposal.objects.exists()  # a preview changes nothing
    page.click("button[name=submit]")
    page.wait_for_url(f"{base}/reschedules/")
    _logout(page)

    _login(page, base, approver.username)
    page.goto(f"{base}/reschedules/")
    page.fill("input[name=note]", "Evento regional confirmado")
    _shot(page, "lifecycle-reschedule-queue")
    page.click("button[value=approve]")
    page.wait_for_url(f"{base}/reschedules/")
    loan.refresh_from_db()
    assert loan.schedule_version == 2 and loan.status == Loan.Status.ACTIVE
    page.goto(f"{base}/loans/{loan.pk}/")
    _shot(page, "lifecycle-rescheduled-loan")
    deferred = ScheduleLine.objects.filter(loan=loan, is_current=True).first()
    assert deferred is not None and deferred.deferred_interest > 0
    # Spanish once the lead merges the catalogue fragment (/tmp/tr/resched.po); English until then.
    header = re.compile("Interés diferido|Deferred interest")
    assert page.get_by_role("columnheader", name=header).is_visible()
