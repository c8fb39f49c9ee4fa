"""A loan's history from the audit trail: who did what, and when, to the loan and to what belongs to it.

What belongs to a loan: its application (created, changed, submitted, decided, cancelled), its
disbursement and equipment verifications, its collateral (recorded, registered, re-appraised,
released), the changes of status or SBS category its recalculations made, its payments and
prepayments, the withholdings on it and the voids of their settlements, its overpayment credit
refunded or applied, and the statement links sent to its miner. A settlement's own
posting is left out: the withholding on this loan says what it did here.

Each action code reads as a phrase in the user's language (``ACTION_LABELS``, the one place for them);
a state change lists each field it changed, before → after, under the field's own label. The values
stay typed (amounts, dates, choice labels) for the template to format the Peruvian way.

Newest first, a page at a time (``before`` is the last event id of the previous page): two queries a
page however long the history. The first collects the ids of what belongs to the loan, the second reads
the events through the audit trail's ``(object_type, object_id)`` index, so the cost follows the loan's
own events, never the size of the whole trail.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.apps import apps
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from asmcredit.models import AuditEvent
from buyers.models import Settlement
from installments.models import LoanTransaction, Withholding
from lifecycle.models import CollectionContact, GuaranteeClaim, GuaranteeEnrolment, ReversalRequest, WriteOff
from loans.models import Collateral, Loan, LoanApplication
from notices.models import StatementLink

PAGE_SIZE = 20

ACTION_LABELS: dict[str, Promise] = {
    "application.create": _("Application created"),
    "application.update": _("Application terms changed"),
    "application.withdraw": _("Application taken back to draft"),
    "application.submit": _("Application submitted for approval"),
    "application.approve": _("Application approved"),
    "application.reject": _("Application rejected"),
    "application.cancel": _("Application cancelled"),
    "loan.disburse": _("Loan disbursed"),
    "loan.migrate": _("Loan migrated from the lender's book (opening loan)"),
    "loan.verify_equipment": _("Equipment verification recorded"),
    "collateral.add": _("Collateral recorded"),
    "collateral.update": _("Collateral changed"),
    "loan.recompute": _("Loan status updated"),
    "payment.record": _("Payment recorded"),
    "reschedule.request": _("Reprogramación requested"),
    "reschedule.approve": _("Reprogramación approved: new cronograma"),
    "reschedule.reject": _("Reprogramación rejected"),
    "reschedule.skip": _("Reprogramación not applied (the loan fell behind)"),
    "payment.prepayment": _("Prepayment recorded (pago anticipado)"),
    "withholding.record": _("Installment withheld from an ore settlement"),
    "settlement.void": _("Ore settlement voided"),
    "credit.refund": _("Overpayment credit refunded"),
    "credit.apply": _("Overpayment credit applied to another loan"),
    "transaction.reverse": _("Payment reversed (the loan replayed without it)"),
    "reversal.request": _("Reversal of a payment requested"),
    "reversal.approve": _("Reversal of a payment approved"),
    "reversal.reject": _("Reversal of a payment rejected"),
    "reversal.withdraw": _("Reversal request withdrawn"),
    "collection.contact": _("Collection contact recorded"),
    "write_off.prepare": _("Write-off prepared"),
    "write_off.approve": _("Loan written off (castigo)"),
    "write_off.reject": _("Write-off rejected"),
    "refinance.propose": _("Refinancing proposed"),
    "refinance.close": _("Closed by a refinancing (its payoff became the new loan's principal)"),
    "loan.refinance": _("Refinanced loan opened for the balance of the loans it replaces"),
    "statement_link.create": _("Statement link sent to the miner"),
    "guarantee.enrol": _("Enrolled in a guarantee fund"),
    "guarantee.not_covered": _("Not covered: no rule of the product's guarantee fund covers the loan"),
    "guarantee_claim.file": _("Guarantee fund claim filed"),
    "guarantee_claim.approve": _("Guarantee fund claim approved"),
    "guarantee_claim.reject": _("Guarantee fund claim rejected"),
    "guarantee_claim.payment": _("Guarantee fund paid the claim"),
    "guarantee_claim.remit": _("Fund's share of recoveries remitted"),
    "statement_link.revoke": _("Statement link revoked"),
    "admin.add": _("Added in the administration"),
    "admin.change": _("Changed in the administration"),
    "admin.delete": _("Deleted in the administration"),
}

# The figures of a guarantee event, by the keys its audit row keeps: (amount, day, note).
GUARANTEE_SUMMARIES: dict[str, tuple[str | None, str, str]] = {
    "guarantee.enrol": (None, "enrolled_on", "coverage_pct"),
    "guarantee_claim.file": ("amount", "filed_on", "note"),
    "guarantee_claim.payment": ("paid_amount", "paid_on", "bank_reference"),
    "guarantee_claim.remit": ("amount", "remitted_on", "reference"),
}

# SBS categories as the category badge names them (Loan.category has no choices of its own).
CATEGORY_LABELS: dict[str, Promise] = {
    "normal": _("Normal"),
    "cpp": _("CPP"),
    "deficiente": _("Deficient"),
    "dudoso": _("Doubtful"),
    "perdida": _("Loss"),
}

# A recalculation is history only when it moved the loan's status or SBS category; the rest of what it
# derives (balances, days past due) follows from the payments and withholdings already listed.
RECOMPUTE_FIELDS = ("status", "category")

# Fields a change does not list: who and when are the event's own, ids mean nothing to a reader.
HIDDEN_FIELDS = {"id", "created", "updated", "submitted_at", "decided_at", "decided_by_id", "verified_by_id"}

# Non-person actors as written in the audit trail (asmcredit.audit.actor_label_for).
SYSTEM_ACTORS: dict[str, Promise] = {"servicing": _("the system"), "system": _("the system")}


@dataclass(frozen=True)
class Change:
    label: str
    before: Any
    after: Any
    kind: str  # "amount", "date", "datetime" or "text": how the template formats the values


@dataclass(frozen=True)
class HistoryItem:
    id: int
    at: dt.datetime
    actor: str
    action: str
    label: str
    changes: tuple[Change, ...] = ()
    amount: Decimal | None = None
    currency: str = ""
    on: dt.date | None = None
    note: str = ""


@dataclass(frozen=True)
class HistoryPage:
    items: tuple[HistoryItem, ...]
    next_before: int | None  # the ``before`` of the next page; None on the last one


def _ids(queryset: models.QuerySet[Any], type_label: str) -> models.QuerySet[Any]:
    return (
        queryset.order_by()
        .annotate(audit_type=Value(type_label, output_field=CharField()), audit_id=Cast("pk", CharField()))
        .values_list("audit_type", "audit_id")
    )


def _subjects(loan: Loan) -> dict[str, list[str]]:
    """Object ids by audit object type: the loan, its application, and what the loan's history covers."""
    parts = [
        _ids(LoanTransaction.objects.filter(loan=loan), LoanTransaction._meta.label),
        _ids(Withholding.objects.filter(loan=loan), Withholding._meta.label),
        _ids(
            Settlement.objects.filter(withholdings__loan=loan, status=Settlement.Status.VOID).distinct(),
            Settlement._meta.label,
        ),
        _ids(StatementLink.objects.filter(miner_id=loan.miner_id), StatementLink._meta.label),
        # A loan's life beyond the happy path (lifecycle): requests and decisions about it.
        _ids(ReversalRequest.objects.filter(original__loan=loan), ReversalRequest._meta.label),
        _ids(CollectionContact.objects.filter(loan=loan), CollectionContact._meta.label),
        _ids(WriteOff.objects.filter(loan=loan), WriteOff._meta.label),
        _ids(GuaranteeEnrolment.objects.filter(loan=loan), GuaranteeEnrolment._meta.label),
        _ids(GuaranteeClaim.objects.filter(loan=loan), GuaranteeClaim._meta.label),
        _ids(Collateral.objects.filter(loan=loan), Collateral._meta.label),
    ]
    subjects: dict[str, list[str]] = {
        Loan._meta.label: [str(loan.pk)],
        LoanApplication._meta.label: [str(loan.application_id)],
    }
    for kind, key in parts[0].union(*parts[1:], all=True):
        subjects.setdefault(kind, []).append(key)
    return subjects


