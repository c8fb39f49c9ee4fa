"""The miner's file (expediente): documents filed with the lender, and the trainings the miner took.

Who may do what, from the roles (asmcredit.roles) and the lender's practice:

- **Documents** hold identity numbers, so they are filed and read by the lender's staff only: loan
  officers (and the lender admin) file them while preparing a loan; credit approvers read them when
  deciding. The NGO analyst, who never sees document numbers, sees neither the list nor the files.
- **Trainings** are the NGO partner's work as much as the lender's (NgoPartner "trains miners"), so
  the NGO analyst records them too, with loan officers and the lender admin; every staff role sees them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.uploads import document_upload_renamed, stored_files_undone_on_error
from miners.models import Miner, MinerDocument, Training

DOCUMENT_KEEPERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
DOCUMENT_READERS = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
TRAINING_RECORDERS = (roles.LOAN_OFFICER, roles.NGO_ANALYST, roles.LENDER_ADMIN)

EXPIRY_WARNING_DAYS = 30
MIN_TRAINING_HOURS, MAX_TRAINING_HOURS = Decimal("0.5"), Decimal("200")
DOCUMENT_FIELDS = ["miner_id", "kind", "number", "expires_on", "note", "uploaded_by_id"]
TRAINING_FIELDS = ["miner_id", "topic", "held_on", "provider", "hours"]


@dataclass(frozen=True)
class Expiry:
    """Where a document stands against its expiry date on a given day."""

    state: str  # "expired", "expiring" (within EXPIRY_WARNING_DAYS) or "" (valid, or no expiry)
    days: int = 0  # days left when expiring, days since when expired


def document_expiry(expires_on: dt.date | None, *, today: dt.date) -> Expiry:
    if expires_on is None:
        return Expiry("")
    left = (expires_on - today).days
    if left < 0:
        return Expiry("expired", -left)
    if left <= EXPIRY_WARNING_DAYS:
        return Expiry("expiring", left)
    return Expiry("")


def miner_document_add(
    *,
    miner: Miner,
    actor: Any,
    kind: str,
    file: Any,
    number: str = "",
    expires_on: dt.date | None = None,
    note: str = "",
) -> MinerDocument:
    """File a document (PDF, JPEG or PNG, checked by content and size) in the miner's expediente."""
    if not roles.has_role(actor, *DOCUMENT_KEEPERS):
        raise PermissionDenied(_("Only loan officers file a miner's documents."))
    errors: dict[str, list[str]] = {}
    if kind not in MinerDocument.Kind.values:
        errors["kind"] = [_("Choose the kind of document.")]
    try:
        document_upload_renamed(file)
    except ValidationError as exc:
        errors["file"] = exc.messages
    if errors:
        raise ValidationError(errors)
    # The transaction inside: a failure as late as the commit still removes the file written for it.
    with stored_files_undone_on_error() as stored, transaction.atomic():
        document = MinerDocument(
            miner=miner,
            kind=kind,
            number="".join(number.split()).upper(),
            expires_on=expires_on,
            note=note.strip(),
            uploaded_by=actor,
        )
        document.file.save(file.name, file, save=False)
        stored.append(document.file.name)
        document.save(force_insert=True)
        after = snapshot(document, DOCUMENT_FIELDS) | {"file": document.file.name}
        audit_record(actor=actor, action="miner.document_add", obj=document, after=after)
    return document


@transaction.atomic
def training_record(
    *, miner: Miner, actor: Any, topic: str, held_on: dt.date, hours: Decimal, provider: str = ""
) -> Training:
    """Record a training the miner took (capacitación): its topic, day, hours and who gave it."""
    if not roles.has_role(actor, *TRAINING_RECORDERS):
        raise PermissionDenied(_("Only loan officers and the NGO partner record trainings."))
    errors: dict[str, list[str]] = {}
    if topic not in Training.Topic.values:
        errors["topic"] = [_("Choose the topic of the training.")]
    if held_on > timezone.localdate():
        errors["held_on"] = [_("The date cannot be in the future.")]
    if not MIN_TRAINING_HOURS <= hours <= MAX_TRAINING_HOURS:
        errors["hours"] = [
            _("Between %(min)s and %(max)s hours.") % {"min": MIN_TRAINING_HOURS, "max": MAX_TRAINING_HOURS}
        ]
    if errors:
        raise ValidationError(errors)
    training = Training.objects.create(
        miner=miner, topic=topic, held_on=held_on, hours=hours, provider=provider.strip()
    )
    audit_record(actor=actor, action="miner.training_record", obj=training, after=snapshot(training, TRAINING_FIELDS))
    return training
