"""Guarantee funds (CRECER-like; DOMAIN.md §6, §7): enrolment, claims, the fund's payment, and the
recoveries shared with the fund after it paid.

- **Enrolment.** A product linked to a fund (``GuaranteedProduct``) enrols each loan at disbursement
  (``installments.services.disbursement.loan_disbursed``); loans disbursed before the link are enrolled
  by ``guarantee_enrol_loans`` (the ``guarantee_enrol`` command, the fund's admin action). The coverage is
  the fund's rule in force on the loan's disbursement day for its term in months (a loan's installments
  are monthly) and its product or type of loan (``GuaranteeCoverageRule``); it is kept on the enrolment
  and on ``Loan.guarantee_coverage_pct``. A loan of a covered product that no rule covers gets 0%.
- **Claims.** Once a covered loan is at least the fund's threshold days past due (90 by default, per
  fund), an officer files a claim for coverage × outstanding principal, rounded half-up to the céntimo;
  someone else (a credit approver or the lender admin) approves or rejects it — the database refuses an
  approver who filed it. Refused, with the reason: a paid-off loan, a loan not enrolled, below the
  threshold, a claim already open or paid on the loan. Treasury records the fund's payment (date,
  amount up to the claim, bank reference).
- **Subrogation.** The fund's payment reduces the lender's exposure, never the miner's debt: the loan's
  balances do not move. What the loan receives from the day the fund paid (payments, prepayments,
  withholdings; reversals out — on a written-off loan too) is shared with the fund pro rata: its share is
  recovered × paid by the fund / outstanding principal at the claim, rounded half-up, and never more
  than the fund paid. Treasury records each remittance of that share; what is still owed to the fund
  is the share less what was remitted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, DecimalField, Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext as _

from asmcredit import roles
from asmcredit.audit import audit_record, snapshot
from asmcredit.errors import TransitionError
from asmcredit.money import HUNDRED, ZERO, money
from installments.models import LoanTransaction
from lifecycle.models import (
    GuaranteeClaim,
    GuaranteeCoverageRule,
    GuaranteedProduct,
    GuaranteeEnrolment,
    GuaranteeFund,
    GuaranteeRemittance,
)
from lifecycle.selectors import PAYING_KINDS
from loans.models import Loan

ENROLLERS = CLAIM_FILERS = (roles.LOAN_OFFICER, roles.LENDER_ADMIN)
CLAIM_APPROVERS = (roles.CREDIT_APPROVER, roles.LENDER_ADMIN)
# Who records money from and to the fund.
FUND_TREASURY = (roles.TREASURY, roles.LENDER_ADMIN)

OPEN_STATUSES = (GuaranteeClaim.Status.PENDING, GuaranteeClaim.Status.APPROVED)
CLAIMED_STATUSES = (*OPEN_STATUSES, GuaranteeClaim.Status.PAID)
CLAIM_FIELDS = ["status", "decided_by_id", "decided_at", "decision_note"]
AMOUNT: DecimalField = DecimalField(max_digits=16, decimal_places=2)


# --- The arithmetic ---------------------------------------------------------------------------------


def claim_amount(outstanding_principal: Decimal, coverage_pct: Decimal) -> Decimal:
    """What the fund owes on a claim: coverage × outstanding principal, half-up to the céntimo."""
    return money(Decimal(outstanding_principal) * Decimal(coverage_pct) / HUNDRED)


def fund_share(*, recovered: Decimal, claim_paid: Decimal, principal_at_claim: Decimal) -> Decimal:
    """The fund's pro rata share of what a loan recovered after the fund paid its claim: recovered ×
    claim paid / outstanding principal at the claim, half-up to the céntimo, at most what it paid."""
    if recovered <= 0 or principal_at_claim <= 0:
        return ZERO
    return min(money(recovered * claim_paid / principal_at_claim), money(claim_paid))


# --- Enrolment --------------------------------------------------------------------------------------


def coverage_rule_for(*, fund: GuaranteeFund, loan: Loan) -> GuaranteeCoverageRule | None:
    """The fund's rule for ``loan`` on its disbursement day: the most specific scope with rules in force
    (its product, else its type of loan, else the whole fund), that scope's latest table, the band that
    holds the loan's term. None when that table has no band for the term."""
    in_force = GuaranteeCoverageRule.objects.filter(fund=fund, effective_from__lte=loan.disbursed_on)
    scopes = (
        Q(product_id=loan.product_id),
        Q(product__isnull=True, purpose=loan.product.purpose),
        Q(product__isnull=True, purpose=""),
    )
    for scope in scopes:
        rules = in_force.filter(scope)
        latest = rules.aggregate(latest=Max("effective_from"))["latest"]
        if latest is None:
            continue
        return (
            rules.filter(effective_from=latest, min_term_months__lte=loan.term)
            .filter(Q(max_term_months__isnull=True) | Q(max_term_months__gte=loan.term))
            .order_by("-min_term_months")
            .first()
        )
    return None


