"""The lender's roles, as Django groups (created by a data migration)."""

from __future__ import annotations

from typing import Any

LOAN_OFFICER = "loan_officer"
CREDIT_APPROVER = "credit_approver"
NGO_ANALYST = "ngo_analyst"
LENDER_ADMIN = "lender_admin"
# Tesorería: records the buyers' remittances and resolves reconciliation exceptions, and originates nothing.
TREASURY = "treasury"
# Contabilidad: reads the loan sub-ledger, closes and reopens its months (the group: accounting 0001).
ACCOUNTANT = "accountant"
ROLES = (LOAN_OFFICER, CREDIT_APPROVER, NGO_ANALYST, LENDER_ADMIN, TREASURY, ACCOUNTANT)
# Who reads the journal, the trial balance and the tie-outs; who closes and reopens a month.
ACCOUNTING_READERS = (ACCOUNTANT, LENDER_ADMIN)
ACCOUNTING_CLOSERS = (ACCOUNTANT, LENDER_ADMIN)

# Who records a buyer's remittance on screen and resolves reconciliation exceptions. Loan officers keep
# the right they already had through the API (``asmcredit.api.STAFF_WRITERS``) and the buyer page;
# dropping LOAN_OFFICER here leaves treasury work to treasury and the lender admin.
TREASURY_WRITERS = (TREASURY, LOAN_OFFICER, LENDER_ADMIN)


def user_roles(user: Any) -> set[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "groups"):
        return set()
    cached = getattr(user, "_asm_roles", None)
    if cached is None:
        cached = set(user.groups.values_list("name", flat=True))
        if user.is_superuser:
            cached.add(LENDER_ADMIN)
        user._asm_roles = cached
    return set(cached)


def has_role(user: Any, *roles: str) -> bool:
    return bool(user_roles(user) & set(roles))
