"""The API personas, shared with tests/api."""

from tests.api.conftest import _fresh_throttle, officer_api  # noqa: F401
