"""The buyer's remittances and the reconciliation exceptions they raise or close (DOMAIN.md §5)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.fields import Currency
from asmcredit.money import ZERO
from buyers.models import Buyer, Settlement
from installments import batch
from installments.models import (
    ReconciliationException,
    Remittance,
    RemittanceMatch,
    Withholding,
)
from installments.services.common import (
    actor_user,
    amount_input,
    not_future,
    queue_reconciliation,
)

# --- Remittances and reconciliation ------------------------------------------------------------------


@dataclass
class RemittanceOutcome:
    remittance: Remittance
    matches: list[RemittanceMatch] = field(default_factory=list)
    exceptions: list[ReconciliationException] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        r = self.remittance
        return {
            "remittance_id": r.pk,
            "reference": r.reference,
            "amount": str(r.amount),
            "currency": r.currency,
            "paid_on": r.paid_on.isoformat(),
            "unmatched_amount": str(r.unmatched_amount),
            "matches": [
                {
                    "withholding_id": m.withholding_id,
                    "settlement_id": m.withholding.settlement_id,
                    "amount": str(m.amount),
                }
                for m in self.matches
            ],
            "exceptions": [
                {"id": e.pk, "kind": e.kind, "amount": str(e.amount), "detail": e.detail} for e in self.exceptions
            ],
        }


def remittance_record(
    *,
    buyer: Buyer,
    reference: str,
    amount: Any,
    currency: str,
    paid_on: dt.date,
    actor: Any,
    settlement_ids: list[int] | None = None,
    note: str = "",
) -> RemittanceOutcome:
    """A transfer from the buyer for withholdings it made, matched at once.

    With ``settlement_ids`` the money goes to those settlements' open withholdings only: listed ids that
    are not this buyer's settlements raise an "unknown settlement" exception, less money than they owe
    a "short remittance", more an "over remittance". Without a list it pays the buyer's oldest open
    withholdings in that currency first; what is left over is an "over remittance" (credit the hourly
    reconciliation applies to later withholdings).

    Everything is as of ``paid_on``, never the day it is recorded (DOMAIN.md §5): the buyer's earlier
    unmatched money is applied first, FIFO as of that day, as a daily run would have done before this
    transfer arrived; only withholdings dated up to ``paid_on`` are matched; exceptions are detected on
    ``paid_on``; a withholding paid after its agreed days gets its "unremitted past the agreed days"
    exception, detected the day after the deadline and closed as of ``paid_on``. A reconciliation of the
    buyer as of ``paid_on`` is queued after commit.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ValidationError({"reference": _("The bank reference is required.")})
    amount = amount_input("amount", amount)
    if currency not in Currency.values:
        raise ValidationError({"currency": _("Unsupported currency.")})
    not_future("paid_on", paid_on)
    with transaction.atomic():
        # Lock order (``installments.services``) step 1: the buyer, FOR NO KEY UPDATE. It queues the
        # buyer's remittances, voids and reconciliation one behind the other (the reference check below
        # and the matching rely on it), without blocking a post's FOR KEY SHARE on the same row.
        Buyer.objects.select_for_update(no_key=True).get(pk=buyer.pk)
        if Remittance.objects.filter(buyer=buyer, reference=reference).exists():
            raise ValidationError({"reference": _("This bank reference was already recorded.")})
        # The buyer's unmatched money from before goes first (FIFO as of ``paid_on``), as a run on the
        # eve would have applied it before this transfer arrived.
        batch.match_remittances(as_of=paid_on, buyer_range=(buyer.pk, buyer.pk))
        remittance = Remittance.objects.create(
            buyer=buyer,
            reference=reference,
            amount=amount,
            currency=currency,
            paid_on=paid_on,
            unmatched_amount=amount,
            created_by=actor_user(actor),
            note=(note or "").strip(),
        )
        exceptions: list[ReconciliationException] = []
        if settlement_ids:
            wanted = {int(pk) for pk in settlement_ids}
            known = list(Settlement.objects.filter(buyer=buyer, pk__in=wanted).order_by("id"))
            remittance.settlements.set(known)
            for missing in sorted(wanted - {s.pk for s in known}):
                exceptions.append(
                    ReconciliationException.objects.create(
                        buyer=buyer,
                        kind=ReconciliationException.Kind.UNKNOWN_SETTLEMENT,
                        remittance=remittance,
                        detail=f"Settlement #{missing} is not one of this buyer's settlements."[:255],
                        detected_on=paid_on,
                    )
                )
            owed = _match_listed(remittance, known)
            remittance.refresh_from_db()
            if owed > amount:
                exceptions.append(
                    ReconciliationException.objects.create(
                        buyer=buyer,
                        kind=ReconciliationException.Kind.SHORT,
                        remittance=remittance,
                        amount=owed - amount,
                        detail="The listed settlements' withholdings exceed the remittance.",
                        detected_on=paid_on,
                    )
                )
        else:
            batch.match_remittances(as_of=paid_on, buyer_range=(buyer.pk, buyer.pk), remittance_id=remittance.pk)
            remittance.refresh_from_db()
        if remittance.unmatched_amount > 0:
            exceptions.append(
                ReconciliationException.objects.create(
                    buyer=buyer,
                    kind=ReconciliationException.Kind.OVER,
                    remittance=remittance,
                    amount=remittance.unmatched_amount,
                    detail="The remittance exceeds the open withholdings it could be matched to.",
                    detected_on=paid_on,
                )
            )
        matches = list(remittance.matches.select_related("withholding").order_by("id"))
        audit_record(
            actor=actor,
            action="remittance.record",
            obj=remittance,
            after={
                **snapshot(remittance),
                "matches": [(m.withholding_id, m.amount) for m in matches],
                "exceptions": [(e.kind, e.amount) for e in exceptions],
            },
        )
        queue_reconciliation(buyer_id=buyer.pk, as_of=paid_on)
    return RemittanceOutcome(remittance=remittance, matches=matches, exceptions=exceptions)


