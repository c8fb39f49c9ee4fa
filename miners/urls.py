from django.urls import path

from miners import documents, views

app_name = "miners"
urlpatterns = [
    path("", views.miner_list, name="list"),
    path("new/", views.miner_create, name="create"),
    path("<int:pk>/", views.miner_detail, name="detail"),
    path("<int:pk>/edit/", views.miner_edit, name="edit"),
    path("<int:pk>/documents/new/", documents.document_add, name="document-add"),
    path("<int:pk>/documents/<int:document_pk>/", documents.document_file, name="document-file"),
    path("<int:pk>/trainings/new/", documents.training_add, name="training-add"),
    path("import/", views.miners_import, name="import"),
    path("import/settlements/", views.settlements_import, name="import-settlements"),
    path("import/template.<str:fmt>", views.miners_import_template, name="import-template"),
]
