from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LifecycleConfig(AppConfig):
    name = "lifecycle"
    verbose_name = _("Loan life beyond the happy path")

    def ready(self) -> None:
        from installments.services.disbursement import loan_disbursed
        from lifecycle.guarantees import enrol_at_disbursement

        # A loan of a product covered by a guarantee fund joins it in the disbursement's transaction.
        loan_disbursed.connect(enrol_at_disbursement, dispatch_uid="lifecycle.enrol_at_disbursement")
