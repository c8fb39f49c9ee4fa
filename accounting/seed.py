"""The seeded chart of accounts, role mappings and posting rules (``accounting.rules``), written once:
by the data migration, and again by the posting run if the tables are empty (a test database flushed
between transactional tests, a lender who cleared them to start over). Takes the model classes, so the
migration can pass its historical ones."""

from __future__ import annotations

import datetime as dt
from typing import Any

from accounting import rules

SEED_FROM = dt.date(2000, 1, 1)
CURRENCIES = ("PEN", "USD")


def seed_chart(*, account_model: Any, mapping_model: Any, rule_model: Any) -> None:
    by_role = {}
    for role, sbs_code, kind, name in rules.CHART:
        for currency in CURRENCIES:
            suffix = "MN" if currency == "PEN" else "ME"
            account, _ = account_model.objects.get_or_create(
                code=rules.currency_code(sbs_code, currency),
                defaults={"name": f"{name} ({suffix})", "kind": kind, "currency": currency, "sbs_code": sbs_code},
            )
            by_role[(role, currency)] = account
    for role, same_as in rules.EXTRA_ROLES.items():
        for currency in CURRENCIES:
            by_role[(role, currency)] = by_role[(same_as, currency)]
    for (role, currency), account in by_role.items():
        mapping_model.objects.get_or_create(
            role=role, currency=currency, effective_from=SEED_FROM, defaults={"account": account}
        )
    for event, component, debit, credit in rules.RULES:
        rule_model.objects.get_or_create(
            event=event,
            component=component,
            effective_from=SEED_FROM,
            defaults={"debit_role": debit, "credit_role": credit},
        )


def seed_if_empty() -> None:
    from accounting.models import Account, PostingRule, RoleMapping

    if not PostingRule.objects.exists():
        seed_chart(account_model=Account, mapping_model=RoleMapping, rule_model=PostingRule)
