"""The NGO technician's verification of financed equipment: visits on site, delivered, then installed.

Donors are told how much mercury-free equipment is *installed*, so the loan's timestamps are what the
impact report and the dashboard count. Each visit records what the technician saw on a given day,
with photos and, if the phone gave one, the location; the loan's timestamps are then replayed from
all its visits in date order, so a visit entered late (a form filled in the evening, back in signal)
lands where it belongs and gives the same state as if it had been entered on the day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.uploads import PreparedPhoto, photo_prepare, stored_files_undone_on_error
from loans.models import Loan, VerificationPhoto, VerificationVisit

VERIFICATION_FIELDS = ["delivery_verified_at", "installation_verified_at", "verified_by_id", "verification_note"]
MAX_PHOTOS_PER_VISIT = 8


@dataclass(frozen=True)
class Location:
    """Where the phone said it was (WGS84 degrees) and how sure it was, in metres."""

    latitude: Decimal
    longitude: Decimal
    accuracy_m: int | None = None


@dataclass(frozen=True)
class VerificationState:
    delivered_at: dt.datetime | None = None
    installed_at: dt.datetime | None = None
    verified_by_id: int | None = None
    note: str = ""


def visit_moment(*, visited_on: dt.date, recorded_at: dt.datetime) -> dt.datetime:
    """When a visit verified something: the moment it was recorded when that was on the day of the
    visit, else the start of the visit's day (a form filled in later knows the day, not the hour)."""
    if timezone.localdate(recorded_at) == visited_on:
        return recorded_at
    return timezone.make_aware(dt.datetime.combine(visited_on, dt.time.min))


def verification_state(visits: Iterable[VerificationVisit]) -> VerificationState:
    """The loan's verification after ``visits`` (oldest first).

    A delivery or installation keeps the moment it was first seen for as long as later visits still
    see it; a visit that no longer finds the equipment installed (sold, broken, moved) clears it, and
    the equipment counts again only from the visit that finds it back.
    """
    state = VerificationState()
    for visit in visits:
        moment = visit_moment(visited_on=visit.visited_on, recorded_at=visit.created)
        state = VerificationState(
            delivered_at=(state.delivered_at or moment) if visit.delivered else None,
            installed_at=(state.installed_at or moment) if visit.installed else None,
            verified_by_id=visit.recorded_by_id if (visit.delivered or visit.installed) else None,
            note=visit.note,
        )
    return state


def _check(
    *, loan: Loan, visited_on: dt.date, delivered: bool, installed: bool, location: Location | None, photos: int
) -> None:
    errors: dict[str, list[str]] = {}
    if loan.equipment_id is None:
        errors.setdefault("equipment", []).append(_("This loan does not finance equipment."))
    if installed and not delivered:
        errors.setdefault("delivered", []).append(_("Equipment must be delivered before it is installed."))
    if visited_on > timezone.localdate():
        errors.setdefault("visited_on", []).append(_("The visit date cannot be in the future."))
    elif visited_on < loan.disbursed_on:
        errors.setdefault("visited_on", []).append(
            _("The visit cannot be before the disbursement (%(date)s).")
            % {"date": loan.disbursed_on.strftime("%d/%m/%Y")}
        )
    if location is not None:
        if not Decimal(-90) <= location.latitude <= Decimal(90):
            errors.setdefault("latitude", []).append(_("A latitude is between -90 and 90 degrees."))
        if not Decimal(-180) <= location.longitude <= Decimal(180):
            errors.setdefault("longitude", []).append(_("A longitude is between -180 and 180 degrees."))
        if location.accuracy_m is not None and location.accuracy_m < 0:
            errors.setdefault("location_accuracy_m", []).append(_("The accuracy cannot be negative."))
    if photos > MAX_PHOTOS_PER_VISIT:
        errors.setdefault("photos", []).append(_("At most %(n)s photos per visit.") % {"n": MAX_PHOTOS_PER_VISIT})
    if errors:
        raise ValidationError(errors)


def _prepared(photos: Sequence[Any]) -> list[PreparedPhoto]:
    prepared, problems = [], []
    for upload in photos:
        try:
            prepared.append(photo_prepare(upload))
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        raise ValidationError({"photos": problems})
    return prepared


def loan_verify_equipment(
    *,
    loan: Loan,
    actor: Any,
    delivered: bool,
    installed: bool,
    note: str = "",
    visited_on: dt.date | None = None,
    photos: Sequence[Any] = (),
    location: Location | None = None,
) -> VerificationVisit:
    """Record a verification visit (default: today) and replay the loan's verification from its visits.

    ``photos`` are uploaded files; each must be a real image within the size limit. Nothing is stored
    unless the whole visit is valid.
    """
    if not roles.has_role(actor, roles.NGO_ANALYST, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only the NGO partner verifies equipment."))
    visited_on = visited_on or timezone.localdate()
    _check(
        loan=loan,
        visited_on=visited_on,
        delivered=delivered,
        installed=installed,
        location=location,
        photos=len(photos),
    )
    # Decoded and re-encoded before the transaction: the loan's row is not held locked meanwhile.
    prepared = _prepared(photos)
    with stored_files_undone_on_error() as stored:
        return _record(
            loan=loan,
            actor=actor,
            visit=VerificationVisit(
                visited_on=visited_on,
                delivered=delivered,
                installed=installed,
                note=note.strip(),
                latitude=location.latitude if location else None,
                longitude=location.longitude if location else None,
                location_accuracy_m=location.accuracy_m if location else None,
                recorded_by=actor,
            ),
            prepared=prepared,
            stored=stored,
        )


@transaction.atomic
def _record(
    *, loan: Loan, actor: Any, visit: VerificationVisit, prepared: list[PreparedPhoto], stored: list[str]
) -> VerificationVisit:
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)  # FK checks need not wait
    before = snapshot(loan, VERIFICATION_FIELDS)
    visit.loan = loan
    visit.save(force_insert=True)
    photo_ids = []
    for photo in prepared:
        row = VerificationPhoto(visit=visit, width=photo.width, height=photo.height, original_name=photo.original_name)
        row.image.save(photo.image.name or "photo.jpg", photo.image, save=False)
        stored.append(row.image.name)
        row.thumbnail.save(photo.thumbnail.name or "thumb.jpg", photo.thumbnail, save=False)
        stored.append(row.thumbnail.name)
        row.save(force_insert=True)
        photo_ids.append(row.pk)
    state = verification_state(loan.verification_visits.order_by("visited_on", "id"))
    loan.delivery_verified_at = state.delivered_at
    loan.installation_verified_at = state.installed_at
    loan.verified_by_id = state.verified_by_id
    loan.verification_note = state.note
    loan.save(
        update_fields=[
            "delivery_verified_at",
            "installation_verified_at",
            "verified_by",
            "verification_note",
            "updated",
        ]
    )
    after = snapshot(loan, VERIFICATION_FIELDS) | {
        "visit": {
            "id": visit.pk,
            "visited_on": visit.visited_on,
            "delivered": visit.delivered,
            "installed": visit.installed,
            "photos": photo_ids,
            "latitude": visit.latitude,
            "longitude": visit.longitude,
            "location_accuracy_m": visit.location_accuracy_m,
        }
    }
    audit_record(actor=actor, action="loan.verify_equipment", obj=loan, before=before, after=after)
    return visit
