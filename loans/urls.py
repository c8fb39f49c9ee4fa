from django.urls import path

from loans import views

app_name = "loans"
urlpatterns = [
    path("", views.loan_list, name="list"),
    path("<int:pk>/", views.loan_detail, name="detail"),
    path("<int:pk>/verify/", views.loan_verify, name="verify"),
    path("<int:pk>/collateral/new/", views.collateral_new, name="collateral-new"),
    path("<int:pk>/collateral/<int:collateral_pk>/", views.collateral_edit, name="collateral-edit"),
    path("<int:pk>/photos/<int:photo_pk>/", views.verification_photo, name="verification-photo"),
    path(
        "<int:pk>/photos/<int:photo_pk>/thumbnail/",
        views.verification_photo,
        {"thumbnail": True},
        name="verification-photo-thumbnail",
    ),
    path("applications/", views.application_list, name="applications"),
    path("applications/new/", views.application_create, name="application-create"),
    path("applications/fields/", views.application_fields, name="application-fields"),
    path("applications/preview/", views.application_preview, name="application-preview"),
    path("applications/<int:pk>/", views.application_detail, name="application-detail"),
    path("applications/<int:pk>/edit/", views.application_edit, name="application-edit"),
    path("applications/<int:pk>/submit/", views.application_submit, name="application-submit"),
    path("applications/<int:pk>/decide/", views.application_decide, name="application-decide"),
    path("applications/<int:pk>/cancel/", views.application_cancel, name="application-cancel"),
    path("applications/<int:pk>/disburse/", views.application_disburse, name="application-disburse"),
]
