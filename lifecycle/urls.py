from django.urls import path

from lifecycle import views

app_name = "lifecycle"
urlpatterns = [
    path("loans/<int:pk>/payments/<int:transaction_pk>/reverse/", views.reversal_new, name="reversal-new"),
    path("reversals/", views.reversal_queue, name="reversals"),
    path("reversals/<int:pk>/decide/", views.reversal_decide, name="reversal-decide"),
    path("reversals/<int:pk>/withdraw/", views.reversal_withdraw, name="reversal-withdraw"),
    path("collections/", views.collections_queue, name="collections"),
    path("loans/<int:pk>/write-off/", views.write_off_new, name="write-off-new"),
    path("write-offs/", views.write_off_queue, name="write-offs"),
    path("write-offs/<int:pk>/decide/", views.write_off_decide, name="write-off-decide"),
    path("loans/<int:pk>/collection/", views.loan_collection, name="loan-collection"),
    path("loans/<int:pk>/reschedule/", views.reschedule_new, name="reschedule-new"),
    path("reschedules/", views.reschedule_queue, name="reschedules"),
    path("reschedules/new/", views.reschedule_bulk, name="reschedule-bulk"),
    path("reschedules/<int:pk>/decide/", views.reschedule_decide, name="reschedule-decide"),
]