def fund_for(loan: Loan) -> GuaranteeFund | None:
    """The fund the loan's product belongs to, if any."""
    link = GuaranteedProduct.objects.select_related("fund").filter(product_id=loan.product_id).first()
    return link.fund if link else None


def enrolment_refusal(loan: Loan, fund: GuaranteeFund | None) -> str | None:
    """Why ``loan`` cannot join ``fund``, or None."""
    if fund is None:
        return _("The loan's product is not covered by a guarantee fund.")
    if not fund.is_active:
        return _("%(fund)s is not active: it enrols no new loans.") % {"fund": fund.name}
    if loan.status != Loan.Status.ACTIVE:
        return _("Only an active loan can be enrolled in a guarantee fund.")
    if GuaranteeEnrolment.objects.filter(loan=loan).exists():
        return _("The loan is already enrolled in a guarantee fund.")
    if coverage_rule_for(fund=fund, loan=loan) is None:
        return _("No coverage rule of %(fund)s in force on %(day)s covers a %(term)s-month loan of this product.") % {
            "fund": fund.name,
            "day": loan.disbursed_on.strftime("%d/%m/%Y"),
            "term": loan.term,
        }
    return None


@transaction.atomic
def guarantee_enrol(
    *, loan: Loan, actor: Any, fund: GuaranteeFund | None = None, enrolled_on: dt.date | None = None
) -> GuaranteeEnrolment:
    """Enrol ``loan`` in ``fund`` (default: its product's fund) at the coverage of the matching rule,
    which becomes the loan's stored coverage."""
    if not roles.has_role(actor, *ENROLLERS):
        raise PermissionDenied(_("Only loan officers and the lender administrator enrol loans in a guarantee fund."))
    loan = Loan.objects.select_for_update(no_key=True).select_related("product").get(pk=loan.pk)
    fund = fund or fund_for(loan)
    refusal = enrolment_refusal(loan, fund)
    if refusal:
        raise TransitionError(refusal)
    assert fund is not None
    rule = coverage_rule_for(fund=fund, loan=loan)
    assert rule is not None
    before = {"guarantee_coverage_pct": loan.guarantee_coverage_pct}
    try:
        with transaction.atomic():
            enrolment = GuaranteeEnrolment.objects.create(
                loan=loan,
                fund=fund,
                rule=rule,
                coverage_pct=rule.coverage_pct,
                enrolled_on=enrolled_on or timezone.localdate(),
                enrolled_by=actor,
            )
    except IntegrityError as exc:  # a concurrent enrolment of the same loan won
        raise TransitionError(_("The loan is already enrolled in a guarantee fund.")) from exc
    loan.guarantee_coverage_pct = rule.coverage_pct
    loan.save(update_fields=["guarantee_coverage_pct", "updated"])
    audit_record(actor=actor, action="guarantee.enrol", obj=enrolment, before=before, after=snapshot(enrolment))
    return enrolment


