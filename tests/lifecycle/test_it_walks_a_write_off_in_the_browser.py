"""Issue 13: a write-off walked through the pages in a real browser (Debian's Chromium): an officer logs
three collection visits, prepares the castigo; an approver who did not prepare it approves it from the
queue; the loan leaves the active book. Screenshots under test-artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from installments.services import loan_recompute, portfolio_rate
from loans.models import Loan
from tests.installments.conftest import disburse
from tests.web.test_it_walks_an_officer_through_a_loan import _login, _logout, _shot

# Serialized rollback: the outbox tests that run after this one expect the migrations' rows back.
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

TODAY = timezone.localdate()


def test_a_write_off_prepared_and_approved_by_two_people(  # type: ignore[no-untyped-def]
    live_server, browser_page, officer, approver, orex, teodoro, product
) -> None:
    disbursed = TODAY - dt.timedelta(days=200)
    loan = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        buyer=orex,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    loan_recompute(loan=loan)  # its days past due as of today, as the nightly accrual leaves them
    portfolio_rate(as_of=TODAY)
    page, base = browser_page, live_server.url

    _login(page, base, officer.username)
    page.goto(f"{base}/loans/{loan.pk}/write-off/")
    assert page.get_by_role("alert").is_visible()  # no collection efforts on record yet
    page.goto(f"{base}/loans/{loan.pk}/collection/")
    for days in range(3):
        page.fill("#id_contacted_on", (TODAY - dt.timedelta(days=days)).isoformat())
        page.select_option("#id_channel", "visit")
        page.select_option("#id_outcome", "refused")
        page.fill("#id_note", f"Visita {days + 1}: la mina está inundada")
        page.click("form button[type=submit].primary")
        page.wait_for_load_state()
    _shot(page, "lifecycle-collection-file")
    page.goto(f"{base}/loans/{loan.pk}/write-off/")
    page.fill("#id_reason", "Mina inundada; el minero dejó la región")
    _shot(page, "lifecycle-write-off-prepare")
    page.click("form button[type=submit].primary")
    page.wait_for_url(f"{base}/write-offs/")
    _logout(page)

    _login(page, base, approver.username)
    page.goto(f"{base}/write-offs/")
    page.fill("input[name=note]", "Provisionado al 100 %")
    _shot(page, "lifecycle-write-off-queue")
    page.click("button[value=approve]")
    page.wait_for_url(f"{base}/write-offs/")
    assert Loan.objects.get(pk=loan.pk).status == Loan.Status.WRITTEN_OFF
    page.goto(f"{base}/loans/{loan.pk}/write-off/")
    _shot(page, "lifecycle-written-off")
    assert page.get_by_role("status").first.is_visible()
