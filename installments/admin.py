from django.contrib import admin

from asmcredit.admin import AuditedAdmin, ReadOnlyAdmin
from installments.models import (
    Allocation,
    BookTally,
    BorrowerTally,
    FlowTally,
    LoanRating,
    LoanTransaction,
    OwedTally,
    PortfolioRating,
    ReconciliationException,
    Remittance,
    RemittanceMatch,
    ScheduleLine,
    Withholding,
)


@admin.register(ScheduleLine)
class ScheduleLineAdmin(ReadOnlyAdmin):
    list_display = ["loan", "version", "number", "due_on", "principal", "interest", "total", "status"]
    list_filter = ["status", "is_current"]
    search_fields = ["loan__code"]


@admin.register(LoanTransaction)
class LoanTransactionAdmin(ReadOnlyAdmin):
    list_display = ["loan", "kind", "value_date", "amount", "currency", "recorded_at"]
    list_filter = ["kind"]
    search_fields = ["loan__code", "reference"]


@admin.register(Withholding)
class WithholdingAdmin(ReadOnlyAdmin):
    list_display = ["settlement", "loan", "buyer", "withheld_on", "amount", "remitted_amount", "status"]
    list_filter = ["status", "buyer"]


@admin.register(Remittance)
class RemittanceAdmin(ReadOnlyAdmin):
    list_display = ["buyer", "reference", "amount", "currency", "paid_on", "unmatched_amount"]
    list_filter = ["buyer"]


@admin.register(ReconciliationException)
class ReconciliationExceptionAdmin(AuditedAdmin):
    list_display = ["buyer", "kind", "amount", "detected_on", "status"]
    list_filter = ["kind", "status", "buyer"]
    readonly_fields = ["buyer", "kind", "remittance", "withholding", "amount", "detail", "detected_on"]


@admin.register(LoanRating)
class LoanRatingAdmin(ReadOnlyAdmin):
    list_display = ["loan", "as_of", "days_past_due", "category", "aligned_category", "provision"]
    list_filter = ["as_of", "aligned_category"]


@admin.register(PortfolioRating)
class PortfolioRatingAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "active_loans", "outstanding_principal", "par1", "par30", "par90"]


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ["transaction", "schedule_line", "component", "amount"]
    list_filter = ["component"]
    search_fields = ["transaction__loan__code"]
    list_select_related = ["transaction__loan", "schedule_line__loan"]


@admin.register(RemittanceMatch)
class RemittanceMatchAdmin(ReadOnlyAdmin):
    list_display = ["remittance", "withholding", "amount"]
    search_fields = ["remittance__reference"]
    list_select_related = ["remittance__buyer", "withholding__settlement", "withholding__loan__miner"]


# The dashboard's running totals: kept by database triggers, read here for an operator checking them
# against the book (``manage.py portfolio_tally --rebuild`` repairs any difference).
@admin.register(BookTally)
class BookTallyAdmin(ReadOnlyAdmin):
    list_display = ["id", "currency", "days_past_due", "state_as_of", "loans", "outstanding", "overdue", "borrowers"]
    list_filter = ["currency"]


@admin.register(FlowTally)
class FlowTallyAdmin(ReadOnlyAdmin):
    list_display = ["id", "day", "currency", "loans_disbursed", "disbursed", "withheld", "remitted"]
    list_filter = ["currency"]
    date_hierarchy = "day"


@admin.register(OwedTally)
class OwedTallyAdmin(ReadOnlyAdmin):
    list_display = ["id", "buyer_id", "currency", "owed"]


@admin.register(BorrowerTally)
class BorrowerTallyAdmin(ReadOnlyAdmin):
    list_display = ["miner_id", "loans"]