def enrol_at_disbursement(sender: Any, *, loan: Loan, actor: Any, **kwargs: Any) -> None:
    """``loan_disbursed`` receiver: a loan of a product in an active fund joins it; one no rule covers
    carries no coverage (the product's own percentage would claim a cover the fund does not give)."""
    fund = fund_for(loan)
    if fund is None or not fund.is_active:
        return
    if coverage_rule_for(fund=fund, loan=loan) is not None:
        guarantee_enrol(loan=loan, actor=actor, fund=fund, enrolled_on=loan.disbursed_on)
        loan.refresh_from_db(fields=["guarantee_coverage_pct"])
    elif loan.guarantee_coverage_pct:
        before = {"guarantee_coverage_pct": loan.guarantee_coverage_pct}
        loan.guarantee_coverage_pct = ZERO
        loan.save(update_fields=["guarantee_coverage_pct", "updated"])
        audit_record(
            actor=actor,
            action="guarantee.not_covered",
            obj=loan,
            before=before,
            after={"guarantee_coverage_pct": ZERO, "fund": fund.code, "term": loan.term},
        )


@dataclass(frozen=True)
class EnrolmentRun:
    enrolled: tuple[str, ...]  # loan codes
    refused: tuple[tuple[str, str], ...]  # (loan code, reason)


def guarantee_enrol_loans(
    *, fund: GuaranteeFund, actor: Any, product: Any = None, dry_run: bool = False
) -> EnrolmentRun:
    """Enrol the active loans of ``fund``'s products (or of one of them) that are not enrolled yet: the
    loans disbursed before their product joined the fund. Each loan is its own transaction; a loan no
    rule covers is listed with the reason. ``dry_run`` lists without writing."""
    loans = Loan.objects.filter(
        status=Loan.Status.ACTIVE,
        product__guarantee_fund_link__fund=fund,
        guarantee_enrolment__isnull=True,
    ).select_related("product")
    if product is not None:
        loans = loans.filter(product=product)
    enrolled: list[str] = []
    refused: list[tuple[str, str]] = []
    for loan in loans.order_by("id").iterator(chunk_size=500):
        refusal = enrolment_refusal(loan, fund)
        if refusal is None and not dry_run:
            try:
                guarantee_enrol(loan=loan, actor=actor, fund=fund)
            except ValidationError as exc:
                refusal = " ".join(exc.messages)
        if refusal:
            refused.append((loan.code, refusal))
        else:
            enrolled.append(loan.code)
    return EnrolmentRun(enrolled=tuple(enrolled), refused=tuple(refused))


# --- Claims -----------------------------------------------------------------------------------------


def claim_refusals(loan: Loan) -> list[str]:
    """Why a claim cannot be filed on ``loan`` today, or an empty list (``loan`` as last recomputed)."""
    if loan.status == Loan.Status.PAID_OFF:
        return [_("The loan is paid off (closed): there is nothing to claim.")]
    enrolment = GuaranteeEnrolment.objects.select_related("fund").filter(loan=loan).first()
    if enrolment is None:
        return [_("The loan is not enrolled in a guarantee fund.")]
    reasons: list[str] = []
    claimed = GuaranteeClaim.objects.filter(loan=loan, status__in=CLAIMED_STATUSES).first()
    if claimed is not None and claimed.status == GuaranteeClaim.Status.PAID:
        assert claimed.paid_on is not None
        reasons.append(
            _("%(fund)s already paid a claim on this loan (%(day)s).")
            % {"fund": enrolment.fund.name, "day": claimed.paid_on.strftime("%d/%m/%Y")}
        )
    elif claimed is not None:
        reasons.append(
            _("A claim on this loan is already open (%(status)s).") % {"status": claimed.get_status_display()}
        )
    threshold = enrolment.fund.claim_threshold_dpd
    if loan.days_past_due < threshold:
        reasons.append(
            _("The loan is %(dpd)s days past due; %(fund)s takes claims from %(threshold)s days.")
            % {"dpd": loan.days_past_due, "fund": enrolment.fund.name, "threshold": threshold}
        )
    return reasons


