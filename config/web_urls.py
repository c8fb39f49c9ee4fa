"""The officer web application's URLs. Each app adds its own include here."""

from django.contrib.auth import views as auth_views
from django.urls import include, path

from config import views

urlpatterns = [
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(template_name="registration/login.html", redirect_authenticated_user=True),
        name="login",
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("jobs/<int:pk>/", views.job_detail, name="job-detail"),
    path("jobs/<int:pk>/progress/", views.job_progress, name="job-progress"),
    path("miners/", include("miners.urls")),
    path("loans/", include("loans.urls")),
    path("", include("installments.urls")),
    path("buyer/", include("buyers.urls")),
    path("", include("notices.urls")),
    path("", include("lifecycle.urls")),
    path("", include("accounting.urls")),
]
