"""REST API v1 routes (owned by the API). See each app's ``api.py`` for the views."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from buyers.api import BuyerViewSet, SupplierViewSet
from installments.api.buyers import RemittanceViewSet, SettlementViewSet, StatementView
from installments.api.loans import PaymentViewSet, PortfolioView, RatingViewSet
from loans.api import LoanApplicationViewSet, LoanProductViewSet, LoanViewSet, SimulationView
from miners.api import MinerViewSet

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("miners", MinerViewSet, basename="miner")
router.register("buyers", BuyerViewSet, basename="buyer")
router.register("suppliers", SupplierViewSet, basename="supplier")
router.register("settlements", SettlementViewSet, basename="settlement")
router.register("remittances", RemittanceViewSet, basename="remittance")
router.register("loan-products", LoanProductViewSet, basename="loan-product")
router.register("loan-applications", LoanApplicationViewSet, basename="loan-application")
router.register("loans", LoanViewSet, basename="loan")
router.register(r"loans/(?P<loan_pk>[^/.]+)/payments", PaymentViewSet, basename="loan-payment")
router.register("ratings", RatingViewSet, basename="rating")

urlpatterns = [
    path("statement/", StatementView.as_view(), name="statement"),
    path("simulations/", SimulationView.as_view(), name="simulation"),
    path("portfolio/", PortfolioView.as_view(), name="portfolio"),
    *router.urls,
]
