"""The chart and the posting rules as they stand on a date, loaded once per posting run."""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from accounting.models import PostingRule, RoleMapping


class RuleAccount(NamedTuple):
    """One side of a rule resolved to an account over [valid_from, valid_to): +1 debit, -1 credit."""

    event: str
    component: str
    currency: str
    valid_from: dt.date
    valid_to: dt.date
    account_id: int
    sign: int


@dataclass
class Chart:
    """Effective-dated posting rules and role mappings, in memory (a few hundred rows)."""

    rule_rows: dict[tuple[str, str], list[tuple[dt.date, tuple[str, str]]]] = field(default_factory=dict)
    mapping_rows: dict[tuple[str, str], list[tuple[dt.date, int]]] = field(default_factory=dict)
    _rules_cache: dict[dt.date, dict[tuple[str, str], tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def load(cls) -> Chart:
        from accounting.seed import seed_if_empty

        seed_if_empty()
        rules: dict[tuple[str, str], list[tuple[dt.date, tuple[str, str]]]] = defaultdict(list)
        for rule in PostingRule.objects.order_by("effective_from"):
            rules[(rule.event, rule.component)].append((rule.effective_from, (rule.debit_role, rule.credit_role)))
        mappings: dict[tuple[str, str], list[tuple[dt.date, int]]] = defaultdict(list)
        for mapping in RoleMapping.objects.order_by("effective_from"):
            mappings[(mapping.role, mapping.currency)].append((mapping.effective_from, mapping.account_id))
        return cls(rule_rows=dict(rules), mapping_rows=dict(mappings))

    @staticmethod
    def _on(rows: list[tuple[dt.date, object]], on: dt.date) -> object | None:
        index = bisect.bisect_right([row[0] for row in rows], on) - 1
        return rows[index][1] if index >= 0 else None

    def rules_on(self, on: dt.date) -> dict[tuple[str, str], tuple[str, str]]:
        cached = self._rules_cache.get(on)
        if cached is None:
            cached = {}
            for key, rows in self.rule_rows.items():
                rule = self._on(rows, on)  # type: ignore[arg-type]
                if rule is not None:
                    cached[key] = rule  # type: ignore[assignment]
            self._rules_cache[on] = cached
        return cached

    def account(self, role: str, currency: str, on: dt.date) -> int:
        rows = self.mapping_rows.get((role, currency))
        account_id = self._on(rows, on) if rows else None  # type: ignore[arg-type]
        if account_id is None:
            raise LookupError(f"No account mapped to role {role} in {currency} on {on}")
        return account_id  # type: ignore[return-value]

    def rule_accounts(self, *, currencies: list[str]) -> list[RuleAccount]:
        """Every rule in every currency as accounts, per interval between two effective dates (of a rule
        or of a role mapping), for set-based posting (``accounting.deltas``). A rule whose roles are not
        both mapped in a currency on an interval gives no rows there (posting it is a ``LookupError``)."""
        starts = {dt.date.min}
        for rule_rows in self.rule_rows.values():
            starts.update(day for day, _ in rule_rows)
        for mapping_rows in self.mapping_rows.values():
            starts.update(day for day, _ in mapping_rows)
        ordered = sorted(starts)
        result: list[RuleAccount] = []
        for start, end in zip(ordered, [*ordered[1:], dt.date.max], strict=True):
            for (event, component), (debit, credit) in self.rules_on(start).items():
                for currency in currencies:
                    try:
                        debit_account = self.account(debit, currency, start)
                        credit_account = self.account(credit, currency, start)
                    except LookupError:
                        continue
                    result.append(RuleAccount(event, component, currency, start, end, debit_account, 1))
                    result.append(RuleAccount(event, component, currency, start, end, credit_account, -1))
        return result
