"""The servicing personas (Minera Orex, Rosa, Teodoro, the product) for the edge cases of issue 11."""

from tests.installments.conftest import orex, product, rosa, teodoro  # noqa: F401