def _events(loan: Loan) -> models.QuerySet[AuditEvent]:
    condition = Q()
    for object_type, keys in _subjects(loan).items():
        condition |= Q(object_type=object_type, object_id__in=keys)
    loan_recompute = Q(object_type=Loan._meta.label, action="loan.recompute")
    moved = Q()
    for name in RECOMPUTE_FIELDS:
        moved |= Q(after__has_key=name)
    settlement_post = Q(object_type=Settlement._meta.label, action="settlement.post")
    return AuditEvent.objects.filter(condition).exclude(loan_recompute & ~moved).exclude(settlement_post)


def loan_history(*, loan: Loan, before: int | None = None, size: int = PAGE_SIZE) -> HistoryPage:
    """One page of ``loan``'s history, newest first, from the event before ``before`` (an event id).

    Events are ordered by id, the order they were written (``at`` is stamped at the same insert)."""
    events = _events(loan).select_related("actor").order_by("-id")
    if before is not None:
        events = events.filter(id__lt=before)
    rows = list(events[: size + 1])
    items = tuple(_item(event, loan.currency) for event in rows[:size])
    return HistoryPage(items=items, next_before=items[-1].id if len(rows) > size else None)


def _item(event: AuditEvent, currency: str) -> HistoryItem:
    after = event.after if isinstance(event.after, dict) else {}
    before = event.before if isinstance(event.before, dict) else {}
    model = _model(event.object_type)
    changes = _changes(model, before, after, only=RECOMPUTE_FIELDS if event.action == "loan.recompute" else None)
    summary = _summary(event.action, after, currency)
    return HistoryItem(
        id=event.pk,
        at=event.at,
        actor=_actor(event),
        action=event.action,
        label=str(ACTION_LABELS.get(event.action, event.action)),
        changes=changes,
        **summary,
    )


