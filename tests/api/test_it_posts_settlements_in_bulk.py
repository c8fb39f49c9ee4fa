"""settlements/bulk/: up to 1,000 settlements, all or nothing, with errors per row."""

from __future__ import annotations

import datetime as dt

from buyers.models import Settlement
from installments.models import LoanTransaction, Withholding
from tests.api.conftest import disbursed_loan, settlement_body, today


def test_it_posts_every_row(orex) -> None:
    rows = [settlement_body(orex.supplier, f"L-{n}") for n in range(3)]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["count"] == 3
    assert [s["lot_code"] for s in response.json()["settlements"]] == ["L-0", "L-1", "L-2"]
    assert Settlement.objects.filter(buyer=orex.buyer).count() == 3


def test_it_saves_nothing_when_one_row_is_bad(orex, rival, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    rows = [
        settlement_body(orex.supplier, "L-0"),
        settlement_body(orex.supplier, "L-1", wet_tonnes="abc"),
        settlement_body(rival.supplier, "L-2"),
        settlement_body(orex.supplier, "L-0"),
    ]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"rows.1.wet_tonnes", "rows.2.miner", "rows.3.lot_code"}
    assert not Settlement.objects.exists()
    assert not Withholding.objects.exists()


def test_it_rolls_back_rows_already_posted_when_a_later_one_fails(orex, officer, approver) -> None:
    """Row 2 passes validation but settlement_post refuses it (dated tomorrow): rows 0 and 1, already
    posted with their withholdings inside the batch's transaction, are undone."""
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    tomorrow = (today() + dt.timedelta(days=1)).isoformat()
    rows = [
        settlement_body(orex.supplier, "L-0"),
        settlement_body(orex.supplier, "L-1"),
        settlement_body(orex.supplier, "L-2", settled_on=tomorrow),
    ]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["rows.2.settled_on"]
    assert not Settlement.objects.exists()
    assert not LoanTransaction.objects.filter(kind="withholding").exists()


def test_it_refuses_more_than_1000_rows(orex) -> None:
    rows = [settlement_body(orex.supplier, f"L-{n}") for n in range(1001)]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 400
    assert "rows" in response.json()["error"]["fields"]


def test_it_refuses_rows_that_are_not_objects(orex) -> None:
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": ["L-1"]}, format="json")
    assert response.status_code == 400


def test_it_computes_a_dry_run_without_saving(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    body = {"rows": [settlement_body(orex.supplier, "L-0")], "dry_run": True}
    response = orex.client.post("/api/v1/settlements/bulk/", body, format="json")
    assert response.status_code == 200, response.content
    [preview] = response.json()["settlements"]
    assert preview["payable"] == "12212.83"
    assert preview["withholding"]["status"] == "withheld"
    assert not Settlement.objects.exists()


def test_it_posts_1000_settlements_in_one_request(orex, officer, approver) -> None:
    disbursed_loan(miner=orex.supplier, buyer=orex.buyer, officer=officer, approver=approver)
    rows = [settlement_body(orex.supplier, f"L-{n:04d}", wet_tonnes="0.5") for n in range(1000)]
    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")
    assert response.status_code == 201, response.content[:500]
    assert Settlement.objects.filter(buyer=orex.buyer).count() == 1000
