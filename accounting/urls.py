from django.urls import path

from accounting import views

app_name = "accounting"
urlpatterns = [
    path("accounting/journal/", views.journal, name="journal"),
    path("accounting/entries/<int:pk>/", views.entry_detail, name="entry"),
    path("accounting/trial-balance/", views.trial_balance, name="trial-balance"),
    path("accounting/periods/", views.periods, name="periods"),
    path("accounting/periods/<str:period>/close/", views.period_close, name="period-close"),
    path("accounting/periods/<str:period>/reopen/", views.period_reopen, name="period-reopen"),
    path("accounting/periods/<str:period>/tie-out/", views.tie_out, name="tie-out"),
    path("accounting/tie-outs/<int:pk>/", views.tie_out_detail, name="tie-out-detail"),
]
