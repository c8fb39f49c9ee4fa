from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MinersConfig(AppConfig):
    name = "miners"
    verbose_name = _("Miners")
