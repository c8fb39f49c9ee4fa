from django.urls import path

from notices import views

app_name = "notices"
urlpatterns = [
    # The miner's statement page: public, the signed token is the key (notices.links).
    path("s/<str:token>/", views.statement, name="statement"),
    path("s/<str:token>/constancia/<int:loan_id>.pdf", views.statement_certificate, name="statement-certificate"),
    path("miners/<int:pk>/statement-links/new/", views.statement_link_new, name="statement-link-new"),
    path("statement-links/<int:pk>/revoke/", views.statement_link_revoke_view, name="statement-link-revoke"),
]
