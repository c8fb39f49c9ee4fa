"""The NGO technician's verification of financed equipment: delivered, then installed.

Donors are told how much mercury-free equipment is *installed*, so the timestamps here are what the
impact report counts; each change is audited with the note the technician wrote on site.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from loans.models import Loan

VERIFICATION_FIELDS = ["delivery_verified_at", "installation_verified_at", "verified_by_id", "verification_note"]


@transaction.atomic
def loan_verify_equipment(*, loan: Loan, actor: Any, delivered: bool, installed: bool, note: str = "") -> Loan:
    """Mark the loan's equipment delivered and/or installed (an installation implies a delivery).

    A verification already recorded is kept with its original time; unticking one clears it, so a
    mistaken tick can be corrected — the audit trail keeps both.
    """
    if not roles.has_role(actor, roles.NGO_ANALYST, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only the NGO partner verifies equipment."))
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)  # FK checks need not wait
    if loan.equipment_id is None:
        raise ValidationError({"equipment": _("This loan does not finance equipment.")})
    if installed and not delivered:
        raise ValidationError({"delivered": _("Equipment must be delivered before it is installed.")})
    before = snapshot(loan, VERIFICATION_FIELDS)
    now = timezone.now()
    loan.delivery_verified_at = (loan.delivery_verified_at or now) if delivered else None
    loan.installation_verified_at = (loan.installation_verified_at or now) if installed else None
    loan.verified_by = actor if (delivered or installed) else None
    loan.verification_note = note.strip()
    loan.save(
        update_fields=[
            "delivery_verified_at",
            "installation_verified_at",
            "verified_by",
            "verification_note",
            "updated",
        ]
    )
    audit_record(
        actor=actor, action="loan.verify_equipment", obj=loan, before=before, after=snapshot(loan, VERIFICATION_FIELDS)
    )
    return loan
