import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def _english():  # type: ignore[no-untyped-def]
    """The services speak the caller's language (Spanish by default); these tests read English."""
    with translation.override("en"):
        yield


@pytest.fixture(autouse=True)
def _plain_static_files(settings):  # type: ignore[no-untyped-def]
    # The manifest storage needs `collectstatic`; pages render the same with plain storage.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def orex(db):  # type: ignore[no-untyped-def]
    """Our buyer, Minera Orex, with one supplier and an API key (as in tests/api)."""
    from tests.api.conftest import _buyer_persona

    return _buyer_persona("Minera Orex S.A.C.")
