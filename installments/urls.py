from django.urls import path

from installments import views

app_name = "installments"
urlpatterns = [
    path("loans/<int:pk>/payment/", views.payment, name="payment"),
    path("loans/<int:pk>/credit/", views.credit, name="credit"),
    path("buyers/", views.buyer_list, name="buyers"),
    path("buyers/<int:pk>/", views.buyer_detail, name="buyer-detail"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve, name="exception-resolve"),
]
