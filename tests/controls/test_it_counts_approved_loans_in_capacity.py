"""Payment capacity counts the installments of the miner's approved-but-undisbursed applications, not
only of active loans: an approval commits the capacity before the money leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from loans.models import LoanApplication
from loans.services import application_approve, application_create, application_schedule, application_submit
from loans.underwriting import months_before, underwriting_panel
from tests.factories import LoanProductFactory
from tests.web.conftest import settle


def _application(officer, draft, amount: str, product=None) -> LoanApplication:  # type: ignore[no-untyped-def]
    return application_create(
        miner=draft.miner,
        product=product or draft.product,
        amount=Decimal(amount),
        term=6,
        disbursement_date=draft.disbursement_date,
        first_due_on=draft.first_due_on,
        prepared_by=officer,
        withholding_buyer=draft.withholding_buyer,
    )


def test_it_counts_an_approved_undisbursed_application_as_another_installment(officer, approver, draft) -> None:  # type: ignore[no-untyped-def]
    as_of = draft.disbursement_date
    for n, key in enumerate(months_before(as_of, 12)):
        settle(draft.withholding_buyer, draft.miner, dt.date(int(key[:4]), int(key[5:]), 15), "1000", n)
    assert underwriting_panel(application=draft, as_of=as_of).capacity.other_installments == Decimal("0.00")

    earlier = _application(officer, draft, "20000.00")
    application_submit(application=earlier, actor=officer, underwriting={})
    application_approve(application=earlier, approver=approver)
    pending = max(line.total for line in application_schedule(earlier).lines)
    # An approval in another currency and a draft do not commit this capacity (S/ 3,750 a month).
    in_dollars = _application(officer, draft, "9000.00", product=LoanProductFactory(currency="USD"))
    application_submit(application=in_dollars, actor=officer, underwriting={})
    application_approve(application=in_dollars, approver=approver)
    _application(officer, draft, "9000.00")

    panel = underwriting_panel(application=draft, as_of=as_of)
    assert panel.capacity.other_installments == pending
    assert panel.ratio_pct == ((panel.installment + pending) / Decimal("3750") * 100).quantize(Decimal("0.01"))
    assert panel.as_dict()["capacity"]["other_installments"] == str(pending)
