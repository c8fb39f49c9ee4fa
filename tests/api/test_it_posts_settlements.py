"""settlements/: post one, see it recomputed with its fair-price check and withholding, void it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from buyers.models import Settlement
from installments.models import Withholding
from installments.services import miner_amount_due, payoff_quote
from tests.api.conftest import disbursed_loan, settlement_body, today


def test_it_recomputes_the_domain_example_lot(orex) -> None:
    body = settlement_body(orex.supplier, "L-1", declared_payable="12250.00")
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201, response.content
    settlement = response.json()
    assert settlement["dry_tonnes"] == "9.200"
    assert settlement["payable"] == "12212.83"
    assert settlement["declared_payable"] == "12250.00"
    assert settlement["payable_difference"] == "37.17"
    # DOMAIN.md §4: price share (3,322.10 − 80) / 3,322.10 = 0.9759 (above the 95% reference); value share
    # 12,212.83 / (9.200 × 1.10231 × 0.5 × 0.84 × 3,322.10 = 14,149.91) = 0.8631. Only the declared payable
    # differs.
    assert (settlement["price_share"], settlement["value_share"]) == ("0.9759", "0.8631")
    assert settlement["fair_price_flags"] == ["declared_payable_differs"]
    assert settlement["terms_deviations"] == []
    assert settlement["maquila_source"] == "stated"
    # No loan: nothing withheld, the miner gets the whole payable.
    assert settlement["withholding"] == {
        "amount": "0.00",
        "currency": None,
        "amount_settlement_currency": "0.00",
        "status": "none",
        "breakdown": [],
    }
    assert settlement["net_to_miner"] == "12212.83"


def test_it_withholds_what_the_miner_owes_and_says_how_it_was_applied(orex, officer, approver) -> None:
    loan = disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    owed = sum(d.amount_due for d in miner_amount_due(miner=orex.supplier, as_of=today()))
    # Never more than closes the loan that day (interest reduced to the day, DOMAIN.md §3).
    due = min(owed, payoff_quote(loan=loan, on=today()).total)
    response = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json")
    assert response.status_code == 201, response.content
    withholding = response.json()["withholding"]
    # 30% of US$ 12,212.83 at 3.75 is S/ 13,739.43: far above what is due, so everything due is withheld.
    assert Decimal(withholding["amount"]) == due
    assert withholding["currency"] == "PEN"
    [per_loan] = withholding["breakdown"]
    assert per_loan["loan"] == loan.code
    applied = sum(
        Decimal(row[c])
        for row in per_loan["installments"]
        for c in ("moratory", "late_interest", "interest", "insurance", "fees", "principal")
    )
    assert applied == due
    assert per_loan["installments"][0]["number"] == 1
    in_usd = Decimal(withholding["amount_settlement_currency"])
    assert in_usd == (due / Decimal("3.75")).quantize(Decimal("0.01"))
    assert Decimal(response.json()["net_to_miner"]) == Decimal("12212.83") - in_usd
    # Reading it back gives the same answer.
    again = orex.client.get(f"/api/v1/settlements/{response.json()['id']}/").json()
    assert again["withholding"] == withholding


def test_it_caps_the_withholding_at_the_products_share(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    small = settlement_body(orex.supplier, "L-1", wet_tonnes="0.5")
    settlement = orex.client.post("/api/v1/settlements/", small, format="json").json()
    payable_pen = (Decimal(settlement["payable"]) * Decimal("3.75")).quantize(Decimal("0.01"))
    assert Decimal(settlement["withholding"]["amount"]) == (payable_pen * Decimal("0.30")).quantize(Decimal("0.01"))


def test_it_finds_the_miner_by_document_and_takes_grades_in_grams(orex) -> None:
    body = settlement_body(orex.supplier, "L-1", grade_g_t="17.1429")
    del body["miner"], body["grade_oz_tc"]
    body["miner_document"] = orex.supplier.document_number
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["grade_oz_tc"] == "0.5000"
    assert response.json()["miner"] == orex.supplier.pk


def test_it_lists_every_bad_field(orex) -> None:
    body = settlement_body(orex.supplier, "L-1", moisture_pct="100", recovery="1.5", settled_on="03/03/2025")
    del body["gold_price_usd_oz"]
    body["grade_g_t"] = "17"
    response = orex.client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert {"moisture_pct", "recovery", "settled_on", "gold_price_usd_oz"} <= set(fields)


def test_it_refuses_a_lot_code_twice(orex) -> None:
    orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json")
    response = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["lot_code"]


def test_it_refuses_a_settlement_dated_in_the_future(orex) -> None:
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    response = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-1", settled_on=tomorrow), format="json"
    )
    assert response.status_code == 400
    assert "settled_on" in response.json()["error"]["fields"]


def test_it_lets_staff_post_for_a_named_buyer(officer_api, orex) -> None:
    body = {**settlement_body(orex.supplier, "L-1"), "buyer": orex.buyer.ruc}
    response = officer_api.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201
    assert response.json()["buyer"] == orex.buyer.pk
    missing = officer_api.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-2"), format="json")
    assert missing.status_code == 400
    assert list(missing.json()["error"]["fields"]) == ["buyer"]


def test_it_voids_a_settlement_and_reverses_its_withholding(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    posted = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json").json()
    response = orex.client.post(
        f"/api/v1/settlements/{posted['id']}/void/", {"reason": "Lote duplicado"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "void"
    assert response.json()["withholding"]["status"] == "reversed"
    assert Withholding.objects.get().status == Withholding.Status.REVERSED
    again = orex.client.post(f"/api/v1/settlements/{posted['id']}/void/", {"reason": "otra vez"}, format="json")
    assert again.status_code == 409


def test_it_filters_the_list_by_miner_and_dates(orex) -> None:
    other_supplier = orex.relationship.miner
    old = (today() - dt.timedelta(days=40)).isoformat()
    orex.client.post("/api/v1/settlements/", settlement_body(other_supplier, "L-OLD", settled_on=old), format="json")
    orex.client.post("/api/v1/settlements/", settlement_body(other_supplier, "L-NEW"), format="json")
    recent = orex.client.get("/api/v1/settlements/", {"settled_from": (today() - dt.timedelta(days=7)).isoformat()})
    assert [row["lot_code"] for row in recent.json()["results"]] == ["L-NEW"]
    by_miner = orex.client.get("/api/v1/settlements/", {"miner": other_supplier.pk}).json()
    assert by_miner["count"] == 2
    bad = orex.client.get("/api/v1/settlements/", {"settled_from": "yesterday"})
    assert bad.status_code == 400
    assert Settlement.objects.count() == 2


def test_it_tells_a_buyer_what_to_withhold_from_each_supplier(orex, officer, approver) -> None:
    loan = disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    [supplier] = orex.client.get("/api/v1/suppliers/").json()["results"]
    [due] = supplier["amount_due"]
    assert due["loan"] == loan.code
    assert Decimal(due["amount_due"]) > 0


def _queries_to_post(client, body) -> int:  # type: ignore[no-untyped-def]
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/v1/settlements/", body, format="json")
    assert response.status_code == 201, response.content
    return len(queries.captured_queries)


def test_it_posts_a_settlement_without_loans_in_a_handful_of_queries(orex) -> None:
    # Authentication, the row's lookups (miner and supplier, lot code), the settlement and its audit
    # row, and reading the answer back; no loan is read or recomputed.
    assert _queries_to_post(orex.client, settlement_body(orex.supplier, "L-1")) <= 14


def test_it_withholds_in_a_fixed_number_of_queries_however_long_the_loans_log(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver, days_ago=200)
    small = {"wet_tonnes": "0.5"}
    # (The first request also stamps the API key's last use.)
    orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-0", **small), format="json")
    first = _queries_to_post(orex.client, settlement_body(orex.supplier, "L-1", **small))
    for n in range(2, 8):
        orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, f"L-{n}", **small), format="json")
    later = _queries_to_post(orex.client, settlement_body(orex.supplier, "L-8", **small))
    assert Withholding.objects.filter(settlement__lot_code="L-8").exists()
    # The loan is locked, its rows, log and allocations read once, and each kind of row written in one
    # statement: the same count for the first settlement and the eighth.
    assert first == later <= 22


def test_the_answer_renders_as_drf_renders_the_declared_fields(orex, officer, approver, monkeypatch) -> None:
    from rest_framework import serializers

    from asmcredit.api import BoundOnceRepresentation
    from installments.api.buyers import SettlementSerializer, settlements_for_output

    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    posted = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json").json()
    assert posted["withholding"]["breakdown"][0]["installments"], "the comparison must cover the nesting"
    [settlement] = settlements_for_output([posted["id"]])
    fast = SettlementSerializer(settlement).data
    with monkeypatch.context() as patch:
        # DRF's own rendering, nested serializers included: every field copied and bound per instance.
        patch.setattr(BoundOnceRepresentation, "to_representation", serializers.Serializer.to_representation)
        [settlement] = settlements_for_output([posted["id"]])
        expected = SettlementSerializer(settlement).data
    assert set(expected) == set(SettlementSerializer().fields)
    assert fast == expected
    assert posted == expected


def test_a_list_polled_again_unchanged_is_a_304(orex) -> None:
    orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json")
    first = orex.client.get("/api/v1/settlements/")
    assert first.status_code == 200 and first["ETag"]
    again = orex.client.get("/api/v1/settlements/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304
    assert again.content == b""
    orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-2"), format="json")
    changed = orex.client.get("/api/v1/settlements/", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200
    assert changed.json()["count"] == 2
