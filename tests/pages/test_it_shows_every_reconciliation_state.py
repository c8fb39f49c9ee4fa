"""The staff pages that show reconciliation render whatever the job leaves behind: exceptions of every
kind, open, closed by a person and closed by the job itself (no ``resolved_by``), and remittances
matched in full, in part and not at all."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from installments.models import ReconciliationException, Remittance
from installments.services import exception_resolve, reconcile_remittances, remittance_record, settlement_post
from tests.factories import BuyerFactory, MinerFactory
from tests.installments.conftest import DOMAIN_LOT, disburse, make_product

D = Decimal
Kind = ReconciliationException.Kind
JOB_KINDS = {Kind.OVER, Kind.OVERDUE_UNREMITTED}  # the kinds the job closes by itself


def _withhold(*, buyer, miner, officer, lot: str, day: dt.date):  # type: ignore[no-untyped-def]
    outcome = settlement_post(
        buyer=buyer,
        miner=miner,
        actor=officer,
        lot_code=lot,
        settled_on=day,
        currency="PEN",
        exchange_rate=D("3.75"),
        **{**DOMAIN_LOT, "wet_tonnes": D("1")},
    )
    return outcome.withholdings[0]


def _pay(buyer, officer, reference: str, amount: str, day: dt.date, currency: str = "PEN", listed=None):  # type: ignore[no-untyped-def]
    return remittance_record(
        buyer=buyer,
        reference=reference,
        amount=D(amount),
        currency=currency,
        paid_on=day,
        actor=officer,
        settlement_ids=listed,
    ).remittance


@pytest.fixture
def book(officer):  # type: ignore[no-untyped-def]
    """Minera Orex after a month of withholdings, remittances, two reconciliation runs and a person's
    review: every state of every exception kind, and every state of a remittance."""
    orex = BuyerFactory.create(name="Minera Orex S.A.C.", remittance_days=7)
    rosa, teodoro, luz = (MinerFactory.create() for _ in range(3))
    product = make_product()
    for miner in (rosa, teodoro, luz):
        disburse(miner=miner, product=product, officer=officer, buyer=orex)

    w1 = _withhold(buyer=orex, miner=rosa, officer=officer, lot="R-1", day=dt.date(2025, 2, 10))
    # More than w1: the rest is an open "over" exception until later withholdings absorb it.
    matched = _pay(orex, officer, "BCP-001", str(w1.amount + D("100.00")), dt.date(2025, 2, 11))
    w2 = _withhold(buyer=orex, miner=teodoro, officer=officer, lot="T-1", day=dt.date(2025, 2, 12))
    w3 = _withhold(buyer=orex, miner=rosa, officer=officer, lot="R-2", day=dt.date(2025, 2, 15))
    # The job moves BCP-001's rest onto w2 and closes its "over" by itself; w2 and w3 go overdue.
    reconcile_remittances(as_of=dt.date(2025, 2, 28))
    # w3 paid in full by a listed remittance: the job closes w3's "overdue" by itself.
    _pay(orex, officer, "BCP-002", str(w3.amount), dt.date(2025, 3, 3), listed=[w3.settlement_id])
    # w2 listed with an unknown settlement and paid short: "short" and "unknown settlement", open.
    partial = _pay(orex, officer, "BCP-003", "10.00", dt.date(2025, 3, 4), listed=[w2.settlement_id, 999999])
    unmatched = _pay(orex, officer, "WIRE-USD-1", "50.00", dt.date(2025, 3, 5), currency="USD")
    reconcile_remittances(as_of=dt.date(2025, 3, 10))

    # A person closes one of every kind (new findings on the same remittances and a fresh withholding).
    w4 = _withhold(buyer=orex, miner=luz, officer=officer, lot="L-1", day=dt.date(2025, 2, 20))
    for kind in Kind:
        finding = ReconciliationException.objects.create(
            buyer=orex,
            kind=kind,
            remittance=None if kind == Kind.OVERDUE_UNREMITTED else matched,
            withholding=w4 if kind == Kind.OVERDUE_UNREMITTED else None,
            amount=D("1.00"),
            detail="Found on review.",
            detected_on=dt.date(2025, 3, 10),
        )
        exception_resolve(exception=finding, actor=officer, note="Called the buyer's treasurer.")
    # Paid for everything still open and S/ 25.00 more: matched in part, the rest an open "over".
    still_owed = sum(
        w.amount - w.remitted_amount for w in orex.withholdings.exclude(status__in=["remitted", "reversed"])
    )
    _pay(orex, officer, "BCP-004", str(still_owed + D("25.00")), dt.date(2025, 3, 12))
    # Open ones of the kinds the job left closed, so every kind is open somewhere too.
    for kind in (Kind.OVER, Kind.SHORT, Kind.UNKNOWN_SETTLEMENT):
        if not ReconciliationException.objects.filter(kind=kind, status="open").exists():
            ReconciliationException.objects.create(
                buyer=orex, kind=kind, remittance=unmatched, amount=D("1.00"), detected_on=dt.date(2025, 3, 10)
            )
    return SimpleNamespace(buyer=orex, matched=matched, partial=partial, unmatched=unmatched)


def test_the_book_holds_every_state_the_reconciliation_can_leave(book) -> None:
    exceptions = ReconciliationException.objects.filter(buyer=book.buyer)
    for kind in Kind:
        assert exceptions.filter(kind=kind, status="open").exists(), kind
        assert exceptions.filter(kind=kind, status="resolved", resolved_by__isnull=False).exists(), kind
    for kind in JOB_KINDS:
        by_job = exceptions.filter(kind=kind, status="resolved", resolved_by__isnull=True)
        assert by_job.filter(updated__gte=timezone.now() - dt.timedelta(days=1)).exists(), kind
    remittances = {r.reference: r for r in Remittance.objects.filter(buyer=book.buyer)}
    assert remittances["BCP-001"].unmatched_amount == 0 and remittances["BCP-001"].reconciled_at is not None
    assert remittances["BCP-003"].matches.count() > 0 and remittances["BCP-003"].unmatched_amount == 0
    assert remittances["BCP-004"].matches.count() > 0 and remittances["BCP-004"].unmatched_amount == D("25.00")
    assert remittances["WIRE-USD-1"].unmatched_amount == remittances["WIRE-USD-1"].amount


@pytest.mark.parametrize("persona", ["officer", "approver", "analyst", "admin_user"])
def test_every_staff_page_showing_reconciliation_renders(book, persona, client, request) -> None:
    client.force_login(request.getfixturevalue(persona))
    pages = [
        reverse("installments:buyer-detail", args=[book.buyer.pk]),
        reverse("installments:buyers"),
        reverse("dashboard"),
        reverse("reports:buyer-statement", args=[book.buyer.pk]) + "?from=2025-02-01&to=2025-03-31",
    ]
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, (page, response.status_code)


def test_the_buyer_page_says_who_closed_each_exception(book, officer, client) -> None:
    client.force_login(officer)
    html = client.get(reverse("installments:buyer-detail", args=[book.buyer.pk])).content.decode()
    assert "Called the buyer&#x27;s treasurer." in html or "Called the buyer's treasurer." in html
    # The job's own note, in the page's Spanish (it is stored in English: installments.exception_text).
    assert "cerrada por la conciliación" in html and "closed by the reconciliation job" not in html
