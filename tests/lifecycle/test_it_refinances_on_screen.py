"""Issue 13, item 2 on screen and in the documents: "Refinance…" on the loan page, a preview of the new
cronograma with the consolidation choice, the proposal; the refinanced loan's page says so and links to the
loans it replaced and back; the loan history, the miner's statement and the portfolio figures show it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from installments.services import loan_disburse, payoff_quote
from loans.models import Loan, LoanApplication
from loans.services import application_approve
from reports.loan_history import loan_history
from reports.selectors import portfolio_summary, refinanced_portfolio
from reports.services.miner_statement import miner_statement
from tests.installments.conftest import disburse

pytestmark = pytest.mark.django_db

D = Decimal
TODAY = timezone.localdate()


@pytest.fixture
def loans(officer, teodoro, product) -> tuple[Loan, Loan]:  # type: ignore[no-untyped-def]
    disbursed = TODAY - dt.timedelta(days=70)
    late = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        disbursed_on=disbursed,
        first_due_on=disbursed + dt.timedelta(days=30),
    )
    other = disburse(
        miner=teodoro,
        product=product,
        officer=officer,
        amount=D("2000.00"),
        disbursed_on=TODAY - dt.timedelta(days=3),
        first_due_on=TODAY + dt.timedelta(days=27),
    )
    return late, other


def _english(client) -> None:  # type: ignore[no-untyped-def]
    client.post(reverse("set_language"), {"language": "en", "next": "/"})


def test_an_officer_previews_and_proposes_and_the_pages_link_both_ways(
    client, officer, approver, analyst, loans
) -> None:  # type: ignore[no-untyped-def]
    late, other = loans
    url = reverse("lifecycle:refinance-new", args=[late.pk])
    client.force_login(analyst)
    assert "Refinance…" not in client.get(reverse("loans:detail", args=[late.pk])).content.decode()
    assert client.post(url, {"term": 12}).status_code == 403

    client.force_login(officer)
    _english(client)
    assert url in client.get(reverse("loans:detail", args=[late.pk])).content.decode()
    page = client.get(url).content.decode()
    assert other.code in page and "Preview the new cronograma" in page
    form = {
        "term": "12",
        "first_due_on": (TODAY + dt.timedelta(days=30)).isoformat(),
        "also_loans": [str(other.pk)],
        "purpose_note": "The plant closed for the rainy season.",
    }
    owed = payoff_quote(loan=late, on=TODAY).total + payoff_quote(loan=other, on=TODAY).total
    preview = client.post(url, {**form, "preview": "1"})
    assert preview.status_code == 200
    body = preview.content.decode()
    assert "New cronograma (preview)" in body and f"{owed:,.2f}" in body
    assert not LoanApplication.objects.filter(is_refinancing=True).exists()
    bad = client.post(url, {**form, "first_due_on": TODAY.isoformat(), "propose": "1"})
    assert bad.status_code == 400 and not LoanApplication.objects.filter(is_refinancing=True).exists()
    proposed = client.post(url, {**form, "propose": "1"})
    application = LoanApplication.objects.get(is_refinancing=True)
    assert proposed.status_code == 302 and proposed["Location"] == reverse(
        "loans:application-detail", args=[application.pk]
    )
    assert application.amount == owed and application.status == LoanApplication.Status.SUBMITTED
    # The loan is in a proposal now: the page says so instead of offering the form again.
    assert f"proposal #{application.pk}" in client.get(url).content.decode()

    application_approve(
        application=application, approver=approver, comment="The plant closed; both loans consolidated."
    )
    new = loan_disburse(application=application, actor=officer)
    page = client.get(reverse("loans:detail", args=[new.pk])).content.decode()
    assert "data-refinanced" in page and "Refinanced on" in page
    assert reverse("loans:detail", args=[late.pk]) in page and reverse("loans:detail", args=[other.pk]) in page
    old_page = client.get(reverse("loans:detail", args=[late.pk])).content.decode()
    assert "Refinanced by" in old_page and reverse("loans:detail", args=[new.pk]) in old_page
    assert reverse("lifecycle:refinance-new", args=[late.pk]) not in old_page  # closed: nothing to refinance

    # The history of both loans, the miner's statement and the portfolio figures.
    old_history = [item.label for item in loan_history(loan=late).items]
    assert "Closed by a refinancing (its payoff became the new loan's principal)" in old_history
    new_history = loan_history(loan=new).items
    opened = next(item for item in new_history if item.action == "loan.refinance")
    assert opened.amount == owed and late.code in opened.note and other.code in opened.note
    assert "Refinancing proposed" in [item.label for item in new_history]
    statement = miner_statement(miner=late.miner, date_from=TODAY - dt.timedelta(days=100), date_to=TODAY)
    by_code = {row.code: row for row in statement.loans}
    closing = [entry for entry in by_code[late.code].entries if entry.kind == "refinance"]
    assert len(closing) == 1 and closing[0].reference == new.code and by_code[late.code].closing_balance == 0
    assert by_code[new.code].closing_balance == owed
    figures = refinanced_portfolio(as_of=TODAY)
    assert (figures.loans, figures.outstanding) == (1, owed)
    assert refinanced_portfolio(as_of=TODAY - dt.timedelta(days=1)).loans == 0
    summary = portfolio_summary(as_of=TODAY)
    assert (summary.refinanced_loans, summary.refinanced_outstanding) == (1, owed)
    assert summary.active_loans == 1  # the refinanced loans left the book
