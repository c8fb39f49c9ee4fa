"""The accounting personas: the servicing ones (Minera Orex, Rosa, Teodoro, the product) and Ana the
accountant, who closes months."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from accounting.models import JournalEntry
from tests.degraded.conftest import own_redis  # noqa: F401 - a Redis of the test's own, for real workers
from tests.installments.conftest import orex, product, rosa, teodoro  # noqa: F401


@pytest.fixture
def accountant(django_user_model):  # type: ignore[no-untyped-def]
    from tests.conftest import _user

    return _user(django_user_model, "ana.contadora", "accountant")


def entry_lines(entry: JournalEntry) -> list[tuple[str, Decimal, Decimal]]:
    """An entry as (account code, debit, credit), debits first — what an accountant reads."""
    return sorted(
        ((line.account.code, line.debit, line.credit) for line in entry.lines.select_related("account")),
        key=lambda row: (-row[1], row[0], row[2]),
    )


def entries(**filters: Any) -> list[JournalEntry]:
    return list(JournalEntry.objects.filter(**filters).order_by("id"))
