"""Issue 14, item 2: the chart of accounts, the role mappings and the posting rules are data the lender
edits in the admin; each edit is audited with the row before and after, like every other change."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounting.models import Account, PostingRule, RoleMapping
from accounting.seed import seed_if_empty
from asmcredit.models import AuditEvent

pytestmark = pytest.mark.django_db


def test_a_sub_account_and_its_mapping_added_in_the_admin_are_audited(admin_client) -> None:  # type: ignore[no-untyped-def]
    seed_if_empty()
    added = admin_client.post(
        reverse("admin:accounting_account_add"),
        {
            "code": "1411.05",
            "name": "Créditos vigentes: equipos",
            "kind": "asset",
            "currency": "PEN",
            "sbs_code": "1401",
            "active": "on",
        },
    )
    assert added.status_code == 302, added.content.decode()[:2000]
    account = Account.objects.get(code="1411.05")
    mapped = admin_client.post(
        reverse("admin:accounting_rolemapping_add"),
        {"role": "loan_vigente", "currency": "PEN", "account": account.pk, "effective_from": "2027-01-01"},
    )
    assert mapped.status_code == 302, mapped.content.decode()[:2000]
    mapping = RoleMapping.objects.get(role="loan_vigente", currency="PEN", effective_from="2027-01-01")

    events = {(e.action, e.object_type, e.object_id): e for e in AuditEvent.objects.filter(action__startswith="admin.")}
    assert ("admin.add", "accounting.Account", str(account.pk)) in events
    assert (events[("admin.add", "accounting.RoleMapping", str(mapping.pk))].after or {})["account_id"] == account.pk


def test_a_posting_rule_changed_in_the_admin_keeps_the_rule_before(admin_client) -> None:  # type: ignore[no-untyped-def]
    seed_if_empty()
    rule = PostingRule.objects.get(event="remittance", component="amount")
    form = {
        "event": rule.event,
        "component": rule.component,
        "debit_role": rule.debit_role,
        "credit_role": "overpayment_credit",
        "effective_from": rule.effective_from.isoformat(),
        "description": "",
    }
    changed = admin_client.post(reverse("admin:accounting_postingrule_change", args=[rule.pk]), form)
    assert changed.status_code == 302, changed.content.decode()[:2000]
    event = AuditEvent.objects.get(action="admin.change", object_type="accounting.PostingRule")
    assert (event.before or {})["credit_role"] == "buyer_receivable"
    assert (event.after or {})["credit_role"] == "overpayment_credit"