@transaction.atomic
def claim_file(*, loan: Loan, actor: Any, note: str = "") -> GuaranteeClaim:
    """File a claim for coverage × outstanding principal as the loan stands today; nothing is claimed
    from the fund until a second person approves."""
    from installments.services import loan_recompute

    if not roles.has_role(actor, *CLAIM_FILERS):
        raise PermissionDenied(_("Only loan officers and the lender administrator file a guarantee claim."))
    loan = loan_recompute(loan=loan)  # locks the loan; today's days past due and principal
    refusals = claim_refusals(loan)
    if refusals:
        raise TransitionError(" ".join(refusals))
    enrolment = GuaranteeEnrolment.objects.get(loan=loan)
    try:
        with transaction.atomic():
            claim = GuaranteeClaim.objects.create(
                loan=loan,
                fund_id=enrolment.fund_id,
                note=(note or "").strip()[:2000],
                filed_on=timezone.localdate(),
                days_past_due=loan.days_past_due,
                outstanding_principal=loan.outstanding_principal,
                coverage_pct=enrolment.coverage_pct,
                amount=claim_amount(loan.outstanding_principal, enrolment.coverage_pct),
                currency=loan.currency,
                requested_by=actor,
            )
    except IntegrityError as exc:  # a concurrent claim on the same loan won
        raise TransitionError(_("A claim on this loan is already open.")) from exc
    audit_record(actor=actor, action="guarantee_claim.file", obj=claim, after=snapshot(claim))
    return claim


def _claim_locked(claim: GuaranteeClaim, *expected: str) -> GuaranteeClaim:
    claim = GuaranteeClaim.objects.select_for_update().select_related("loan", "fund").get(pk=claim.pk)
    if claim.status not in expected:
        if GuaranteeClaim.Status.PENDING in expected:
            raise TransitionError(_("This claim has already been decided."))
        raise TransitionError(
            _("This claim is %(status)s: it cannot take this step.") % {"status": claim.get_status_display()}
        )
    return claim


def _claim_decider(claim: GuaranteeClaim, actor: Any) -> None:
    """The two-person rule: an approver, and not the person who filed the claim."""
    if not roles.has_role(actor, *CLAIM_APPROVERS):
        raise PermissionDenied(_("Only a credit approver or the lender administrator decides this."))
    if getattr(actor, "pk", None) == claim.requested_by_id:
        raise PermissionDenied(_("A second person must approve: you filed this claim."))


@transaction.atomic
def claim_approve(*, request: GuaranteeClaim, actor: Any, note: str = "") -> GuaranteeClaim:
    """Approve the claim as filed: it goes to the fund; treasury records the fund's payment."""
    claim = _claim_locked(request, GuaranteeClaim.Status.PENDING)
    _claim_decider(claim, actor)
    if claim.loan.status == Loan.Status.PAID_OFF:
        raise TransitionError(_("The loan was paid off since the claim was filed: reject the claim."))
    before = snapshot(claim, CLAIM_FIELDS)
    claim.status = GuaranteeClaim.Status.APPROVED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.decision_note = (note or "").strip()[:2000]
    claim.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor, action="guarantee_claim.approve", obj=claim, before=before, after=snapshot(claim, CLAIM_FIELDS)
    )
    return claim


@transaction.atomic
def claim_reject(*, request: GuaranteeClaim, actor: Any, note: str) -> GuaranteeClaim:
    """Reject with a note: nothing goes to the fund, and a new claim may be filed later."""
    claim = _claim_locked(request, GuaranteeClaim.Status.PENDING)
    _claim_decider(claim, actor)
    note = (note or "").strip()
    if not note:
        raise ValidationError({"note": _("Say why the claim is rejected.")})
    before = snapshot(claim, CLAIM_FIELDS)
    claim.status = GuaranteeClaim.Status.REJECTED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.decision_note = note[:2000]
    claim.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    audit_record(
        actor=actor, action="guarantee_claim.reject", obj=claim, before=before, after=snapshot(claim, CLAIM_FIELDS)
    )
    return claim


