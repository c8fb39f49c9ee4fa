"""The servicing personas (Olga the officer, the mercury-free equipment product) for the races here."""

from __future__ import annotations

from tests.installments.conftest import _fast_password_hashing, product

__all__ = ["_fast_password_hashing", "product"]
