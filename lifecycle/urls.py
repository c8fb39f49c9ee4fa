from django.urls import path

from lifecycle import views
from lifecycle.book_import import views as book_import_views

app_name = "lifecycle"
urlpatterns = [
    path("loans/<int:pk>/payments/<int:transaction_pk>/reverse/", views.reversal_new, name="reversal-new"),
    path("reversals/", views.reversal_queue, name="reversals"),
    path("reversals/<int:pk>/decide/", views.reversal_decide, name="reversal-decide"),
    path("reversals/<int:pk>/withdraw/", views.reversal_withdraw, name="reversal-withdraw"),
    path("collections/", views.collections_queue, name="collections"),
    path("loans/<int:pk>/write-off/", views.write_off_new, name="write-off-new"),
    path("loans/<int:pk>/refinance/", views.refinance_new, name="refinance-new"),
    path("write-offs/", views.write_off_queue, name="write-offs"),
    path("loans/<int:pk>/reschedule/", views.reschedule_new, name="reschedule-new"),
    path("reschedules/", views.reschedule_queue, name="reschedules"),
    path("reschedules/new/", views.reschedule_bulk, name="reschedule-bulk"),
    path("reschedules/<int:pk>/decide/", views.reschedule_decide, name="reschedule-decide"),
    path("write-offs/<int:pk>/decide/", views.write_off_decide, name="write-off-decide"),
    path("loans/<int:pk>/collection/", views.loan_collection, name="loan-collection"),
    path("book-imports/", book_import_views.book_imports, name="book-imports"),
    path("book-imports/<int:pk>/", book_import_views.book_import, name="book-import"),
    path("book-imports/<int:pk>/progress/", book_import_views.book_import_progress, name="book-import-progress"),
    path("book-imports/<int:pk>/commit/", book_import_views.book_import_commit, name="book-import-commit"),
    path(
        "book-imports/template/<str:file>.<str:fmt>",
        book_import_views.book_import_template,
        name="book-import-template",
    ),
    path("loans/<int:pk>/guarantee/", views.loan_guarantee, name="loan-guarantee"),
    path("guarantee-claims/", views.guarantee_claims, name="guarantee-claims"),
    path("guarantee-claims/<int:pk>/", views.guarantee_claim, name="guarantee-claim"),
]
