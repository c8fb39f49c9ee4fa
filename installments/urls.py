from django.urls import path

from installments import treasury, views

app_name = "installments"
urlpatterns = [
    path("loans/<int:pk>/payment/", views.payment, name="payment"),
    path("loans/<int:pk>/credit/", views.credit, name="credit"),
    path("buyers/", views.buyer_list, name="buyers"),
    path("buyers/<int:pk>/", views.buyer_detail, name="buyer-detail"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve, name="exception-resolve"),
    path("treasury/remittances/", treasury.remittance_list, name="remittances"),
    path("treasury/remittances/new/", treasury.remittance_new, name="remittance-new"),
    path("treasury/remittances/<int:pk>/", treasury.remittance_detail, name="remittance-detail"),
    path("treasury/exceptions/", treasury.exception_queue, name="exceptions"),
]
