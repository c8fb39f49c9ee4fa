"""Issue #11 items 6 and 8 (DOMAIN.md §4): a buyer's agreed terms, effective-dated; the maquila taken from
the buyer's scale when a settlement omits it; the three fair-price figures on every settlement and their
averages per buyer and month.

Figures worked by hand on DOMAIN.md's lot (10 TMH, 8% H2O → 9.200 TMS, 0.5 oz/TC, INTER 3,322.10,
recovery 0.84, consumos 30.26, flete 22):
- RC 80, maquila 110 → value per TMS ((3,242.10 × 0.5 × 0.84) − 110) × 1.10231 − 52.26 = 1,327.48158542,
  payable 1,327.48158542 × 9.200 = US$ 12,212.83 (DOMAIN's example).
- maquila 130: (1,361.682 − 130) × 1.10231 − 52.26 = 1,305.43538542; × 9.200 = 12,010.0055 → 12,010.01.
- maquila 0 (stated): 1,361.682 × 1.10231 − 52.26 = 1,448.73568542; × 9.200 = 13,328.3683 → 13,328.37.
- RC 90: (3,232.10 × 0.42 − 110) × 1.10231 − 52.26 = 1,322.85 …; × 9.200 → 12,170.24.
- RC 200: (3,122.10 × 0.42 − 110) × 1.10231 − 52.26 = 1,271.93 …; × 9.200 → 11,701.71.
- Recoverable gold: 9.200 × 1.10231 × 0.5 × 0.84 = 4.25932584 oz; at INTER 3,322.10 = US$ 14,149.906.
- Price shares: 3,242.10 / 3,322.10 = 0.97592 → 0.9759; 3,232.10 / 3,322.10 = 0.97290 → 0.9729;
  3,122.10 / 3,322.10 = 0.93980 → 0.9398 (under 95%).
- Value shares: 12,212.83 / 14,149.906 = 0.86310 → 0.8631; 12,010.01 / 14,149.906 = 0.84877 → 0.8488;
  11,701.71 / 14,149.906 = 0.82698 → 0.8270.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from asmcredit.models import AuditEvent
from buyers.models import BuyerTerms, Settlement
from buyers.services import buyer_terms_add
from buyers.terms import MaquilaBand
from installments.services.settlement_batches import settlements_import_csv
from reports.services.fair_price import fair_price_by_buyer_month
from tests.api.conftest import BuyerPersona, _buyer_persona, settlement_body, token_client

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()
SCALE = (MaquilaBand(D("0"), D("0.3"), D("90")), MaquilaBand(D("0.3"), D("0.8"), D("110")))


@pytest.fixture(autouse=True)
def _fresh_throttle():  # type: ignore[no-untyped-def]
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def orex(db) -> BuyerPersona:  # type: ignore[no-untyped-def]
    return _buyer_persona("Minera Orex S.A.C.")


@pytest.fixture
def rival(db) -> BuyerPersona:  # type: ignore[no-untyped-def]
    return _buyer_persona("Minera Rival S.A.C.")


def _terms(buyer: Any, officer: Any, effective_from: dt.date, bands: Any = SCALE, **terms: Any) -> BuyerTerms:
    return buyer_terms_add(
        buyer=buyer,
        actor=officer,
        effective_from=effective_from,
        bands=bands,
        commercial_deduction_usd_oz=terms.get("rc", D("80")),
        recovery=terms.get("recovery", D("0.84")),
    )


def _without_maquila(persona: BuyerPersona, lot: str, **overrides: Any) -> dict[str, Any]:
    body = settlement_body(persona.supplier, lot, **overrides)
    body.pop("maquila_usd_tc")
    return body


# --- Item 6: the maquila from the buyer's scale -------------------------------------------------------


def test_item6_maquila_comes_from_the_buyer_scale_when_omitted(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))

    response = orex.client.post("/api/v1/settlements/", _without_maquila(orex, "L-1"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    # Grade 0.5 oz/TC is in the 0.3–0.8 band: US$ 110/TC, the DOMAIN lot → US$ 12,212.83 (not 13,328.37 with 0).
    assert (body["maquila_usd_tc"], body["maquila_source"], body["payable"]) == ("110.00", "scale", "12212.83")
    assert Settlement.objects.get(lot_code="L-1").maquila_source == "scale"


def test_item6_a_blank_maquila_also_comes_from_the_scale_and_an_explicit_zero_stays_zero(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))

    blank = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-1", maquila_usd_tc=""), format="json"
    )
    zero = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-2", maquila_usd_tc="0"), format="json"
    )

    assert (blank.json()["maquila_usd_tc"], blank.json()["maquila_source"], blank.json()["payable"]) == (
        "110.00",
        "scale",
        "12212.83",
    )
    assert (zero.json()["maquila_usd_tc"], zero.json()["maquila_source"], zero.json()["payable"]) == (
        "0.00",
        "stated",
        "13328.37",
    )
    # Stating 0 where the scale agrees 110 is better for the miner, not off terms.
    assert zero.json()["terms_deviations"] == []


def test_item6_a_grade_without_a_band_is_a_400_naming_the_maquila(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))  # bands stop at 0.8 oz/TC

    response = orex.client.post("/api/v1/settlements/", _without_maquila(orex, "L-1", grade_oz_tc="0.9"), format="json")

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["maquila_usd_tc"]
    assert "0.9" in error["fields"]["maquila_usd_tc"][0]
    assert not Settlement.objects.exists()


def test_item6_a_buyer_without_any_scale_gets_a_400_never_a_silent_zero(orex) -> None:  # type: ignore[no-untyped-def]
    response = orex.client.post("/api/v1/settlements/", _without_maquila(orex, "L-1"), format="json")

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == ["maquila_usd_tc"]
    # A stated maquila needs no scale.
    stated = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-2"), format="json")
    assert stated.status_code == 201
    assert (stated.json()["payable"], stated.json()["terms_deviations"]) == ("12212.83", [])


def test_item6_the_csv_upload_takes_the_scale_and_names_the_row_without_a_band(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))
    document = orex.supplier.document_number
    header = (
        "miner_document,lot_code,settled_on,exchange_rate,wet_tonnes,moisture_pct,grade_oz_tc,recovery,"
        "gold_price_usd_oz,commercial_deduction_usd_oz,maquila_usd_tc,reagents_usd_tms,freight_usd_tms"
    )
    day = TODAY.isoformat()
    good = f"{document},C-1,{day},3.75,10,8,0.5,0.84,3322.10,80,,30.26,22"
    no_band = f"{document},C-2,{day},3.75,10,8,0.9,0.84,3322.10,80,,30.26,22"

    failed = settlements_import_csv(buyer=orex.buyer, actor=officer, text="\n".join([header, good, no_band]))
    assert not failed.ok
    assert list(failed.errors) == [3]  # the line of the file: the header is line 1
    assert list(failed.errors[3]) == ["maquila_usd_tc"]
    assert not Settlement.objects.exists()

    posted = settlements_import_csv(buyer=orex.buyer, actor=officer, text="\n".join([header, good]))
    assert posted.ok
    [outcome] = posted.outcomes
    assert (outcome.settlement.maquila_usd_tc, outcome.settlement.maquila_source) == (D("110"), "scale")
    assert outcome.settlement.payable_usd == D("12212.83")


def test_item6_the_version_in_force_on_the_settlement_date_applies(orex, officer) -> None:  # type: ignore[no-untyped-def]
    change = TODAY - dt.timedelta(days=30)
    first = _terms(orex.buyer, officer, TODAY - dt.timedelta(days=200))
    second = _terms(
        orex.buyer,
        officer,
        change,
        bands=(MaquilaBand(D("0"), D("0.3"), D("95")), MaquilaBand(D("0.3"), None, D("130"))),
    )

    before = orex.client.post(
        "/api/v1/settlements/",
        _without_maquila(orex, "L-1", settled_on=(change - dt.timedelta(days=1)).isoformat()),
        format="json",
    ).json()
    on = orex.client.post(
        "/api/v1/settlements/", _without_maquila(orex, "L-2", settled_on=change.isoformat()), format="json"
    ).json()

    assert (before["maquila_usd_tc"], before["payable"], before["value_share"]) == ("110.00", "12212.83", "0.8631")
    assert (on["maquila_usd_tc"], on["payable"], on["value_share"]) == ("130.00", "12010.01", "0.8488")
    assert Settlement.objects.get(lot_code="L-1").terms_version_id == first.pk
    assert Settlement.objects.get(lot_code="L-2").terms_version_id == second.pk
    # A stated maquila of 130 the day before the change is above the scale then in force (110).
    stated = orex.client.post(
        "/api/v1/settlements/",
        settlement_body(
            orex.supplier, "L-3", maquila_usd_tc="130", settled_on=(change - dt.timedelta(days=1)).isoformat()
        ),
        format="json",
    ).json()
    assert (stated["terms_deviations"], stated["fair_price_flags"]) == (["maquila"], ["off_agreed_terms"])


# --- Item 6: the terms API and the staff page ----------------------------------------------------------


TERMS_BODY = {
    "effective_from": "2025-07-01",
    "commercial_deduction_usd_oz": "80.00",
    "recovery": "0.8400",
    "bands": [
        {"min_grade_oz_tc": "0", "max_grade_oz_tc": "0.3", "maquila_usd_tc": "90"},
        {"min_grade_oz_tc": "0.3", "max_grade_oz_tc": "0.8", "maquila_usd_tc": "110"},
        {"min_grade_oz_tc": "0.8", "max_grade_oz_tc": None, "maquila_usd_tc": "130"},
    ],
    "note": "Adenda 3",
}


def test_item6_staff_add_a_version_of_the_terms_through_the_api_audited(orex, officer) -> None:  # type: ignore[no-untyped-def]
    url = f"/api/v1/buyers/{orex.buyer.pk}/terms/"
    client = token_client(officer)

    response = client.post(url, TERMS_BODY, format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["current"]["effective_from"] == "2025-07-01"
    assert body["current"]["commercial_deduction_usd_oz"] == "80.00"
    assert [band["maquila_usd_tc"] for band in body["current"]["bands"]] == ["90.00", "110.00", "130.00"]
    assert body["current"]["bands"][2]["max_grade_oz_tc"] is None
    assert AuditEvent.objects.filter(action="buyer_terms.add").count() == 1
    later = client.post(
        url, {**TERMS_BODY, "effective_from": "2025-09-01", "commercial_deduction_usd_oz": "75"}, format="json"
    )
    assert later.status_code == 201
    history = client.get(url).json()
    assert [v["effective_from"] for v in history["history"]] == ["2025-09-01", "2025-07-01"]
    assert history["current"]["commercial_deduction_usd_oz"] == "75.00"


@pytest.mark.parametrize(
    ("bands", "problem"),
    [
        (
            [
                {"min_grade_oz_tc": "0", "max_grade_oz_tc": "0.5", "maquila_usd_tc": "90"},
                {"min_grade_oz_tc": "0.3", "max_grade_oz_tc": "0.8", "maquila_usd_tc": "110"},
            ],
            "overlap",
        ),
        (
            [
                {"min_grade_oz_tc": "0.3", "max_grade_oz_tc": "0.8", "maquila_usd_tc": "110"},
                {"min_grade_oz_tc": "0", "max_grade_oz_tc": "0.3", "maquila_usd_tc": "90"},
            ],
            "ascending",
        ),
        ([{"min_grade_oz_tc": "0.5", "max_grade_oz_tc": "0.3", "maquila_usd_tc": "90"}], "above the start"),
        (
            [
                {"min_grade_oz_tc": "0", "max_grade_oz_tc": None, "maquila_usd_tc": "90"},
                {"min_grade_oz_tc": "0.8", "max_grade_oz_tc": None, "maquila_usd_tc": "130"},
            ],
            "open-ended",
        ),
    ],
)
def test_item6_bad_bands_are_a_400_naming_the_bands(orex, officer, bands, problem) -> None:  # type: ignore[no-untyped-def]
    response = token_client(officer).post(
        f"/api/v1/buyers/{orex.buyer.pk}/terms/", {**TERMS_BODY, "bands": bands}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert list(error["fields"]) == ["bands"]
    assert problem in error["fields"]["bands"][0]
    assert not BuyerTerms.objects.exists()


def test_item6_a_negative_fee_is_a_400_on_the_bands(orex, officer) -> None:  # type: ignore[no-untyped-def]
    bands = [{"min_grade_oz_tc": "0", "max_grade_oz_tc": None, "maquila_usd_tc": "-1"}]
    response = token_client(officer).post(
        f"/api/v1/buyers/{orex.buyer.pk}/terms/", {**TERMS_BODY, "bands": bands}, format="json"
    )
    assert response.status_code == 400
    assert all(name.startswith("bands") for name in response.json()["error"]["fields"])


def test_item6_a_buyer_reads_only_its_own_terms_and_never_writes_them(orex, rival, officer, analyst) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=10))
    _terms(rival.buyer, officer, TODAY - dt.timedelta(days=10))
    own, other = f"/api/v1/buyers/{orex.buyer.pk}/terms/", f"/api/v1/buyers/{rival.buyer.pk}/terms/"

    assert orex.client.get(own).status_code == 200
    assert orex.client.get(own).json()["current"]["bands"][1]["maquila_usd_tc"] == "110.00"
    assert orex.client.get(other).status_code == 404
    assert orex.client.post(own, TERMS_BODY, format="json").status_code == 403
    assert orex.client.get(f"/api/v1/buyers/{orex.buyer.pk}/").status_code == 403  # the rest stays staff-only
    # Staff read any buyer's terms; an NGO analyst reads but does not write.
    assert token_client(analyst).get(other).status_code == 200
    assert token_client(analyst).post(other, TERMS_BODY, format="json").status_code == 403
    assert BuyerTerms.objects.count() == 2


def test_item6_officers_add_terms_on_the_staff_page_reached_from_the_buyer(client, orex, officer, analyst) -> None:  # type: ignore[no-untyped-def]
    client.force_login(officer)
    detail = client.get(reverse("installments:buyer-detail", args=[orex.buyer.pk]))
    url = reverse("buyers:terms", args=[orex.buyer.pk])
    assert url in detail.content.decode()

    bad = client.post(url, {"effective_from": "01/07/2025", "bands": "0-0.5: 90\n0.3-0.8: 110"})
    assert bad.status_code == 400
    assert "antes de que termine el tramo" in bad.content.decode()  # the bands overlap (Spanish first)
    assert not BuyerTerms.objects.exists()

    good = client.post(
        url, {"effective_from": "01/07/2025", "recovery": "0.84", "bands": "0-0.3: 90\n0.3-0.8: 110\n0.8-: 130"}
    )
    assert good.status_code == 302
    terms = BuyerTerms.objects.get()
    assert (terms.effective_from, terms.recovery, terms.commercial_deduction_usd_oz) == (
        dt.date(2025, 7, 1),
        D("0.8400"),
        None,
    )
    assert [b.maquila_usd_tc for b in terms.bands.order_by("min_grade_oz_tc")] == [D("90"), D("110"), D("130")]
    assert "0.8000-: 130.00" in client.get(url).content.decode()

    client.force_login(analyst)
    assert client.get(url).status_code == 200
    assert client.post(url, {"effective_from": "01/08/2025", "bands": "0-: 90"}).status_code == 403


# --- Item 8: the three fair-price figures ----------------------------------------------------------------


def test_item8_the_domain_example_credits_97_59_percent_and_raises_no_flag(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))

    body = orex.client.post("/api/v1/settlements/", settlement_body(orex.supplier, "L-1"), format="json").json()

    assert (body["dry_tonnes"], body["payable"]) == ("9.200", "12212.83")
    assert body["price_share"] == "0.9759"
    assert body["value_share"] == "0.8631"
    assert (body["fair_price_flags"], body["terms_deviations"]) == ([], [])


def test_item8_an_rc_above_the_agreed_terms_is_flagged_naming_rc(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))

    body = orex.client.post(
        "/api/v1/settlements/", settlement_body(orex.supplier, "L-1", commercial_deduction_usd_oz="90"), format="json"
    ).json()

    assert (body["payable"], body["price_share"], body["value_share"]) == ("12170.24", "0.9729", "0.8601")
    assert body["fair_price_flags"] == ["off_agreed_terms"]
    assert body["terms_deviations"] == ["rc"]


def test_item8_a_low_recovery_and_a_price_under_the_reference_are_both_flagged(orex, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))

    body = orex.client.post(
        "/api/v1/settlements/",
        settlement_body(orex.supplier, "L-1", commercial_deduction_usd_oz="200", recovery="0.80"),
        format="json",
    ).json()

    # 3,122.10 / 3,322.10 = 0.9398 < 0.95.
    assert body["price_share"] == "0.9398"
    assert body["fair_price_flags"] == ["price_below_reference", "off_agreed_terms"]
    assert body["terms_deviations"] == ["rc", "recovery"]


def test_item8_plain_in_terms_settlements_raise_no_flag_by_any_way_in(orex, officer) -> None:  # type: ignore[no-untyped-def]
    """The issue: the old check "fires on every settlement". A settlement on the agreed terms, at a price
    above the reference, raises nothing — posted alone, in bulk or from the scale."""
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))
    rows = [settlement_body(orex.supplier, f"B-{n}") for n in range(3)] + [_without_maquila(orex, "B-3")]

    response = orex.client.post("/api/v1/settlements/bulk/", {"rows": rows}, format="json")

    assert response.status_code == 201, response.content
    assert {tuple(s["fair_price_flags"]) for s in response.json()["settlements"]} == {()}
    assert not Settlement.objects.exclude(fair_price_flags=[]).exists()


def test_item8_the_portfolio_report_averages_the_figures_per_buyer_and_month(orex, rival, officer) -> None:  # type: ignore[no-untyped-def]
    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=200))
    this_month = TODAY.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    posts = [
        (orex, "A-1", last_month, "80"),  # price 0.9759, value 0.8631
        (orex, "A-2", last_month + dt.timedelta(days=1), "200"),  # price 0.9398, value 0.8270; both flags
        (orex, "B-1", this_month, "80"),
        (rival, "R-1", this_month, "80"),  # no terms for Rival: no terms check
    ]
    for persona, lot, day, rc in posts:
        response = persona.client.post(
            "/api/v1/settlements/",
            settlement_body(persona.supplier, lot, settled_on=day.isoformat(), commercial_deduction_usd_oz=rc),
            format="json",
        )
        assert response.status_code == 201, response.content

    figures = fair_price_by_buyer_month(date_from=last_month, date_to=TODAY)

    rows = {(row.buyer, row.month): row for row in figures.rows}
    a = rows[(orex.buyer.name, last_month)]
    # (0.9759 + 0.9398) / 2 = 0.95785 → 0.9579; (0.8631 + 0.8270) / 2 = 0.84505 → 0.8451.
    assert (a.settlements, a.average_price_share, a.average_value_share) == (2, D("0.9579"), D("0.8451"))
    assert (a.price_below_reference, a.off_agreed_terms) == (1, 1)
    b = rows[(orex.buyer.name, this_month)]
    assert (b.settlements, b.average_price_share, b.average_value_share, b.flagged) == (1, D("0.9759"), D("0.8631"), 0)
    r = rows[(rival.buyer.name, this_month)]
    assert (r.settlements, r.average_price_share, r.flagged) == (1, D("0.9759"), 0)
    # Narrowed to one buyer, as the report filtered by buyer is.
    assert {
        row.buyer for row in fair_price_by_buyer_month(date_from=last_month, date_to=TODAY, buyer=rival.buyer.ruc).rows
    } == {rival.buyer.name}


def test_item8_the_buyer_statement_and_the_portfolio_report_show_the_figures(orex, officer, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from reports import services
    from reports.selectors import portfolio_summary
    from tests.reports.conftest import pdf_text

    _terms(orex.buyer, officer, TODAY - dt.timedelta(days=90))
    for lot, rc in (("S-1", "80"), ("S-2", "90")):
        orex.client.post(
            "/api/v1/settlements/",
            settlement_body(orex.supplier, lot, commercial_deduction_usd_oz=rc),
            format="json",
        )

    statement = services.buyer_statement(buyer=orex.buyer, date_from=TODAY.replace(day=1), date_to=TODAY)
    rows = {row.lot_code: row for row in statement.settlements}
    assert (rows["S-1"].price_share, rows["S-1"].value_share, rows["S-1"].fair_price_flags) == (
        D("0.9759"),
        D("0.8631"),
        (),
    )
    assert (rows["S-2"].fair_price_flags, rows["S-2"].terms_deviations) == (("off_agreed_terms",), ("rc",))
    text = pdf_text(services.buyer_statement_pdf(statement, lang="en"), tmp_path, "statement")
    assert "97.59%" in text and "86.31%" in text and "off agreed terms (rc)" in text

    summary = portfolio_summary(as_of=TODAY, date_from=TODAY.replace(day=1))
    [row] = services.portfolio_tables(summary)["fair-price"].rows
    # (0.9759 + 0.9729) / 2 = 0.9744; (0.8631 + 0.8601) / 2 = 0.8616; one settlement off terms.
    assert row[1:] == (TODAY.strftime("%Y-%m"), 2, D("97.44"), D("86.16"), 0, 1)
    report = pdf_text(services.portfolio_pdf(summary, lang="en"), tmp_path, "portfolio")
    assert "Fair-price check per buyer and month" in report and "97.44%" in report
