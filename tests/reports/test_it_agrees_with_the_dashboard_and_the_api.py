"""For one as-of date the portfolio figures are the same on the dashboard, in the API and in the PDF:
all three read reports.selectors.portfolio_summary."""

from __future__ import annotations

import pytest

from asmcredit.tokens import staff_token_issue
from reports import formatting, services
from reports.selectors import portfolio_current, portfolio_summary
from tests.reports.conftest import AS_OF, PERIOD_FROM, pdf_text

pytestmark = pytest.mark.django_db


def test_it_shows_the_same_figures_everywhere(portfolio, client, officer, monkeypatch, tmp_path):
    summary = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    outstanding = formatting.soles(summary.outstanding)
    par30 = formatting.ratio(summary.par30)
    assert summary.active_loans > 0 and summary.par30 > 0  # the fixture has a late loan

    document = pdf_text(services.portfolio_pdf(summary, lang="es"), tmp_path)
    assert outstanding in document and par30 in document

    token, _ = staff_token_issue(user=officer, actor="tests")
    api = client.get(
        f"/api/v1/portfolio/?as_of={AS_OF.isoformat()}&from={PERIOD_FROM.isoformat()}",
        HTTP_AUTHORIZATION=f"Token {token}",
    ).json()
    assert api["outstanding"] == str(summary.outstanding)
    assert (api["par1"], api["par30"], api["par90"]) == tuple(
        str(x) for x in (summary.par1, summary.par30, summary.par90)
    )
    assert api["active_loans"] == summary.active_loans

    # The dashboard is "as of today": make today the report's as-of date. Its stock is the loans'
    # current state (issue #11 item 9), not the dated rating the report reads for Pedro's loan.
    monkeypatch.setattr("django.utils.timezone.localdate", lambda *args, **kwargs: AS_OF)
    client.force_login(officer)
    dashboard = client.get("/").content.decode()
    current = portfolio_current(as_of=AS_OF)
    assert formatting.soles(current.outstanding) in dashboard
    assert formatting.ratio(current.par30) in dashboard
