"""The officer web application's URLs. Each app adds its own include here."""

from django.contrib.auth import views as auth_views
from django.urls import path

from asmcredit import views

urlpatterns = [
    path(
        "accounts/login/", auth_views.LoginView.as_view(template_name="registration/login.html"), name="login"
    ),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
]