def _match_listed(remittance: Remittance, settlements: list[Settlement]) -> Decimal:
    """Pay the listed settlements' open withholdings, oldest first; returns what they owed."""
    # Lock order step 3: the withholdings by id (the caller holds the buyer; this remittance is its own).
    open_rows = list(
        Withholding.objects.select_for_update(no_key=True)
        .filter(
            settlement__in=settlements,
            currency=remittance.currency,
            status__in=[Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL],
        )
        .order_by("id")
    )
    owed = sum((w.amount - w.remitted_amount for w in open_rows), ZERO)
    left = remittance.amount
    paid: list[Withholding] = []
    for withholding in sorted(open_rows, key=lambda w: (w.withheld_on, w.pk)):
        applied = min(withholding.amount - withholding.remitted_amount, left)
        if applied <= 0:
            break
        RemittanceMatch.objects.create(remittance=remittance, withholding=withholding, amount=applied)
        withholding.remitted_amount += applied
        withholding.status = (
            Withholding.Status.REMITTED
            if withholding.remitted_amount == withholding.amount
            else Withholding.Status.PARTIAL
        )
        withholding.save(update_fields=["remitted_amount", "status", "updated"])
        paid.append(withholding)
        left -= applied
    remittance.unmatched_amount = left
    # Reconciled as of the day of its last match (a listed settlement may postdate the transfer).
    last_match = max([remittance.paid_on, *(w.withheld_on for w in paid)])
    remittance.reconciled_at = _day_start(last_match) if left == 0 else None
    remittance.save(update_fields=["unmatched_amount", "reconciled_at", "updated"])
    batch.record_late_remittances(withholding_ids=[w.pk for w in paid], as_of=remittance.paid_on)
    return owed


def _day_start(day: dt.date) -> dt.datetime:
    """The first instant of ``day`` in TIME_ZONE: the time of an event known only by its date."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


@transaction.atomic
def exception_resolve(
    *,
    exception: ReconciliationException,
    actor: Any,
    note: str,
    resolution: str = ReconciliationException.Resolution.OTHER,
) -> ReconciliationException:
    """A person looked at a reconciliation exception and closed it: what was done (``resolution``) and
    why (``note``)."""
    if not roles.has_role(actor, *roles.TREASURY_WRITERS):
        raise PermissionDenied(_("Only treasury and lender staff resolve reconciliation exceptions."))
    if resolution not in ReconciliationException.Resolution.values:
        raise ValidationError({"resolution": _("Choose what was done about the exception.")})
    if not (note or "").strip():
        raise ValidationError({"note": _("Say how the exception was resolved.")})
    # Lock order (``installments.services``): the buyer first, then the exception (step 5), as the void
    # and the reconciliation, which also close exceptions, take them.
    Buyer.objects.select_for_update(no_key=True).get(pk=exception.buyer_id)
    exception = ReconciliationException.objects.select_for_update(no_key=True).get(pk=exception.pk)
    if exception.status != ReconciliationException.Status.OPEN:
        raise TransitionError(_("This exception is already resolved."))
    fields = ["status", "resolved_by_id", "resolved_at", "resolution", "resolution_note"]
    before = snapshot(exception, fields)
    exception.status = ReconciliationException.Status.RESOLVED
    exception.resolved_by = actor_user(actor)
    exception.resolved_at = timezone.now()
    exception.resolution = resolution
    exception.resolution_note = note.strip()
    exception.save(update_fields=["status", "resolved_by", "resolved_at", "resolution", "resolution_note", "updated"])
    audit_record(
        actor=actor,
        action="reconciliation_exception.resolve",
        obj=exception,
        before=before,
        after=snapshot(exception, fields),
    )
    return exception
