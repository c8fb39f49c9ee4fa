from django.urls import path

from miners import views

app_name = "miners"
urlpatterns = [
    path("", views.miner_list, name="list"),
    path("new/", views.miner_create, name="create"),
    path("<int:pk>/", views.miner_detail, name="detail"),
    path("<int:pk>/edit/", views.miner_edit, name="edit"),
    path("import/", views.miners_import, name="import"),
    path("import/settlements/", views.settlements_import, name="import-settlements"),
]
