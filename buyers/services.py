"""Buyer-side writes: API keys, supplier relationships and the buyer's agreed terms."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from buyers.models import ApiKey, Buyer, BuyerTerms, MaquilaBand, SupplierRelationship
from buyers.terms import BandError, bands_text, validate_bands
from buyers.terms import MaquilaBand as Band
from miners.imports import require_officer
from miners.models import Miner


@transaction.atomic
def api_key_issue(*, buyer: Buyer, name: str = "default", actor: Any = None) -> tuple[str, ApiKey]:
    """Issue a key for ``buyer``. Returns the raw key (to show once) and the stored record."""
    raw, prefix, hashed = ApiKey.generate()
    key = ApiKey.objects.create(buyer=buyer, name=name, prefix=prefix, hashed_key=hashed)
    audit_record(
        actor=actor,
        action="api_key.issue",
        obj=key,
        after={"buyer": buyer.ruc, "name": name, "prefix": prefix},
    )
    return raw, key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor: Any = None) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at", "updated"])
        audit_record(actor=actor, action="api_key.revoke", obj=key)
    return key


@transaction.atomic
def relationship_add(
    *, miner: Miner, buyer: Any, since: dt.date, actor: Any, agreement_kind: str = "supply_contract"
) -> Any:
    """Record that ``miner`` sells ore to ``buyer`` (the channel installments are withheld through)."""
    require_officer(actor)
    if SupplierRelationship.objects.filter(buyer=buyer, miner=miner).exists():
        raise ValidationError({"buyer": _("This miner is already a supplier of this buyer.")})
    relationship = SupplierRelationship(buyer=buyer, miner=miner, since=since, agreement_kind=agreement_kind)
    relationship.full_clean()
    relationship.save()
    audit_record(actor=actor, action="relationship.create", obj=relationship, after=snapshot(relationship))
    return relationship


# A version may be dated as far back as a settlement can be (so a backdated import finds its terms) and
# scheduled up to a year ahead (a renegotiated contract signed before it takes effect).
EARLIEST_TERMS_DATE = dt.date(2000, 1, 1)
MAX_TERMS_DAYS_AHEAD = 366


@transaction.atomic
def buyer_terms_add(
    *,
    buyer: Buyer,
    actor: Any,
    effective_from: dt.date,
    bands: Sequence[Band],
    commercial_deduction_usd_oz: Decimal | None = None,
    recovery: Decimal | None = None,
    note: str = "",
) -> BuyerTerms:
    """Record a new version of ``buyer``'s agreed terms (DOMAIN.md §4), in force from ``effective_from``
    until a later version's: RC (US$/oz), recovery (a fraction) and the maquila scale. Versions are never
    edited: a change of terms is a new version, so every settlement stays readable against the version it
    was valued with. Staff who write (loan officers, lender admins) only.

    ``ValidationError`` names the field: ``bands`` (out of order, overlapping, a negative fee…),
    ``effective_from`` (out of range, or a version already takes effect that day), ``recovery``,
    ``commercial_deduction_usd_oz``.
    """
    if not roles.has_role(actor, roles.LOAN_OFFICER, roles.LENDER_ADMIN):
        raise PermissionDenied(_("Only loan officers and lender admins change a buyer's agreed terms."))
    errors: dict[str, str] = {}
    today = timezone.localdate()
    if not EARLIEST_TERMS_DATE <= effective_from <= today + dt.timedelta(days=MAX_TERMS_DAYS_AHEAD):
        errors["effective_from"] = _("The date must be between 2000-01-01 and a year from today.")
    elif BuyerTerms.objects.filter(buyer=buyer, effective_from=effective_from).exists():
        errors["effective_from"] = _("A version of this buyer's terms already takes effect on this date.")
    if recovery is not None and not 0 < recovery <= 1:
        errors["recovery"] = _("Recovery must be a fraction above 0 and at most 1.")
    if commercial_deduction_usd_oz is not None and not 0 <= commercial_deduction_usd_oz <= Decimal(5000):
        errors["commercial_deduction_usd_oz"] = _("The commercial deduction must be between 0 and 5,000 US$/oz.")
    try:
        checked = validate_bands(list(bands))
    except BandError as exc:
        errors["bands"] = exc.message
    else:
        if not checked and commercial_deduction_usd_oz is None and recovery is None:
            errors["bands"] = _("Agree at least a maquila band, the RC or the recovery.")
    if errors:
        raise ValidationError(errors)
    terms = BuyerTerms.objects.create(
        buyer=buyer,
        effective_from=effective_from,
        commercial_deduction_usd_oz=commercial_deduction_usd_oz,
        recovery=recovery,
        note=note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    MaquilaBand.objects.bulk_create(
        MaquilaBand(
            terms=terms,
            min_grade_oz_tc=band.min_grade_oz_tc,
            max_grade_oz_tc=band.max_grade_oz_tc,
            maquila_usd_tc=band.maquila_usd_tc,
        )
        for band in checked
    )
    audit_record(
        actor=actor,
        action="buyer_terms.add",
        obj=terms,
        after={**snapshot(terms), "buyer": buyer.ruc, "bands": bands_text(checked)},
    )
    return terms
