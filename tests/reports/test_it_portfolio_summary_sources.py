"""portfolio_summary on a date the nightly job rated for every loan (figures straight from the ratings,
the loans' own records left unread), and the session it runs in."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection

from reports.selectors import portfolio_summary
from tests.reports.conftest import AS_OF, PERIOD_FROM, rate_loan

pytestmark = pytest.mark.django_db


def test_it_reads_every_loan_from_its_rating_when_the_date_is_rated(portfolio):
    p = portfolio
    rate_loan(p.rosa_loan, AS_OF, dpd=45, category="deficiente", outstanding=Decimal("3000.00"))
    rate_loan(p.mario_loan, AS_OF, dpd=0, category="normal", outstanding=Decimal("19000.00"))
    rate_loan(p.juana_loan, AS_OF, dpd=95, category="dudoso", outstanding=Decimal("1000.00"))
    rate_loan(p.pedro_old_loan, AS_OF, dpd=0, category="normal", outstanding=Decimal("0.00"))  # paid off
    # Pedro's loan keeps the fixture's rating: Normal, S/ 2,000.00.
    s = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert (s.rated_loans, s.derived_loans, s.active_loans) == (4, 0, 4)
    assert s.outstanding == Decimal("25000.00")
    assert (s.par1_amount, s.par30_amount) == (Decimal("4000.00"), Decimal("4000.00"))  # Rosa and Juana
    assert s.par90_amount == Decimal("1000.00")  # Juana
    categories = {row.category: (row.loans, row.outstanding) for row in s.categories}
    assert categories["normal"] == (2, Decimal("21000.00"))
    assert categories["deficiente"] == (1, Decimal("3000.00"))
    assert categories["dudoso"] == (1, Decimal("1000.00"))
    buyers = {row.label: (row.outstanding, row.par30) for row in s.by_buyer}
    assert buyers["Minera Orex S.A.C."] == (Decimal("3000.00"), Decimal("1.0000"))
    assert buyers["Planta Sur E.I.R.L."] == (Decimal("19000.00"), Decimal("0.0000"))
    # A filtered report reads the same ratings.
    orex = portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM, buyer=p.orex)
    assert (orex.rated_loans, orex.outstanding, orex.par30) == (1, Decimal("3000.00"), Decimal("1.0000"))


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL session settings")
def test_it_leaves_the_callers_transaction_settings_as_they_were(portfolio):
    def settings() -> tuple[str, str]:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_setting('work_mem'), current_setting('jit')")
            return cursor.fetchone()

    before = settings()  # the test runs inside a transaction, as a caller's atomic block would
    portfolio_summary(as_of=AS_OF, date_from=PERIOD_FROM)
    assert settings() == before
