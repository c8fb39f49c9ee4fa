from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RatesConfig(AppConfig):
    name = "rates"
    verbose_name = _("Rates and exchange")
