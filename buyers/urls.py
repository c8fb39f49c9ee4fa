"""Pages for buyer companies' users (mounted at /buyer/), and the staff page of a buyer's agreed terms."""

from django.urls import path

from buyers import views

app_name = "buyers"
urlpatterns = [
    path("settlements/upload/", views.settlements_upload, name="settlements-upload"),
    path("<int:pk>/terms/", views.buyer_terms, name="terms"),
]
