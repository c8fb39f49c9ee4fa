from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from config import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("i18n/language/", views.set_language, name="set_language"),
    path("healthz", views.healthz, name="healthz"),
    path("api/v1/schema/", SpectacularAPIView.as_view(api_version="v1"), name="api-schema"),
    # The split view serves its start-up script as a file: no inline script, as the CSP requires.
    path("api/v1/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
    path("api/v1/", include("config.api_urls")),
    path("reports/", include("reports.urls")),
    path("", include("config.web_urls")),
]

handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
