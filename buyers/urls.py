"""Pages for buyer companies' users (mounted at /buyer/), and the staff page of a buyer's agreed terms."""

from django.urls import path

from buyers import views

app_name = "buyers"
urlpatterns = [
    path("settlements/upload/", views.settlements_upload, name="settlements-upload"),
    path("settlements/template.<str:fmt>", views.settlements_template, name="settlements-template"),
    path("<int:pk>/terms/", views.buyer_terms, name="terms"),
]
