import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    """The import service speaks the caller's language (Spanish by default); these tests read English."""
    with translation.override("en"):
        yield
