"""Every page of the staff web application and the miner's statement page, in every state a person can
find it, for the checks that must see them all: axe (test_it_is_accessible), the keyboard
(test_it_is_usable_by_keyboard) and the scan for English left in Spanish pages and PDFs
(test_it_speaks_spanish_everywhere).

``PAGES`` maps each URL name to who opens it and how to build its arguments from the world;
``NOT_PAGES`` names the routes that are no page (a POST behind a button, JSON, a file checked
elsewhere) and why. ``uncovered_routes`` lists every route of the application in neither map, so a page
added later fails the checks until it is given its arguments here.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse

# Who opens a page: the personas of tests/conftest.py, a treasurer, a buyer company's user, or nobody.
OFFICER, APPROVER, ANALYST, ADMIN = "officer", "approver", "analyst", "admin"
TREASURER, BUYER, ANONYMOUS = "treasurer", "buyer", "anonymous"
PERSONAS = (OFFICER, APPROVER, ANALYST, ADMIN, TREASURER, BUYER, ANONYMOUS)

HTML, PARTIAL, PDF, CSV = "html", "partial", "pdf", "csv"

# Routes outside the officer application: the Django admin (Django's own pages) and the JSON API.
OUTSIDE = ("admin/", "api/")

Variants = Callable[[SimpleNamespace], dict[str, "Target"]]


@dataclass(frozen=True)
class Target:
    """One state of a page: the URL's arguments, a query string, POST data for an htmx partial, and the
    status it answers with."""

    args: tuple[Any, ...] = ()
    query: str = ""
    post: dict[str, Any] | None = None
    status: int = 200
    personas: tuple[str, ...] | None = None  # who opens this state, if not everyone of the page


@dataclass(frozen=True)
class Page:
    personas: tuple[str, ...]
    variants: Variants = field(default=lambda world: {"": Target()})
    kind: str = HTML


@dataclass(frozen=True)
class Visit:
    """A URL to open, as whom, and what it should answer."""

    name: str
    label: str
    persona: str
    url: str
    kind: str = HTML
    status: int = 200
    post: dict[str, Any] | None = None

    def __str__(self) -> str:
        return f"{self.name}{f' [{self.label}]' if self.label else ''} as {self.persona}: {self.url}"


def _each(attribute: str, *labels: str, everyone: tuple[str, ...] | None = None) -> Variants:
    """One variant per object of the world: ``world.<attribute>[label].pk`` for each label. Each is
    opened by the officer only, except those in ``everyone`` (all of them by default), opened by every
    persona of the page: the states that change what the others see."""
    shared = labels if everyone is None else everyone
    return lambda world: {
        label: Target((getattr(world, attribute)[label].pk,), personas=None if label in shared else (OFFICER,))
        for label in labels
    }


def _one(path: str, query: str = "") -> Variants:
    """The page of one object of the world, found by a dotted path (``loans.active``)."""

    def variants(world: SimpleNamespace) -> dict[str, Target]:
        value: Any = world
        for part in path.split("."):
            value = value[part] if isinstance(value, dict) else getattr(value, part)
        return {"": Target((value.pk,), query=query(world) if callable(query) else query)}

    return variants


def _application_terms(world: SimpleNamespace) -> dict[str, Any]:
    return {
        "miner": world.miners["rosa"].pk,
        "product": world.equipment_product.pk,
        "equipment": world.equipment.pk,
        "withholding_buyer": world.orex.pk,
        "amount": "20000.00",
        "term": "12",
        "tea_pct": "40.00",
        "disbursement_date": world.today.strftime("%d/%m/%Y"),
        "first_due_on": (world.today + dt.timedelta(days=31)).strftime("%d/%m/%Y"),
        "grace_periods": "0",
    }


PAGES: dict[str, Page] = {
    "login": Page((ANONYMOUS,)),
    "dashboard": Page((OFFICER, APPROVER, ANALYST, ADMIN)),
    "job-detail": Page((OFFICER,), _each("jobs", "imported", "failed", "running")),
    "job-progress": Page((OFFICER,), _each("jobs", "failed"), kind=PARTIAL),
    "miners:list": Page(
        (OFFICER, ANALYST),
        lambda world: {"": Target(), "search": Target(query=f"q={world.miners['rosa'].document_number}")},
    ),
    "miners:create": Page((OFFICER,)),
    "miners:detail": Page(
        (OFFICER, ANALYST), _each("miners", "rosa", "teodoro", "luz", "mario", "newcomer", everyone=("rosa",))
    ),
    "miners:edit": Page((OFFICER,), _one("miners.rosa")),
    "miners:document-add": Page((OFFICER,), _one("miners.rosa")),
    "miners:training-add": Page((OFFICER,), _one("miners.rosa")),
    "miners:import": Page((OFFICER,)),
    "miners:import-settlements": Page((OFFICER,)),
    "loans:list": Page((OFFICER, ANALYST)),
    "loans:detail": Page(
        (OFFICER, ANALYST), _each("loans", "active", "overdue", "paid_off", "credit", everyone=("active",))
    ),
    "loans:verify": Page((ANALYST,), _one("loans.active")),
    "loans:collateral-new": Page(
        (OFFICER, APPROVER),
        lambda world: {
            "": Target((world.loans["active"].pk,)),
            "prefilled from the equipment": Target((world.loans["active"].pk,), query="prefill=equipment"),
        },
    ),
    "loans:collateral-edit": Page(
        (OFFICER,), lambda world: {"": Target((world.loans["active"].pk, world.collateral.pk))}
    ),
    "loans:applications": Page((OFFICER, APPROVER)),
    "loans:application-create": Page(
        (OFFICER,),
        lambda world: {
            "choose a miner": Target(query=f"q={world.miners['rosa'].document_number}"),
            "the form": Target(query=f"miner={world.miners['rosa'].pk}&product={world.equipment_product.pk}"),
        },
    ),
    "loans:application-fields": Page(
        (OFFICER,),
        lambda world: {"": Target(query=f"miner={world.miners['rosa'].pk}&product={world.equipment_product.pk}")},
        kind=PARTIAL,
    ),
    "loans:application-preview": Page(
        (OFFICER,), lambda world: {"": Target(post=_application_terms(world))}, kind=PARTIAL
    ),
    "loans:application-detail": Page(
        (OFFICER, APPROVER),
        _each(
            "applications",
            *("draft", "submitted", "approved", "rejected", "cancelled", "disbursed"),
            everyone=("submitted", "approved"),
        ),
    ),
    "loans:application-edit": Page((OFFICER,), _one("applications.draft")),
    "lifecycle:reversal-new": Page(
        (OFFICER,), lambda world: {"": Target((world.loans["active"].pk, world.branch_payment.pk))}
    ),
    "lifecycle:reversals": Page((APPROVER, OFFICER)),
    "lifecycle:collections": Page((OFFICER,)),
    "lifecycle:loan-collection": Page((OFFICER,), _one("loans.overdue")),
    "lifecycle:write-off-new": Page((OFFICER,), _one("loans.overdue")),
    "lifecycle:refinance-new": Page((OFFICER,), _one("loans.overdue")),
    "lifecycle:write-offs": Page((APPROVER,)),
    "lifecycle:reschedule-new": Page((OFFICER,), _one("loans.active")),
    "lifecycle:reschedules": Page((APPROVER, OFFICER)),
    "lifecycle:reschedule-bulk": Page((OFFICER,)),
    "lifecycle:book-imports": Page((ADMIN,)),
    "lifecycle:book-import": Page((ADMIN,), _each("book_imports", "dry_run", "failed", "running")),
    "lifecycle:book-import-progress": Page((ADMIN,), _each("book_imports", "running"), kind=PARTIAL),
    "lifecycle:book-import-template": Page((ADMIN,), lambda world: {"csv": Target(("loans", "csv"))}, kind=CSV),
    "lifecycle:guarantee-claims": Page(
        (OFFICER, APPROVER, TREASURER),
        lambda world: {
            "": Target(),
            **{view: Target(query=f"view={view}", personas=(OFFICER,)) for view in ("pending", "approved", "paid")},
        },
    ),
    "lifecycle:loan-guarantee": Page((OFFICER,), _one("loans.overdue")),
    "lifecycle:guarantee-claim": Page(
        (OFFICER, APPROVER, TREASURER), _each("guarantee_claims", "approved", "rejected", everyone=("approved",))
    ),
    "accounting:journal": Page(
        (ADMIN,), lambda world: {"": Target(), "a loan's lines": Target(query=f"loan={world.loans['active'].code}")}
    ),
    "accounting:entry": Page((ADMIN,), _one("journal_entry")),
    "accounting:trial-balance": Page((ADMIN,)),
    "accounting:periods": Page((ADMIN,)),
    "accounting:tie-out-detail": Page((ADMIN,), _one("tie_out")),
    "installments:payment": Page(
        (OFFICER,),
        lambda world: {
            "": Target((world.loans["active"].pk,)),
            "preview": Target(
                (world.loans["active"].pk,),
                post={"amount": "500.00", "paid_on": world.today.strftime("%d/%m/%Y"), "reference": "V-1"},
            ),
        },
    ),
    "installments:credit": Page((OFFICER,), _one("loans.credit")),
    "installments:buyers": Page((OFFICER, ANALYST)),
    "installments:buyer-detail": Page((OFFICER, ANALYST), _one("orex")),
    "installments:remittances": Page((TREASURER, OFFICER)),
    "installments:remittance-new": Page(
        (TREASURER,), lambda world: {"": Target(), "buyer chosen": Target(query=f"buyer={world.orex.pk}")}
    ),
    "installments:remittance-detail": Page((TREASURER,), _each("remittances", "listed", "short", "unmatched")),
    "installments:exceptions": Page(
        (TREASURER, OFFICER), lambda world: {"": Target(), "resolved": Target(query="status=resolved")}
    ),
    "buyers:terms": Page((OFFICER,), _one("orex")),
    "buyers:settlements-upload": Page((BUYER,)),
    # The importers' templates: the CSV's Spanish header row is read by the Spanish scan (the XLSX is not).
    "buyers:settlements-template": Page((BUYER,), lambda world: {"csv": Target(("csv",))}, kind=CSV),
    "miners:import-template": Page((OFFICER,), lambda world: {"csv": Target(("csv",))}, kind=CSV),
    "notices:statement": Page(
        (ANONYMOUS,),
        lambda world: {
            "borrower": Target((world.statement_tokens["rosa"],)),
            "paid off": Target((world.statement_tokens["pedro"],)),
            "invalid link": Target(("not-a-token",), status=403),
        },
    ),
    "reports:portfolio": Page(
        (OFFICER, ANALYST), lambda world: {"": Target(), "job": Target(query=f"job={world.portfolio_job.pk}")}
    ),
    "reports:portfolio-job": Page((ANALYST,), _one("portfolio_job"), kind=PARTIAL),
    "reports:regulatory": Page(
        (APPROVER, ADMIN), lambda world: {"": Target(), "job": Target(query=f"job={world.regulatory_job.pk}")}
    ),
    "reports:regulatory-job": Page((APPROVER,), _one("regulatory_job"), kind=PARTIAL),
    # The documents: read as text by the Spanish scan, never by axe.
    "reports:loan-cronograma": Page((OFFICER,), _each("loans", "active", "paid_off"), kind=PDF),
    "reports:loan-paid-off-certificate": Page((OFFICER,), _one("loans.paid_off"), kind=PDF),
    "reports:offer-cronograma": Page((OFFICER,), _one("applications.submitted"), kind=PDF),
    "reports:miner-statement": Page(
        (OFFICER,),
        lambda world: {
            "": Target(
                (world.miners["rosa"].pk,),
                query=f"from={world.today - dt.timedelta(days=120):%Y-%m-%d}&to={world.today:%Y-%m-%d}",
            )
        },
        kind=PDF,
    ),
    "reports:buyer-statement": Page(
        (OFFICER,),
        lambda world: {
            "": Target(
                (world.orex.pk,),
                query=f"from={world.today - dt.timedelta(days=120):%Y-%m-%d}&to={world.today:%Y-%m-%d}",
            )
        },
        kind=PDF,
    ),
    "reports:portfolio-download": Page((ANALYST,), _one("portfolio_job"), kind=PDF),
    "notices:statement-certificate": Page(
        (ANONYMOUS,),
        lambda world: {"": Target((world.statement_tokens["pedro"], world.loans["paid_off"].pk))},
        kind=PDF,
    ),
    "reports:portfolio-csv": Page(
        (ANALYST,),
        lambda world: {
            table: Target((table,), query=f"as_of={world.today:%Y-%m-%d}&lang=es")
            for table in ("key-figures", "categories", "buyer", "approval-exceptions")
        },
        kind=CSV,
    ),
}

NOT_PAGES: dict[str, str] = {
    "accounting:period-close": "POST behind a button on the month-end page",
    "accounting:period-reopen": "POST of the reopen form on the month-end page",
    "accounting:tie-out": "POST behind a button on the month-end page",
    "logout": "POST behind the header's sign-out button",
    "set_language": "POST behind the header's language switch",
    "healthz": "JSON for monitoring",
    "loans:verify": "POST of the verification form on the loan page",
    "loans:application-submit": "POST behind a button on the application page",
    "loans:application-decide": "POST of the approval form on the application page",
    "loans:application-cancel": "POST of the cancel form on the application page",
    "loans:application-disburse": "POST of the disbursement form on the application page",
    "installments:exception-resolve": "POST of the resolve form on the buyer page",
    "notices:statement-link-new": "POST behind a button on the miner page",
    "notices:statement-link-revoke": "POST behind a button on the miner page",
    "lifecycle:reversal-decide": "POST of the decision form on the reversals page",
    "lifecycle:reschedule-decide": "POST of the decision form on the reprogramaciones page",
    "lifecycle:reversal-withdraw": "POST behind a button on the reversals page",
    "lifecycle:write-off-decide": "POST of the decision form on the write-offs page",
    "lifecycle:book-import-commit": "POST behind the import button of a dry run's page",
    "miners:document-file": "the uploaded document itself (PDF or image), shown to staff",
    "loans:verification-photo": "the verification photo itself, shown to staff",
    "loans:verification-photo-thumbnail": "the photo's thumbnail, shown on the loan page",
    "reports:regulatory-download": "the kept SBS file itself (text, CSV or PDF), read back in tests/reports",
}


# --- The routes ------------------------------------------------------------------------------------------


def _routes(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str]]:
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _routes(entry, route, inner)
        elif isinstance(entry, URLPattern):
            yield (f"{namespace}{entry.name}" if entry.name else "", route)


def application_routes() -> dict[str, str]:
    """Every named route outside the admin and the API: URL name -> route."""
    return {name or route: route for name, route in _routes(get_resolver()) if not route.startswith(OUTSIDE)}


def uncovered_routes() -> list[str]:
    """Routes that are neither a page of ``PAGES`` nor a route of ``NOT_PAGES``, with a hint each."""
    return [
        f"{name} ({route}): add it to PAGES with its arguments, or to NOT_PAGES with a reason"
        for name, route in sorted(application_routes().items())
        if name not in PAGES and name not in NOT_PAGES
    ]


def stale_entries() -> list[str]:
    """Entries of the maps that name no route any more."""
    return sorted((set(PAGES) | set(NOT_PAGES)) - set(application_routes()))


def visits(world: SimpleNamespace, *, kinds: tuple[str, ...] = (HTML,)) -> list[Visit]:
    """Every state of every page of ``kinds``, once for each persona who opens it, plus the error pages
    (403, 404: a visit like any other; 500: see ``server_error_html``)."""
    found: list[Visit] = []
    for name, page in PAGES.items():
        if page.kind not in kinds:
            continue
        for label, target in page.variants(world).items():
            url = reverse(name, args=target.args) + (f"?{target.query}" if target.query else "")
            found += [
                Visit(name, label, persona, url, page.kind, target.status, target.post)
                for persona in target.personas or page.personas
            ]
    if HTML in kinds:
        found += [
            Visit("404", "", OFFICER, "/no-such-page/", status=404),
            Visit("404", "", ANONYMOUS, "/no-such-page/", status=404),
            # An analyst never registers miners; a buyer's user sees no staff page.
            Visit("403", "", ANALYST, reverse("miners:create"), status=403),
            Visit("403", "", BUYER, reverse("loans:list"), status=403),
        ]
    return found


def server_error_html(language: str) -> str:
    """The 500 page as the handler renders it in ``language`` (a live server cannot be made to fail on
    cue without a route of its own in the product)."""
    from django.test import RequestFactory
    from django.utils import translation

    request = RequestFactory().get("/")
    request.LANGUAGE_CODE = language  # as UserLanguageMiddleware leaves it
    with translation.override(language):
        response = get_resolver().resolve_error_handler(500)(request)
    return response.content.decode()


# --- The world ------------------------------------------------------------------------------------------


def _book_imports(*, admin: Any, miners: dict[str, Any], product: Any, today: dt.date) -> dict[str, Any]:
    """Loan book migrations: a dry run where one loan ties and one does not, files refused with their
    rows, and a run still going (its progress bar)."""
    from asmcredit.jobs import job_start
    from lifecycle.book_import.services import book_import_create, book_import_run

    disbursed, first_due = (today - dt.timedelta(days=10)).strftime("%d/%m/%Y"), (today + dt.timedelta(days=20))
    header = (
        "numero_prestamo,documento_minero,producto,moneda,capital,tea,fecha_desembolso,primer_vencimiento,cuotas,"
        "saldo_capital"
    )
    rows = [
        f"CMAC-1,{miners['rosa'].document_number},{product.code},{product.currency},5000.00,{product.tea_pct},{disbursed},"
        f"{first_due:%d/%m/%Y},6,5000.00",
        f"CMAC-2,{miners['pedro'].document_number},{product.code},{product.currency},3000.00,{product.tea_pct},{disbursed},"
        f"{first_due:%d/%m/%Y},6,2900.00",
    ]
    loans = "\n".join([header, *rows])
    dry_run = book_import_run(batch=book_import_create(actor=admin, cutoff=today, loans=loans, file_name="cartera.csv"))
    failed = book_import_run(
        batch=book_import_create(
            actor=admin, cutoff=today, loans=loans.replace("capital,", "monto,", 1), file_name="mala.csv"
        )
    )
    running = book_import_create(actor=admin, cutoff=today, loans=loans, file_name="grande.csv")
    running.job = job_start(name="import_book", as_of=today, detail={"batch_id": running.pk})
    running.save(update_fields=["job"])
    return {"dry_run": dry_run, "failed": failed, "running": running}


def build_world(*, officer: Any, approver: Any, analyst: Any, admin: Any) -> SimpleNamespace:
    """A small book that shows every state a page can be in, through the services production uses:
    applications in every status, loans on time, overdue, paid off and paid off with a credit, an
    equipment verification, withholdings remitted in full and in part with open and resolved
    reconciliation exceptions, import jobs that succeeded, failed and still run, a finished portfolio
    report, and the miner's statement link. Built in a few seconds."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.utils import timezone
    from PIL import Image

    from asmcredit import roles
    from asmcredit.jobs import job_finish, job_start
    from buyers.models import BuyerUser
    from installments.models import ReconciliationException
    from installments.services import (
        exception_resolve,
        payment_record,
        payoff_quote,
        portfolio_rate,
        reconcile_remittances,
        remittance_record,
        settlement_post,
    )
    from lifecycle.services import contact_record, reversal_request
    from loans.collateral import collateral_add
    from loans.services import (
        application_approve,
        application_cancel,
        application_create,
        application_reject,
        application_submit,
    )
    from loans.underwriting import months_before
    from loans.verification import loan_verify_equipment
    from miners.models import Miner, Training
    from notices.links import statement_link_create
    from notices.services import miner_preference_set
    from reports.services.portfolio import PORTFOLIO_JOB, portfolio_report_generate
    from tests.factories import (
        BuyerFactory,
        EquipmentFactory,
        LoanProductFactory,
        MinerFactory,
        RelationshipFactory,
    )
    from tests.installments.conftest import DOMAIN_LOT, disburse
    from tests.web.conftest import PASSWORD, settle

    today = timezone.localdate()
    orex: Any = BuyerFactory(name="Minera Orex S.A.C.", remittance_days=7)
    buyer_user = get_user_model().objects.create_user(username="bruno.comprador", password=PASSWORD)
    treasurer = get_user_model().objects.create_user(
        username="tania.tesoreria", password=PASSWORD, first_name="Tania", last_name="Ríos"
    )
    treasurer.groups.add(Group.objects.get_or_create(name=roles.TREASURY)[0])
    BuyerUser.objects.create(user=buyer_user, buyer=orex)
    equipment_product: Any = LoanProductFactory(name="Equipo libre de mercurio", requires_equipment=True)
    capital: Any = LoanProductFactory(name="Capital de trabajo", requires_reinfo=False, min_term=1)
    equipment: Any = EquipmentFactory(name="Concentrador centrífugo Knelson", price=Decimal("20000.00"))

    def miner(first: str, last: str, gender: str = "M", **extra: Any) -> Any:
        found = MinerFactory(first_names=first, last_names=last, gender=gender, phone="987654321", **extra)
        RelationshipFactory(buyer=orex, miner=found, since=dt.date(2022, 1, 1))
        return found

    miners = {
        "rosa": miner("Rosa", "Huamán Quispe", "F"),
        "teodoro": miner("Teodoro", "Ccama Flores"),
        "pedro": miner("Pedro", "Condori Apaza"),
        "luz": miner("Luz", "Mamani Ccori", "F", role=Miner.Role.PALLAQUERA),
        "mario": miner("Mario", "Quispe Huanca"),
        "newcomer": MinerFactory(first_names="Elmer", last_names="Yupanqui Soto"),
    }
    for n, key in enumerate(months_before(today, 12)):
        for name in ("rosa", "mario"):
            settle(orex, miners[name], dt.date(int(key[:4]), int(key[5:]), 12), "2000", f"{name}-{n}")
    Training.objects.create(
        miner=miners["rosa"], topic=Training.Topic.MERCURY_FREE, held_on=today - dt.timedelta(days=200), hours=6
    )
    miner_preference_set(
        miner=miners["rosa"], actor=officer, consent=True, channels=["sms", "whatsapp"], whatsapp_number="987654321"
    )

    def lot(name: str, on: dt.date, code: str) -> Any:
        return settlement_post(
            buyer=orex,
            miner=miners[name],
            actor=officer,
            lot_code=code,
            settled_on=on,
            currency="PEN",
            exchange_rate=Decimal("3.75"),
            **DOMAIN_LOT,
        )

    # --- loans: on time with equipment verified, overdue, paid off, paid off with a credit to refund
    def loan(name: str, amount: str, term: int, days_ago: int, **terms: Any) -> Any:
        """A loan disbursed ``days_ago``, its first installment due 30 days later."""
        return disburse(
            miner=miners[name],
            officer=officer,
            amount=Decimal(amount),
            term=term,
            disbursed_on=today - dt.timedelta(days=days_ago),
            first_due_on=today - dt.timedelta(days=days_ago - 30),
            **{"product": capital, "buyer": orex, **terms},
        )

    active = loan("rosa", "20000.00", 12, 75, product=equipment_product, equipment=equipment)
    started = active.disbursed_on
    withheld = [lot("rosa", started + dt.timedelta(days=30 * n + 1), f"ROSA-{n}") for n in (1, 2)]
    branch_payment = payment_record(
        loan=active, amount=Decimal("300.00"), paid_on=today - dt.timedelta(days=5), actor=officer
    )
    photo = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 140, 90)).save(photo, format="JPEG")
    loan_verify_equipment(
        loan=active,
        actor=analyst,
        delivered=True,
        installed=True,
        note="Instalado en planta.",
        photos=[SimpleUploadedFile("planta.jpg", photo.getvalue(), content_type="image/jpeg")],
    )
    # The financed equipment pledged and registered, its insurance expiring within the warning window.
    collateral = collateral_add(
        loan=active,
        actor=officer,
        description="Concentrador centrífugo Knelson, serie 2231",
        equipment=equipment,
        appraised_value=Decimal("18500.00"),
        appraised_on=active.disbursed_on,
        registry_entry="RMC-2025-004512",
        registered_on=active.disbursed_on + dt.timedelta(days=10),
        insurer="Rímac Seguros",
        policy_number="POL-778812",
        policy_expires_on=today + dt.timedelta(days=12),
    )
    overdue = loan("teodoro", "6000.00", 6, 100)
    paid_off = loan("pedro", "3000.00", 3, 40, buyer=None)
    payment_record(
        loan=paid_off,
        amount=payoff_quote(loan=paid_off, on=today).total,
        paid_on=today,
        actor=officer,
        reference="Ventanilla 1302",
    )
    # As tests/edges does it: a branch payment leaves S/ 50, then a lot settled weeks earlier withholds
    # them; replayed in date order, the branch payment now exceeds the debt.
    credit = loan("luz", "5000.00", 6, 75)
    two_days_ago = today - dt.timedelta(days=2)
    payment_record(
        loan=credit,
        amount=payoff_quote(loan=credit, on=two_days_ago).total - Decimal("50.00"),
        paid_on=two_days_ago,
        actor=officer,
    )
    lot("luz", today - dt.timedelta(days=42), "LUZ-EARLY")

    # --- applications in every status
    def apply(name: str, **terms: Any) -> Any:
        return application_create(
            miner=miners[name],
            product=capital,
            amount=Decimal("4000"),
            term=6,
            disbursement_date=today,
            first_due_on=today + dt.timedelta(days=31),
            prepared_by=officer,
            withholding_buyer=orex,
            **terms,
        )

    draft = apply("mario")
    submitted = application_submit(application=apply("mario"), actor=officer)
    approved = application_approve(
        application=application_submit(application=apply("mario"), actor=officer), approver=approver, comment="Bien."
    )
    rejected = application_reject(
        application=application_submit(application=apply("teodoro"), actor=officer),
        approver=approver,
        reason="Entregas irregulares en los últimos meses.",
    )
    cancelled = application_cancel(application=apply("newcomer"), actor=officer, reason="El minero desistió.")

    # --- remittances: one in full, one short listing an unknown settlement; a person closes one finding
    listed = remittance_record(
        buyer=orex,
        reference="BCP-0001",
        amount=withheld[0].withholdings[0].amount,
        currency="PEN",
        paid_on=started + dt.timedelta(days=35),
        actor=officer,
        settlement_ids=[withheld[0].settlement.pk],
    )
    short = remittance_record(
        buyer=orex,
        reference="BCP-0002",
        amount=Decimal("10.00"),
        currency="PEN",
        paid_on=today - dt.timedelta(days=3),
        actor=officer,
        settlement_ids=[withheld[1].settlement.pk, 999999],
    )
    unmatched = remittance_record(
        buyer=orex, reference="WIRE-USD-1", amount=Decimal("50.00"), currency="USD", paid_on=today, actor=officer
    )
    reconcile_remittances(as_of=today)
    finding = ReconciliationException.objects.filter(buyer=orex, resolved_at__isnull=True).order_by("pk").first()
    if finding is not None:
        exception_resolve(exception=finding, actor=officer, note="Confirmado con tesorería de Orex.")
    portfolio_rate(as_of=today)

    # --- after the fact: a payment to reverse awaiting a second person, a collection call with a promise
    reversal_request(original=branch_payment, actor=officer, reason="Boleta duplicada en ventanilla.")
    contact_record(
        loan=overdue,
        actor=officer,
        channel="call",
        outcome="promised",
        contacted_on=today - dt.timedelta(days=3),
        note="Pagará al cobrar su próxima liquidación.",
        promise_amount=Decimal("1200.00"),
        promised_on=today + dt.timedelta(days=7),
    )

    # --- a guarantee fund covering the overdue loan: a claim rejected, then one approved awaiting the fund
    from lifecycle.guarantees import claim_approve, claim_file, claim_reject, guarantee_enrol
    from lifecycle.models import GuaranteeCoverageRule, GuaranteedProduct, GuaranteeFund

    fund = GuaranteeFund.objects.create(code="regional", name="Fondo de garantía regional", claim_threshold_dpd=60)
    GuaranteeCoverageRule.objects.create(
        fund=fund, min_term_months=1, coverage_pct=Decimal("75"), effective_from=dt.date(2020, 1, 1)
    )
    GuaranteedProduct.objects.create(fund=fund, product=capital)
    guarantee_enrol(loan=overdue, actor=officer)
    guarantee_claims = {
        "rejected": claim_reject(
            request=claim_file(loan=overdue, actor=officer, note="Sin entregas desde hace dos meses."),
            actor=approver,
            note="Falta el expediente de cobranza.",
        ),
    }
    guarantee_claims["approved"] = claim_approve(request=claim_file(loan=overdue, actor=officer), actor=approver)

    # --- jobs: an import done, one failed with row errors, one still running; a portfolio report made
    jobs = {
        "imported": job_finish(
            job_start(name="import_settlements", as_of=None, detail={"buyer_id": orex.pk}), ok=True, rows_touched=12
        ),
        "failed": job_finish(
            job_start(name="import_miners", as_of=None),
            ok=False,
            error="",
            detail={"row_errors": [{"line": 3, "errors": ["DNI: debe tener 8 dígitos."]}]},
        ),
        "running": job_start(name="import_miners", as_of=None),
    }
    params = {"as_of": today.isoformat(), "date_from": None, "buyer": None, "region": None, "product": None}
    report = job_start(name=PORTFOLIO_JOB, as_of=today, detail={"params": {**params, "lang": "es"}})
    portfolio_report_generate(job_run_id=report.pk, lang="es", **params)
    report.refresh_from_db()
    # The SBS files of today's rating, kept, and a generation still running.
    from reports.regulatory.seed import layouts_ensure
    from reports.regulatory.services import REGULATORY_JOB, regulatory_files_generate

    layouts_ensure()  # a live-server test flushed the migration's layouts
    for kind in ("rcd", "anexo5"):
        regulatory_files_generate(kind=kind, cutoff=today, actor=approver)
    regulatory_job = job_start(name=REGULATORY_JOB, as_of=today, detail={"params": {"kind": "rcd"}})

    book_imports = _book_imports(admin=admin, miners=miners, product=equipment_product, today=today)

    # --- the loan sub-ledger: the journal posted to today and the month tied out
    from accounting.models import JournalEntry
    from accounting.posting import journal_post
    from accounting.services import tie_out_run

    journal_post(as_of=today)
    tie_out = tie_out_run(period=today.replace(day=1), currency="PEN", as_of=today, actor=admin)
    journal_entry = JournalEntry.objects.filter(event="disbursement").order_by("pk").first()

    statement_urls = {name: statement_link_create(miner=miners[name], actor=officer)[1] for name in ("rosa", "pedro")}
    for made in (active, overdue, paid_off, credit):
        made.refresh_from_db()
    return SimpleNamespace(
        today=today,
        orex=orex,
        buyer_user=buyer_user,
        equipment_product=equipment_product,
        equipment=equipment,
        miners=miners,
        loans={"active": active, "overdue": overdue, "paid_off": paid_off, "credit": credit},
        applications={
            "draft": draft,
            "submitted": submitted,
            "approved": approved,
            "rejected": rejected,
            "cancelled": cancelled,
            "disbursed": active.application,
        },
        branch_payment=branch_payment,
        guarantee_claims=guarantee_claims,
        collateral=collateral,
        remittances={"listed": listed.remittance, "short": short.remittance, "unmatched": unmatched.remittance},
        jobs=jobs,
        book_imports=book_imports,
        portfolio_job=report,
        regulatory_job=regulatory_job,
        journal_entry=journal_entry,
        tie_out=tie_out,
        statement_tokens={name: url.rstrip("/").rsplit("/", 1)[-1] for name, url in statement_urls.items()},
        users={
            OFFICER: officer,
            APPROVER: approver,
            ANALYST: analyst,
            ADMIN: admin,
            TREASURER: treasurer,
            BUYER: buyer_user,
        },
    )
