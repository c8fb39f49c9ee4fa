"""REST API v1 routes (owned by the API)."""

urlpatterns: list = []