def _actor(event: AuditEvent) -> str:
    if event.actor is not None:
        return event.actor.get_full_name() or event.actor.get_username()
    label = event.actor_label
    if label in SYSTEM_ACTORS:
        return str(SYSTEM_ACTORS[label])
    if label.startswith("buyer-key:"):
        # "buyer-key:<RUC>:<key name>"
        return gettext("%(name)s (buyer integration)") % {"name": label.split(":", 2)[-1]}
    return label


def _summary(action: str, after: dict[str, Any], currency: str = "PEN") -> dict[str, Any]:
    """The figures an event without a before → after states: how much, on which day, with what note."""
    summary: dict[str, Any] = {}
    if action in {
        "payment.record",
        "payment.prepayment",
        "credit.refund",
        "credit.apply",
        "withholding.record",
        "refinance.close",
    }:
        summary["amount"] = _decimal(after.get("amount"))
        summary["currency"] = str(after.get("currency") or currency)
        summary["on"] = _date(after.get("value_date") or after.get("withheld_on"))
        summary["note"] = str(after.get("target_loan") or after.get("reference") or "")
    elif action == "transaction.reverse":
        summary["amount"] = _decimal(after.get("amount"))
        summary["currency"] = str(after.get("currency") or currency)
        summary["on"] = _date(after.get("value_date"))
        summary["note"] = str(after.get("note") or "")
    elif action in {"reversal.request", "write_off.prepare"}:
        summary["note"] = str(after.get("reason") or "")
    elif action == "write_off.approve" and isinstance(after.get("request"), dict):
        request = after["request"]
        summary["amount"] = _decimal(request.get("principal"))
        summary["currency"] = currency
        summary["on"] = _date(request.get("written_off_on"))
        summary["note"] = str(request.get("decision_note") or "")
    elif action == "collection.contact":
        summary["on"] = _date(after.get("contacted_on"))
        summary["note"] = str(after.get("note") or after.get("outcome") or "")
        promise = after.get("promise")
        if isinstance(promise, dict):
            summary["amount"] = _decimal(promise.get("amount"))
            summary["currency"] = str(promise.get("currency") or currency)
    elif action == "collateral.add":
        summary["amount"] = _decimal(after.get("appraised_value"))
        summary["currency"] = str(after.get("currency") or currency)
        summary["note"] = str(after.get("description") or "")
    elif action == "loan.verify_equipment" and isinstance(after.get("visit"), dict):
        summary["on"] = _date(after["visit"].get("visited_on"))
    elif action in GUARANTEE_SUMMARIES:
        amount, day, note = GUARANTEE_SUMMARIES[action]
        summary["amount"] = _decimal(after.get(amount)) if amount else None
        summary["currency"] = str(after.get("currency") or currency)
        summary["on"] = _date(after.get(day))
        summary["note"] = f"{after.get(note)}%" if action == "guarantee.enrol" else str(after.get(note) or "")
    elif action == "loan.refinance":
        summary["amount"] = _decimal(after.get("principal"))
        summary["currency"] = str(after.get("currency") or currency)
        summary["on"] = _date(after.get("refinanced_on"))
        summary["note"] = ", ".join(str(code) for code in after.get("refinanced_loans") or [])
    elif action.startswith("reschedule."):
        summary["on"] = _date(after.get("effective_on"))
        summary["note"] = str(after.get("note") or "")
    elif action in {"loan.disburse", "loan.migrate"}:
        summary["amount"] = _decimal(after.get("principal"))
        summary["currency"] = str(after.get("currency") or currency)
        summary["on"] = _date(after.get("disbursed_on"))
        summary["note"] = str(after.get("code") or "")
    return summary


