"""Collateral: the garantía mobiliaria on a loan (DOMAIN.md §7), usually the financed equipment.

One write path for the web form and the API: ``collateral_add`` and ``collateral_update`` validate the
whole record (every bad field at once), lock the loan, save, and audit before → after in the same
transaction; the loan's history reads those audit rows (reports.loan_history).

What counts for provisions is decided in the nightly rating (installments.batch, ``risk.
collateral_covered_share``): registered collateral — an entry in the Registro Mobiliario de Contratos
and its date, not released — covers the loan up to its appraised value; only that part earns the
preferred-guarantee rates. Collateral in another currency than the loan's is converted at the exchange
rate of the rating date (rates.fx), never refused: machinery is often appraised in dollars for a loan
in soles.

Insurance: a policy that has expired does not make a registered pledge unregistered, so by default the
collateral keeps counting and the rating carries the warning ``collateral_policy_expired``; a lender
that requires insured collateral sets ``COLLATERAL_INSURANCE_REQUIRED`` and it then stops counting.
``COLLATERAL_EXPIRY_WARNING_DAYS`` (default 30) before a policy expires, the loan page and the officer's
dashboard warn (``collateral_expiring``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.fields import Currency
from asmcredit.money import money
from loans.models import Collateral, Loan
from loans.sbs import collateral_covered_share
from rates.fx import fx_rate_or_none

# Who records and changes collateral: the loan officers and the credit committee (and the admin).
COLLATERAL_EDITORS = (roles.LOAN_OFFICER, roles.CREDIT_APPROVER, roles.LENDER_ADMIN)

# The fields a person writes; the loan, who recorded it and the timestamps are the service's.
FIELDS = (
    "description",
    "equipment",
    "registry_entry",
    "registered_on",
    "appraised_value",
    "currency",
    "appraised_on",
    "insurer",
    "policy_number",
    "policy_expires_on",
    "released_on",
)
AUDITED = [name if name != "equipment" else "equipment_id" for name in FIELDS]
TEXT_LIMITS = {"description": 300, "registry_entry": 40, "insurer": 200, "policy_number": 60}


def expiry_warning_days() -> int:
    return int(getattr(settings, "COLLATERAL_EXPIRY_WARNING_DAYS", 30))


def _editor(actor: Any) -> None:
    if not roles.has_role(actor, *COLLATERAL_EDITORS):
        raise PermissionDenied(_("Only loan officers and credit approvers record collateral."))


def _errors_of(collateral: Collateral, loan: Loan) -> dict[str, str]:
    """Every bad field of ``collateral`` as it would be saved, at once."""
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if not collateral.description.strip():
        errors["description"] = _("Describe what is pledged (equipment, make, serial number).")
    for name, limit in TEXT_LIMITS.items():
        if len(getattr(collateral, name)) > limit:
            errors[name] = _("At most %(n)s characters.") % {"n": limit}
    value = collateral.appraised_value
    if value is None or not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
        errors["appraised_value"] = _("The appraised value must be more than zero.")
    elif value >= Decimal("1e12"):
        errors["appraised_value"] = _("The appraised value is out of range.")
    if collateral.currency not in Currency.values:
        errors["currency"] = _("Choose the currency of the appraisal.")
    if collateral.appraised_on is None:
        errors["appraised_on"] = _("Say when the collateral was appraised.")
    elif collateral.appraised_on > today:
        errors["appraised_on"] = _("The appraisal date cannot be in the future.")
    if collateral.equipment_id is not None and collateral.equipment_id != loan.equipment_id:
        errors["equipment"] = _("Only the equipment this loan financed can be linked.")
    if bool(collateral.registry_entry) != (collateral.registered_on is not None):
        field = "registered_on" if collateral.registry_entry else "registry_entry"
        errors[field] = _("A registration needs both the registry entry number and its date.")
    elif collateral.registered_on is not None and collateral.registered_on > today:
        errors["registered_on"] = _("The registration date cannot be in the future.")
    if bool(collateral.policy_number) != (collateral.policy_expires_on is not None):
        field = "policy_expires_on" if collateral.policy_number else "policy_number"
        errors[field] = _("An insurance policy needs both its number and its expiry date.")
    elif collateral.policy_number and not collateral.insurer:
        errors["insurer"] = _("Name the insurer of the policy.")
    if collateral.released_on is not None:
        if collateral.released_on > today:
            errors["released_on"] = _("The release date cannot be in the future.")
        elif collateral.registered_on is not None and collateral.released_on < collateral.registered_on:
            errors["released_on"] = _("The pledge cannot be released before it was registered.")
    if collateral.registry_entry and "registry_entry" not in errors:
        taken = Collateral.objects.filter(registry_entry=collateral.registry_entry).exclude(pk=collateral.pk)
        if taken.exists():
            errors["registry_entry"] = _("This registry entry is already recorded as collateral of another loan.")
    return errors


def _clean_values(values: dict[str, Any]) -> dict[str, Any]:
    """Strip text, turn amounts into Decimals rounded to the céntimo (a bad one stays for the check)."""
    cleaned = dict(values)
    for name in TEXT_LIMITS:
        if name in cleaned:
            cleaned[name] = (cleaned[name] or "").strip()
    if cleaned.get("appraised_value") is not None:
        try:
            amount = Decimal(str(cleaned["appraised_value"]))
            cleaned["appraised_value"] = money(amount) if amount.is_finite() else amount
        except (InvalidOperation, ValueError):
            cleaned["appraised_value"] = Decimal("NaN")
    return cleaned


def _save(collateral: Collateral, loan: Loan) -> None:
    errors = _errors_of(collateral, loan)
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            collateral.save()
    except IntegrityError as exc:  # a concurrent record took the same registry entry
        raise ValidationError(
            {"registry_entry": _("This registry entry is already recorded as collateral of another loan.")}
        ) from exc


@transaction.atomic
def collateral_add(
    *,
    loan: Loan,
    actor: Any,
    description: str,
    appraised_value: Decimal,
    appraised_on: dt.date,
    currency: str | None = None,
    equipment: Any = None,
    registry_entry: str = "",
    registered_on: dt.date | None = None,
    insurer: str = "",
    policy_number: str = "",
    policy_expires_on: dt.date | None = None,
) -> Collateral:
    """Record collateral on an active loan (currency: the loan's, unless the appraisal is in another)."""
    _editor(actor)
    loan = Loan.objects.select_for_update(no_key=True).get(pk=loan.pk)  # FK checks need not wait
    if loan.status != Loan.Status.ACTIVE:
        raise TransitionError(_("Collateral is recorded on active loans only."))
    values = _clean_values(
        {
            "description": description,
            "appraised_value": appraised_value,
            "appraised_on": appraised_on,
            "currency": currency or loan.currency,
            "registry_entry": registry_entry,
            "registered_on": registered_on,
            "insurer": insurer,
            "policy_number": policy_number,
            "policy_expires_on": policy_expires_on,
        }
    )
    collateral = Collateral(loan=loan, equipment=equipment, recorded_by=actor, **values)
    _save(collateral, loan)
    audit_record(actor=actor, action="collateral.add", obj=collateral, after=snapshot(collateral, AUDITED))
    return collateral


@transaction.atomic
def collateral_update(*, collateral: Collateral, actor: Any, **changes: Any) -> Collateral:
    """Change what a person writes of ``collateral`` (any of ``FIELDS``): a registration entered once
    SUNARP returns it, a new appraisal or policy, the release of the pledge (``released_on``)."""
    _editor(actor)
    unknown = set(changes) - set(FIELDS)
    if unknown:
        raise ValidationError({name: _("This field cannot be changed.") for name in sorted(unknown)})
    collateral = Collateral.objects.select_for_update().select_related("loan").get(pk=collateral.pk)
    loan = collateral.loan
    before = snapshot(collateral, AUDITED)
    for name, value in _clean_values(changes).items():
        setattr(collateral, name, value)
    if snapshot(collateral, AUDITED) == before:
        return collateral
    _save(collateral, loan)
    audit_record(
        actor=actor, action="collateral.update", obj=collateral, before=before, after=snapshot(collateral, AUDITED)
    )
    return collateral


# --- Reads ----------------------------------------------------------------------------------------------


def collateral_prefill(loan: Loan) -> dict[str, Any]:
    """What the form offers for an equipment loan: the financed equipment, its price as a first value."""
    equipment = loan.equipment
    if equipment is None:
        return {"currency": loan.currency}
    return {
        "equipment": equipment.pk,
        "description": f"{equipment.name} — {equipment.supplier.name}",
        "appraised_value": equipment.price,
        "currency": equipment.currency,
        "appraised_on": loan.disbursed_on,
    }


def collateral_expiring(*, today: dt.date, days: int | None = None) -> models.QuerySet[Collateral]:
    """Still-pledged collateral of active loans whose insurance policy expires within ``days``
    (``COLLATERAL_EXPIRY_WARNING_DAYS``) of ``today`` or has expired: the officer's renewals to chase,
    soonest (or longest expired) first."""
    horizon = today + dt.timedelta(days=expiry_warning_days() if days is None else days)
    return (
        Collateral.objects.filter(
            released_on__isnull=True,
            policy_expires_on__isnull=False,
            policy_expires_on__lte=horizon,
            loan__status=Loan.Status.ACTIVE,
        )
        .select_related("loan__miner")
        .order_by("policy_expires_on", "id")
    )


def policy_state(collateral: Collateral, today: dt.date) -> str:
    """``expired``, ``expiring`` (within the warning window), ``ok``, or ``none`` (no policy)."""
    if collateral.policy_expires_on is None:
        return "none"
    if collateral.policy_expires_on < today:
        return "expired"
    if collateral.policy_expires_on <= today + dt.timedelta(days=expiry_warning_days()):
        return "expiring"
    return "ok"


def collateral_counts(collateral: Collateral, on: dt.date) -> bool:
    """Whether ``collateral`` is a preferred guarantee on ``on``, as the nightly rating decides it
    (installments.batch): registered by then, not yet released, and insured if the lender requires it."""
    if not collateral.registry_entry or collateral.registered_on is None or collateral.registered_on > on:
        return False
    if collateral.released_on is not None and collateral.released_on <= on:
        return False
    if settings.COLLATERAL_INSURANCE_REQUIRED:
        return collateral.policy_expires_on is not None and collateral.policy_expires_on >= on
    return True


@dataclass(frozen=True)
class Cover:
    """What a loan's registered collateral covers on a day: its value in the loan's currency and the
    share of the outstanding principal (None for both when an exchange rate is missing)."""

    value: Decimal | None
    share: Decimal | None
    missing_rates: tuple[str, ...] = ()


def collateral_cover(*, loan: Loan, collaterals: Iterable[Collateral], on: dt.date) -> Cover:
    """The loan page's figure, the same rule as the rating's, on the loan's current balance."""
    total = Decimal(0)
    missing: set[str] = set()
    for collateral in collaterals:
        if not collateral_counts(collateral, on):
            continue
        if collateral.currency == loan.currency:
            total += collateral.appraised_value
            continue
        # Another currency: through soles, at the rates of the day (as the rating does).
        rate = fx_rate_or_none(currency=collateral.currency, on=on)
        loan_rate = fx_rate_or_none(currency=loan.currency, on=on)
        missing |= {c for c, r in ((collateral.currency, rate), (loan.currency, loan_rate)) if r is None}
        if rate is not None and loan_rate is not None:
            total += rate.to_soles(collateral.appraised_value) / loan_rate.soles_per_unit
    if missing:
        return Cover(value=None, share=None, missing_rates=tuple(sorted(missing)))
    return Cover(value=money(total), share=collateral_covered_share(total, loan.outstanding_principal))