def _reference(field: str, value: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: _("Give the bank reference of the transfer.")})
    if len(value) > 60:
        raise ValidationError({field: _("A bank reference has at most 60 characters.")})
    return value


@transaction.atomic
def claim_payment_record(
    *, claim: GuaranteeClaim, actor: Any, paid_on: dt.date, amount: Decimal, bank_reference: str
) -> GuaranteeClaim:
    """Record the fund's payment of an approved claim (at most the amount claimed). The miner still owes
    everything: the loan's balances do not move."""
    if not roles.has_role(actor, *FUND_TREASURY):
        raise PermissionDenied(_("Only treasury and the lender administrator record a guarantee fund's payment."))
    claim = _claim_locked(claim, GuaranteeClaim.Status.APPROVED)
    errors: dict[str, str] = {}
    if paid_on > timezone.localdate():
        errors["paid_on"] = _("A payment cannot be dated in the future.")
    elif paid_on < claim.filed_on:
        errors["paid_on"] = _("The fund cannot have paid before the claim was filed (%(day)s).") % {
            "day": claim.filed_on.strftime("%d/%m/%Y")
        }
    if amount is None or amount <= 0:
        errors["amount"] = _("Give the amount the fund paid.")
    elif money(amount) != amount or amount > claim.amount:
        errors["amount"] = _("The fund pays at most the amount claimed (%(amount)s), in céntimos.") % {
            "amount": claim.amount
        }
    try:
        bank_reference = _reference("bank_reference", bank_reference)
    except ValidationError as exc:
        errors.update({key: value[0] for key, value in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    before = snapshot(claim, ["status", "paid_on", "paid_amount", "bank_reference"])
    claim.status = GuaranteeClaim.Status.PAID
    claim.paid_on = paid_on
    claim.paid_amount = amount
    claim.bank_reference = bank_reference
    claim.payment_recorded_by = actor
    claim.save(update_fields=["status", "paid_on", "paid_amount", "bank_reference", "payment_recorded_by"])
    audit_record(
        actor=actor,
        action="guarantee_claim.payment",
        obj=claim,
        before=before,
        after={
            **snapshot(claim, ["status", "paid_on", "paid_amount", "bank_reference", "currency"]),
            "exposure_after": exposure_after(claim),
        },
    )
    return claim


def exposure_after(claim: GuaranteeClaim) -> Decimal:
    """The lender's exposure on the loan once the fund paid: outstanding principal at the claim less the
    fund's payment (the miner's debt is unchanged)."""
    return money(claim.outstanding_principal - (claim.paid_amount or ZERO))


# --- Recoveries shared with the fund ----------------------------------------------------------------


@dataclass(frozen=True)
class RecoveryShare:
    recovered: Decimal  # what the loan received from the day the fund paid
    fund_share: Decimal  # the fund's pro rata part of it
    remitted: Decimal  # handed over to the fund
    owed: Decimal  # still owed to the fund


def _recovered_since_payment(as_of: dt.date | None = None) -> Subquery:
    rows = LoanTransaction.objects.filter(
        loan_id=OuterRef("loan_id"),
        kind__in=PAYING_KINDS,
        reversed_by__isnull=True,
        value_date__gte=OuterRef("paid_on"),
    )
    if as_of is not None:
        rows = rows.filter(value_date__lte=as_of)
    total = rows.order_by().values("loan_id").annotate(total=Sum("amount")).values("total")
    return Subquery(total, output_field=AMOUNT)


def _remitted(as_of: dt.date | None = None) -> Subquery:
    rows = GuaranteeRemittance.objects.filter(claim_id=OuterRef("pk"))
    if as_of is not None:
        rows = rows.filter(remitted_on__lte=as_of)
    total = rows.order_by().values("claim_id").annotate(total=Sum("amount")).values("total")
    return Subquery(total, output_field=AMOUNT)


def claims_with_recoveries(queryset: QuerySet[GuaranteeClaim], as_of: dt.date | None = None) -> QuerySet[Any]:
    """``queryset`` with ``recovered`` (from the day the fund paid) and ``remitted`` (to the fund)."""
    return queryset.annotate(
        recovered=Coalesce(_recovered_since_payment(as_of), Value(ZERO), output_field=AMOUNT),
        remitted=Coalesce(_remitted(as_of), Value(ZERO), output_field=AMOUNT),
    )


def recovery_share(claim: Any) -> RecoveryShare:
    """The recovery shared with the fund on ``claim`` (annotated by ``claims_with_recoveries`` or not)."""
    if claim.status != GuaranteeClaim.Status.PAID or claim.paid_amount is None:
        return RecoveryShare(ZERO, ZERO, ZERO, ZERO)
    if not hasattr(claim, "recovered"):
        claim = claims_with_recoveries(GuaranteeClaim.objects.filter(pk=claim.pk)).get()
    share = fund_share(
        recovered=claim.recovered, claim_paid=claim.paid_amount, principal_at_claim=claim.outstanding_principal
    )
    return RecoveryShare(
        recovered=money(claim.recovered),
        fund_share=share,
        remitted=money(claim.remitted),
        owed=max(share - claim.remitted, ZERO),
    )


@transaction.atomic
def recovery_remit(
    *, claim: GuaranteeClaim, actor: Any, amount: Decimal, remitted_on: dt.date, reference: str
) -> GuaranteeRemittance:
    """Record handing the fund (part of) its share of the recoveries; never more than is owed to it."""
    if not roles.has_role(actor, *FUND_TREASURY):
        raise PermissionDenied(_("Only treasury and the lender administrator record a remittance to a fund."))
    claim = _claim_locked(claim, GuaranteeClaim.Status.PAID)  # serialises two remittances of one claim
    share = recovery_share(claim)
    errors: dict[str, str] = {}
    if amount is None or amount <= 0 or money(amount) != amount:
        errors["amount"] = _("Give the amount remitted to the fund, in céntimos.")
    elif amount > share.owed:
        errors["amount"] = _("Only %(owed)s of the recoveries is owed to the fund.") % {"owed": share.owed}
    assert claim.paid_on is not None
    if remitted_on > timezone.localdate():
        errors["remitted_on"] = _("A remittance cannot be dated in the future.")
    elif remitted_on < claim.paid_on:
        errors["remitted_on"] = _("A remittance cannot predate the fund's payment (%(day)s).") % {
            "day": claim.paid_on.strftime("%d/%m/%Y")
        }
    try:
        reference = _reference("reference", reference)
    except ValidationError as exc:
        errors.update({key: value[0] for key, value in exc.message_dict.items()})
    if errors:
        raise ValidationError(errors)
    remittance = GuaranteeRemittance.objects.create(
        claim=claim, amount=amount, remitted_on=remitted_on, reference=reference, recorded_by=actor
    )
    audit_record(
        actor=actor,
        action="guarantee_claim.remit",
        obj=claim,
        after={**snapshot(remittance), "currency": claim.currency, "owed_after": share.owed - amount},
    )
    return remittance


# --- Queues and the portfolio -----------------------------------------------------------------------


def claimable_loans(*, filters: dict[str, Any] | None = None) -> QuerySet[Loan]:
    """Covered loans at or past their fund's threshold with no claim open or paid, worst first, with
    ``fund_name``, ``coverage`` and ``claimable`` (coverage × outstanding principal)."""
    claimed = GuaranteeClaim.objects.filter(loan_id=OuterRef("pk"), status__in=CLAIMED_STATUSES)
    return (
        Loan.objects.filter(
            status__in=(Loan.Status.ACTIVE, Loan.Status.WRITTEN_OFF),
            guarantee_enrolment__isnull=False,
            days_past_due__gte=F("guarantee_enrolment__fund__claim_threshold_dpd"),
            **(filters or {}),
        )
        .exclude(Exists(claimed))
        .select_related("miner", "guarantee_enrolment__fund")
        .annotate(
            coverage=F("guarantee_enrolment__coverage_pct"),
            claimable=Round(F("outstanding_principal") * F("guarantee_enrolment__coverage_pct") / HUNDRED, 2),
        )
        .order_by("-days_past_due", "-outstanding_principal", "id")
    )


@dataclass(frozen=True)
class GuaranteeFigures:
    """The guarantee funds in the portfolio report, in one currency."""

    currency: str
    covered_loans: int
    covered_exposure: Decimal  # Σ coverage × outstanding principal of covered loans in the book
    claims_filed: int  # filed and not rejected
    claimed: Decimal
    claims_paid: int
    paid_by_funds: Decimal
    recovered_after_claims: Decimal
    shared_with_funds: Decimal  # the funds' pro rata share of those recoveries
    remitted_to_funds: Decimal
    owed_to_funds: Decimal

    def as_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def plus(self, other: GuaranteeFigures, *, factor: Decimal = Decimal(1)) -> GuaranteeFigures:
        """These figures and ``other``'s, its amounts times ``factor`` (soles per unit of its currency)."""
        values: dict[str, Any] = {"currency": self.currency}
        for name in self.__dataclass_fields__:
            if name == "currency":
                continue
            mine, theirs = getattr(self, name), getattr(other, name)
            values[name] = mine + theirs if isinstance(mine, int) else money(mine + theirs * factor)
        return GuaranteeFigures(**values)


def guarantee_figures(*, as_of: dt.date | None = None, currency: str = "PEN") -> GuaranteeFigures:
    """Covered exposure, claims filed and paid, and recoveries shared with the funds, for loans in
    ``currency``. ``as_of`` counts claims filed, payments, recoveries and remittances up to that day;
    the covered exposure reads the loans' current outstanding principal."""
    covered = Loan.objects.filter(status=Loan.Status.ACTIVE, currency=currency, guarantee_enrolment__isnull=False)
    if as_of is not None:
        covered = covered.filter(disbursed_on__lte=as_of)
    exposure = covered.aggregate(
        n=Count("pk"),
        amount=Sum(Round(F("outstanding_principal") * F("guarantee_enrolment__coverage_pct") / HUNDRED, 2)),
    )
    claims = GuaranteeClaim.objects.filter(currency=currency).exclude(status=GuaranteeClaim.Status.REJECTED)
    if as_of is not None:
        claims = claims.filter(filed_on__lte=as_of)
    filed = claims.aggregate(n=Count("pk"), amount=Sum("amount"))
    paid = claims.filter(status=GuaranteeClaim.Status.PAID)
    if as_of is not None:
        paid = paid.filter(paid_on__lte=as_of)
    recovered = shared = remitted = owed = ZERO
    paid_count, paid_amount = 0, ZERO
    for claim in claims_with_recoveries(paid, as_of).iterator(chunk_size=2000):
        share = recovery_share(claim)
        paid_count += 1
        paid_amount += claim.paid_amount
        recovered += share.recovered
        shared += share.fund_share
        remitted += share.remitted
        owed += share.owed
    return GuaranteeFigures(
        currency=currency,
        covered_loans=exposure["n"],
        covered_exposure=money(exposure["amount"] or ZERO),
        claims_filed=filed["n"],
        claimed=money(filed["amount"] or ZERO),
        claims_paid=paid_count,
        paid_by_funds=money(paid_amount),
        recovered_after_claims=recovered,
        shared_with_funds=shared,
        remitted_to_funds=remitted,
        owed_to_funds=owed,
    )