def _model(object_type: str) -> type[models.Model] | None:
    try:
        return apps.get_model(object_type)
    except (LookupError, ValueError):
        return None


def _changes(
    model: type[models.Model] | None,
    before: dict[str, Any],
    after: dict[str, Any],
    *,
    only: tuple[str, ...] | None = None,
) -> tuple[Change, ...]:
    """Each field ``before`` and ``after`` both state and that differs, with the model's label for it."""
    if model is None:
        return ()
    changes = []
    for name in only or tuple(after):
        if name in HIDDEN_FIELDS or name not in before or name not in after or before[name] == after[name]:
            continue
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            continue
        changes.append(_change(model_field, name, before[name], after[name]))
    return tuple(changes)


def _change(model_field: Any, name: str, before: Any, after: Any) -> Change:
    label = str(getattr(model_field, "verbose_name", name))
    if model_field.is_relation:
        return Change(label, None, None, "changed")
    if name == "category":
        return Change(label, _category(before), _category(after), "text")
    if model_field.choices:
        choices = {str(value): str(text) for value, text in model_field.flatchoices}
        return Change(label, choices.get(str(before), before), choices.get(str(after), after), "text")
    if isinstance(model_field, models.BooleanField):
        return Change(label, _yes_no(before), _yes_no(after), "text")
    if isinstance(model_field, models.DateTimeField):
        return Change(label, _datetime(before), _datetime(after), "datetime")
    if isinstance(model_field, models.DateField):
        return Change(label, _date(before), _date(after), "date")
    if isinstance(model_field, models.DecimalField):
        return Change(label, _decimal(before), _decimal(after), "amount")
    return Change(label, _text(before), _text(after), "text")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _category(code: Any) -> str | None:
    return str(CATEGORY_LABELS.get(str(code), code)) if code else None


def _yes_no(value: Any) -> str:
    return gettext("yes") if value else gettext("no")


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _date(value: Any) -> dt.date | None:
    return parse_date(str(value)[:10]) if value else None


def _datetime(value: Any) -> dt.datetime | None:
    return parse_datetime(str(value)) if value else None
