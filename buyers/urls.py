"""Pages for buyer companies' users (mounted at /buyer/)."""

from django.urls import path

from buyers import views

app_name = "buyers"
urlpatterns = [
    path("settlements/upload/", views.settlements_upload, name="settlements-upload"),
]
