from django.urls import path

from reports import views
from reports.regulatory import views as regulatory_views

app_name = "reports"
urlpatterns = [
    path("loans/<int:pk>/cronograma.pdf", views.loan_cronograma, name="loan-cronograma"),
    path("loans/<int:pk>/constancia.pdf", views.loan_paid_off_certificate, name="loan-paid-off-certificate"),
    path("applications/<int:pk>/cronograma.pdf", views.offer_cronograma, name="offer-cronograma"),
    path("miners/<int:pk>/statement.pdf", views.miner_statement, name="miner-statement"),
    path("buyers/<int:pk>/statement.pdf", views.buyer_statement, name="buyer-statement"),
    path("portfolio/", views.portfolio, name="portfolio"),
    path("portfolio/jobs/<int:pk>/", views.portfolio_job, name="portfolio-job"),
    path("portfolio/jobs/<int:pk>/report.pdf", views.portfolio_download, name="portfolio-download"),
    path("portfolio/<slug:table>.csv", views.portfolio_csv, name="portfolio-csv"),
    path("regulatory/", regulatory_views.regulatory_files, name="regulatory"),
    path("regulatory/jobs/<int:pk>/", regulatory_views.regulatory_job, name="regulatory-job"),
    path("regulatory/files/<int:pk>/", regulatory_views.regulatory_download, name="regulatory-download"),
]
