"""REST API v1 routes (owned by the API). See each app's ``api.py`` for the views."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from accounting.api import JournalView
from buyers.api import BuyerViewSet, SupplierViewSet
from installments.api.buyers import RemittanceViewSet, SettlementViewSet, StatementView
from installments.api.loans import (
    LoanCreditApplyView,
    LoanCreditRefundView,
    LoanPayoffView,
    PaymentViewSet,
    PortfolioView,
    RatingViewSet,
)
from lifecycle.api import (
    GuaranteeClaimViewSet,
    LoanRefinanceView,
    LoanRescheduleView,
    LoanWriteOffView,
    PaymentReverseView,
    RescheduleViewSet,
    ReversalViewSet,
    WriteOffViewSet,
)
from loans.api import (
    CollateralViewSet,
    LoanApplicationViewSet,
    LoanCollateralView,
    LoanProductViewSet,
    LoanViewSet,
    SimulationView,
)
from miners.api import MinerViewSet
from rates.api.caps import RateCapViewSet
from rates.api.fx import ExchangeRateViewSet

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
router.register("reversals", ReversalViewSet, basename="reversal")
router.register("write-offs", WriteOffViewSet, basename="write-off")
router.register("reschedules", RescheduleViewSet, basename="reschedule")
router.register("guarantee-claims", GuaranteeClaimViewSet, basename="guarantee-claim")
router.register("collateral", CollateralViewSet, basename="collateral")
router.register("fx-rates", ExchangeRateViewSet, basename="fx-rate")
router.register("rate-caps", RateCapViewSet, basename="rate-cap")

urlpatterns = [
    path("loans/<str:loan_pk>/reschedule/", LoanRescheduleView.as_view(), name="loan-reschedule"),
    path("statement/", StatementView.as_view(), name="statement"),
    path("journal/", JournalView.as_view(), name="journal"),
    path("simulations/", SimulationView.as_view(), name="simulation"),
    path("portfolio/", PortfolioView.as_view(), name="portfolio"),
    path("loans/<str:loan_pk>/payoff/", LoanPayoffView.as_view(), name="loan-payoff"),
    path(
        "loans/<str:loan_pk>/payments/<str:payment_pk>/reverse/",
        PaymentReverseView.as_view(),
        name="loan-payment-reverse",
    ),
    path("loans/<str:loan_pk>/write-off/", LoanWriteOffView.as_view(), name="loan-write-off"),
    path("loans/<str:loan_pk>/collateral/", LoanCollateralView.as_view(), name="loan-collateral"),
    path("loans/<str:loan_pk>/refinance/", LoanRefinanceView.as_view(), name="loan-refinance"),
    path("loans/<str:loan_pk>/credit/refund/", LoanCreditRefundView.as_view(), name="loan-credit-refund"),
    path("loans/<str:loan_pk>/credit/apply/", LoanCreditApplyView.as_view(), name="loan-credit-apply"),
    *router.urls,
]
