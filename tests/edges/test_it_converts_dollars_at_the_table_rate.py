"""Item 7 of issue #11: portfolio figures in soles state dollar balances at the exchange rate of the
as-of date from the effective-dated table (DOMAIN.md §4, last paragraph; §6).

Figures are worked by hand. The issue's debtor: US$ 100 in Pérdida and S/ 10,000 Normal. At S/ 3.75
the dollar loan is S/ 375.00 of S/ 10,375.00; the threshold is max(S/ 100, 1% × 10,375 = 103.75) =
S/ 103.75 and 375.00 ≥ 103.75, so the debtor is Pérdida (adding US$ 100 as if soles gave 100 < 101:
Normal)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from asmcredit.audit import AuditEvent
from asmcredit.models import JobRun
from installments.models import LoanRating, PortfolioRating
from installments.services import portfolio_rate
from rates.fx import MissingExchangeRate, fx_rate
from rates.models import ExchangeRate
from tests.factories import MinerFactory
from tests.installments.conftest import disburse, make_product

D = Decimal
AS_OF = dt.date(2025, 9, 30)


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):  # type: ignore[no-untyped-def]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def soles(db):  # type: ignore[no-untyped-def]
    return make_product()


@pytest.fixture
def dollars(db):  # type: ignore[no-untyped-def]
    return make_product(code="equipo-dolares", name="Equipo en dólares", currency="USD", min_amount=D("100"))


def late_by(days: int, *, officer, product, amount, miner=None):  # type: ignore[no-untyped-def]
    """A loan whose first installment fell due ``days`` before AS_OF and was never paid."""
    first_due = AS_OF - dt.timedelta(days=days)
    return disburse(
        miner=miner or MinerFactory.create(),
        product=product,
        officer=officer,
        amount=amount,
        disbursed_on=first_due - dt.timedelta(days=30),
        first_due_on=first_due,
        term=12,
    )


def usd_rate(day: dt.date, rate: str) -> ExchangeRate:
    return ExchangeRate.objects.create(currency="USD", rate_on=day, soles_per_unit=D(rate), source="SBS")


@pytest.fixture
def book(officer, soles, dollars):  # type: ignore[no-untyped-def]
    """Debtor A (the issue's): US$ 100 at 130 dpd + S/ 10,000 current. B: US$ 2,000 current.
    C: S/ 5,000 at 40 dpd. Rates: 3.70 on 09-25, 3.75 on 09-29, 3.90 on 10-01 (after the as-of date)."""
    usd_rate(dt.date(2025, 9, 25), "3.7000")
    usd_rate(dt.date(2025, 9, 29), "3.7500")
    usd_rate(dt.date(2025, 10, 1), "3.9000")
    debtor = MinerFactory.create()
    return {
        "a_usd": late_by(130, officer=officer, product=dollars, amount=D("100.00"), miner=debtor),
        "a_pen": late_by(0, officer=officer, product=soles, amount=D("10000.00"), miner=debtor),
        "b_usd": late_by(0, officer=officer, product=dollars, amount=D("2000.00")),
        "c_pen": late_by(40, officer=officer, product=soles, amount=D("5000.00")),
    }


def test_item7_the_issues_debtor_is_aligned_perdida_by_the_nightly_rating(book) -> None:
    run = portfolio_rate(as_of=AS_OF)

    def rated(key: str) -> tuple[str, str, Decimal, Decimal]:
        r = LoanRating.objects.get(loan=book[key], as_of=AS_OF)
        return r.category, r.aligned_category, r.outstanding_principal, r.provision

    # Balances and provisions stay in the loan's currency; the alignment reads them in soles.
    assert rated("a_usd") == ("perdida", "perdida", D("100.00"), D("100.00"))
    assert rated("a_pen") == ("normal", "perdida", D("10000.00"), D("10000.00"))
    assert rated("b_usd") == ("normal", "normal", D("2000.00"), D("20.00"))
    assert rated("c_pen") == ("deficiente", "deficiente", D("5000.00"), D("1250.00"))
    # The run names the rate it used: the latest on or before the as-of date (09-29), not 10-01's.
    assert run.status == "succeeded"
    assert run.detail["fx_rates"]["USD"]["soles_per_unit"] == "3.7500"
    assert run.detail["fx_rates"]["USD"]["rate_on"] == "2025-09-29"
    assert run.detail["fx_stale"] == []


def test_item7_par_and_provisions_in_soles_mix_currencies_at_the_table_rate(book) -> None:
    portfolio_rate(as_of=AS_OF)

    p = PortfolioRating.objects.get(as_of=AS_OF)
    # Outstanding: 100 × 3.75 + 10,000 + 2,000 × 3.75 + 5,000 = 375 + 10,000 + 7,500 + 5,000.
    assert p.outstanding_principal == D("22875.00")
    # PAR1 = PAR30 = (375 + 5,000) / 22,875 = 0.23497 → 0.2350; PAR90 = 375 / 22,875 = 0.01639 → 0.0164.
    assert (p.par1, p.par30, p.par90) == (D("0.2350"), D("0.2350"), D("0.0164"))
    # Generic: US$ 20 × 3.75 = 75.00. Specific: 100 × 3.75 + 10,000 + 1,250 = 11,625.00.
    assert (p.generic_provision, p.specific_provision) == (D("75.00"), D("11625.00"))
    assert p.by_category["perdida"] == {"loans": 2, "outstanding": "10375.00", "provision": "10375.00"}
    assert p.by_category["normal"] == {"loans": 1, "outstanding": "7500.00", "provision": "75.00"}


def test_item7_uses_the_latest_rate_on_or_before_the_date_and_reports_a_stale_one(db) -> None:
    usd_rate(dt.date(2025, 9, 20), "3.7000")
    usd_rate(dt.date(2025, 9, 29), "3.7500")
    used = fx_rate(currency="USD", on=dt.date(2025, 9, 28))
    assert (used.soles_per_unit, used.rate_on) == (D("3.7000"), dt.date(2025, 9, 20))
    # 7 days old is still current; 8 days is stale (DOMAIN.md §4: older than 7 days is reported).
    assert fx_rate(currency="USD", on=dt.date(2025, 9, 27)).stale is False
    assert fx_rate(currency="USD", on=dt.date(2025, 9, 28)).age_days == 8
    assert fx_rate(currency="USD", on=dt.date(2025, 9, 28)).stale is True
    assert fx_rate(currency="USD", on=dt.date(2025, 9, 29)).soles_per_unit == D("3.7500")
    assert fx_rate(currency="PEN", on=dt.date(2025, 9, 28)).soles_per_unit == 1
    with pytest.raises(MissingExchangeRate):
        fx_rate(currency="USD", on=dt.date(2025, 9, 19))


def test_item7_the_rating_run_records_a_stale_rate(officer, dollars) -> None:
    usd_rate(dt.date(2025, 9, 20), "3.7500")
    late_by(0, officer=officer, product=dollars, amount=D("2000.00"))

    run = portfolio_rate(as_of=AS_OF)

    assert run.detail["fx_stale"] == ["USD"]
    assert run.detail["fx_rates"]["USD"] | {"age_days": 10, "stale": True} == run.detail["fx_rates"]["USD"]
    assert PortfolioRating.objects.get(as_of=AS_OF).outstanding_principal == D("7500.00")


def test_item7_a_dollar_loan_without_a_rate_fails_the_rating_loudly(officer, soles, dollars) -> None:
    late_by(0, officer=officer, product=dollars, amount=D("2000.00"))
    late_by(0, officer=officer, product=soles, amount=D("2000.00"))

    with pytest.raises(MissingExchangeRate, match="No exchange rate for USD on or before 2025-09-30"):
        portfolio_rate(as_of=AS_OF)

    run = JobRun.objects.get(name="rate_portfolio")
    assert run.status == "failed" and "No exchange rate for USD" in run.error
    assert not LoanRating.objects.exists() and not PortfolioRating.objects.exists()


def test_item7_a_book_in_soles_needs_no_rate(officer, soles) -> None:
    late_by(40, officer=officer, product=soles, amount=D("2000.00"))

    run = portfolio_rate(as_of=AS_OF)

    assert run.status == "succeeded" and run.detail["fx_rates"] == {}
    assert PortfolioRating.objects.get(as_of=AS_OF).par30 == D("1.0000")


# --- Loading the table: the CSV command -----------------------------------------------------------


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "rates.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_item7_the_load_command_upserts_and_audits(db, tmp_path) -> None:
    usd_rate(dt.date(2025, 9, 29), "3.7000")
    path = _csv(
        tmp_path,
        "currency,date,soles_per_unit,source\nUSD,2025-09-29,3.7512,SBS\nUSD,2025-09-30,3.7600,SBS\n",
    )

    call_command("load_fx_rates", path)
    call_command("load_fx_rates", path)  # the same file again changes nothing

    rates = dict(ExchangeRate.objects.filter(currency="USD").values_list("rate_on", "soles_per_unit"))
    assert rates == {dt.date(2025, 9, 29): D("3.7512"), dt.date(2025, 9, 30): D("3.7600")}
    actions = sorted(AuditEvent.objects.filter(action__startswith="fx_rate.").values_list("action", flat=True))
    assert actions == ["fx_rate.create", "fx_rate.update"]


def test_item7_the_load_command_is_all_or_nothing_and_exits_non_zero_on_a_bad_row(db, tmp_path) -> None:
    path = _csv(
        tmp_path,
        "currency,date,soles_per_unit\nUSD,2025-09-29,3.75\nUSD,2025-09-31,3.76\nPEN,2025-09-30,1\nUSD,2025-10-01,-1\n",
    )

    with pytest.raises(CommandError) as failure:
        call_command("load_fx_rates", path)

    message = str(failure.value)
    assert "Nothing loaded" in message
    assert "line 3: date: '2025-09-31' is not a date" in message
    assert "line 4: currency: soles need no exchange rate" in message
    assert "line 5: soles_per_unit: '-1' is not a positive number" in message
    assert not ExchangeRate.objects.exists()


def test_item7_the_load_command_refuses_a_bad_header_and_a_repeated_day(db, tmp_path) -> None:
    with pytest.raises(CommandError, match="missing column"):
        call_command("load_fx_rates", _csv(tmp_path, "currency,day,rate\nUSD,2025-09-29,3.75\n"))
    with pytest.raises(CommandError, match="already appears on row 2"):
        call_command(
            "load_fx_rates", _csv(tmp_path, "currency,date,soles_per_unit\nUSD,2025-09-29,3.75\nUSD,2025-09-29,3.76\n")
        )
    assert not ExchangeRate.objects.exists()


# --- Every portfolio figure in soles: the report, its PDF header and the dashboard -----------------


def test_item7_the_portfolio_report_states_dollars_in_soles_at_the_as_of_rate(book, tmp_path) -> None:
    from reports import services
    from reports.selectors import portfolio_summary
    from tests.reports.conftest import pdf_text

    s = portfolio_summary(as_of=AS_OF)

    # Derived (no rating for the date): 375.00 + 10,000 + 7,500.00 + 5,000 = 22,875.00, all disbursed.
    assert (s.active_loans, s.outstanding, s.amount_disbursed) == (4, D("22875.00"), D("22875.00"))
    assert (s.par30_amount, s.par30, s.par90_amount) == (D("5375.00"), D("0.2350"), D("375.00"))
    categories = {row.category: (row.loans, row.outstanding) for row in s.categories if row.loans}
    assert categories == {"normal": (2, D("17500.00")), "deficiente": (1, D("5000.00")), "perdida": (1, D("375.00"))}
    assert [(r.currency, r.soles_per_unit, r.rate_on, r.stale) for r in s.fx_rates] == [
        ("USD", D("3.7500"), dt.date(2025, 9, 29), False)
    ]
    assert s.other_currency_loans == 0
    # The dollar book on its own stays in dollars: 100 + 2,000.
    usd = portfolio_summary(as_of=AS_OF, currency="USD")
    assert (usd.outstanding, usd.other_currency_loans, usd.fx_rates) == (D("2100.00"), 2, ())

    text = pdf_text(services.portfolio_pdf(s, lang="es"), tmp_path)
    assert "S/ 3.7500" in text and "30/09/2025" in text and "29/09/2025" in text
    assert "stale rate" not in text.lower()


def test_item7_the_report_and_the_dashboard_warn_of_a_stale_rate(officer, dollars, client, monkeypatch, tmp_path):  # type: ignore[no-untyped-def]
    from reports import services
    from reports.selectors import portfolio_summary
    from tests.reports.conftest import pdf_text

    usd_rate(dt.date(2025, 9, 20), "3.7500")
    late_by(0, officer=officer, product=dollars, amount=D("2000.00"))

    s = portfolio_summary(as_of=AS_OF)
    assert s.outstanding == D("7500.00") and [r.age_days for r in s.fx_stale] == [10]
    text = pdf_text(services.portfolio_pdf(s, lang="en"), tmp_path)
    assert "stale rate: 10 days old" in text

    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: AS_OF)
    client.force_login(officer)
    with translation_override("en"):
        page = client.get("/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "S/ 7,500.00" in page
    # The officer UI is Spanish first.
    assert 'class="badge warn fx-stale"' in page and "(tipo de cambio del 20/09/2025)" in page


def test_item7_the_dashboard_names_a_missing_rate_instead_of_adding_dollars_at_one(  # type: ignore[no-untyped-def]
    officer, dollars, client, monkeypatch
):
    late_by(0, officer=officer, product=dollars, amount=D("2000.00"))
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: AS_OF)
    client.force_login(officer)

    response = client.get("/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="fx-missing"' in page and "USD" in page and "30/09/2025" in page
    assert "S/ 2,000.00" not in page


def translation_override(language: str):  # type: ignore[no-untyped-def]
    from django.utils import translation

    return translation.override(language)


# --- Loading the table: the API ---------------------------------------------------------------------


def test_item7_the_api_lists_rates_to_staff_and_takes_them_from_the_lender_admin(admin_user, analyst, officer):  # type: ignore[no-untyped-def]
    from tests.api.conftest import token_client

    admin, reader, clerk = token_client(admin_user), token_client(analyst), token_client(officer)
    body = {"currency": "USD", "rate_on": "2025-09-29", "soles_per_unit": "3.7512", "source": "SBS"}

    created = admin.post("/api/v1/fx-rates/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["soles_per_unit"] == "3.7512"
    replaced = admin.post("/api/v1/fx-rates/", {**body, "soles_per_unit": "3.7600"}, format="json")
    assert replaced.status_code == 200 and replaced.json()["id"] == created.json()["id"]
    assert ExchangeRate.objects.get().soles_per_unit == D("3.7600")
    assert AuditEvent.objects.filter(action__in=["fx_rate.create", "fx_rate.update"]).count() == 2

    # Every staff role reads; only the lender admin writes reference data.
    listed = reader.get("/api/v1/fx-rates/?currency=USD&on=2025-09-30")
    assert listed.status_code == 200
    assert [(r["rate_on"], r["soles_per_unit"]) for r in listed.json()["results"]] == [("2025-09-29", "3.7600")]
    for outsider in (reader, clerk):
        refused = outsider.post("/api/v1/fx-rates/", body, format="json")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "permission_denied"


def test_item7_the_api_answers_a_bad_rate_with_a_400_naming_the_fields(admin_user) -> None:  # type: ignore[no-untyped-def]
    from tests.api.conftest import token_client

    admin = token_client(admin_user)
    response = admin.post(
        "/api/v1/fx-rates/", {"currency": "PEN", "rate_on": "2025-09-31", "soles_per_unit": "-3"}, format="json"
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert {"currency", "rate_on", "soles_per_unit"} <= set(error["fields"])
    assert not ExchangeRate.objects.exists()


def test_item7_a_buyer_key_cannot_read_the_rates(db) -> None:  # type: ignore[no-untyped-def]
    from buyers.services import api_key_issue
    from tests.api.conftest import key_client
    from tests.factories import BuyerFactory

    raw, _ = api_key_issue(buyer=BuyerFactory.create(), name="erp", actor="tests")
    assert key_client(raw).get("/api/v1/fx-rates/").status_code == 403
