"""The next installment a borrower still owes: "Próximo vencimiento" wherever a page or the API shows it.

It is the first installment of the current cronograma not fully paid, overdue or not: an installment
paid early is never shown as the next one due, and one paid in part still is. It is not
``Loan.next_due_on``: that cached column is servicing's horizon (the next due date from today, paid in
advance or not), which tells a buyer how far ahead to withhold (``LedgerState.amount_due``).
"""

from __future__ import annotations

from django.db.models import OuterRef, QuerySet, Subquery

from installments.models import ScheduleLine
from loans.models import Loan


def loans_with_next_due(loans: QuerySet[Loan]) -> QuerySet[Loan]:
    """``loans`` annotated with ``next_unpaid_due_on``: the due date of the loan's first installment not
    fully paid, or None once every installment is paid. A subquery in the same query (on the
    cronograma's ``(loan, version, number)`` index), so a list costs no query per row."""
    first_unpaid = (
        ScheduleLine.objects.filter(loan_id=OuterRef("pk"), is_current=True)
        .exclude(status=ScheduleLine.Status.PAID)
        .order_by("due_on", "number")
        .values("due_on")[:1]
    )
    return loans.annotate(next_unpaid_due_on=Subquery(first_unpaid))
