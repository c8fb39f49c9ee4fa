"""Demo data: a lender's book as it might look in Arequipa today.

Everything goes through the same services the product uses (origination, disbursement, ore
settlements with their withholdings, remittances, rating), so the demo shows real behaviour, not
hand-made rows. Deterministic (fixed random seed) and relative to the day it runs.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from asmcredit import roles
from asmcredit.money import money
from buyers.models import Buyer, BuyerUser, SupplierRelationship
from loans.models import Equipment, EquipmentSupplier, Loan, LoanApplication, LoanProduct, NgoPartner
from miners.identity import personal_ruc, ruc_check_digit
from miners.models import Association, Miner, Training

DEMO_PASSWORD = "Demo-Andes-2025"

USERS = [
    ("oficial", "Olga", "Condori", roles.LOAN_OFFICER),
    ("oficial2", "Martín", "Salas", roles.LOAN_OFFICER),
    ("aprobador", "Arturo", "Paredes", roles.CREDIT_APPROVER),
    ("ong", "Nadia", "Flores", roles.NGO_ANALYST),
    ("admin", "Lucía", "Zegarra", roles.LENDER_ADMIN),
    ("tesoreria", "Carmen", "Vela", roles.TREASURY),
    ("contadora", "Ana", "Quispe", roles.ACCOUNTANT),
]

FEMALE_NAMES = [
    "María",
    "Rosa",
    "Juana",
    "Elena",
    "Flor",
    "Yolanda",
    "Luz",
    "Carmen",
    "Nélida",
    "Teresa",
    "Marleni",
    "Gladys",
    "Olinda",
    "Sonia",
    "Delia",
]
MALE_NAMES = [
    "Juan",
    "José",
    "Luis",
    "Carlos",
    "Pedro",
    "Víctor",
    "Wilber",
    "Edwin",
    "Freddy",
    "Hugo",
    "Rubén",
    "Alberto",
    "Félix",
    "Jorge",
    "Mario",
    "Percy",
    "Elmer",
    "Teodoro",
    "Néstor",
    "Saúl",
]
SURNAMES = [
    "Quispe",
    "Mamani",
    "Huamán",
    "Condori",
    "Ccori",
    "Apaza",
    "Huanca",
    "Chambi",
    "Flores",
    "Ramos",
    "Pari",
    "Ticona",
    "Yupanqui",
    "Cusi",
    "Puma",
    "Choque",
    "Arias",
    "Vilca",
    "Soncco",
    "Layme",
]
# Caravelí and Condesuyos (Arequipa): where Orex-like buyers source ore.
AREQUIPA_DISTRICTS = ["040301", "040302", "040303", "040304", "040306", "040308", "040701", "040706"]
PUNO_DISTRICTS = ["210801", "210802", "211201"]
AYACUCHO_DISTRICTS = ["050601", "050605", "051001"]


def _ruc(body10: str) -> str:
    return body10 + str(ruc_check_digit(body10))


@dataclass
class SeedResult:
    created: bool
    counts: dict[str, int] = field(default_factory=dict)


def _regulatory_files(*, users: dict[str, Any], today: dt.date) -> None:
    """The SBS debtor file and the Anexo 5 summary of the day's rating, kept, as the approver generates
    them from the SBS reports page (the debtor file twice: its regeneration comes out identical)."""
    from reports.regulatory.services import regulatory_files_generate

    for kind in ("rcd", "rcd", "anexo5"):
        regulatory_files_generate(kind=kind, cutoff=today, actor=users["aprobador"])


def _migrated_book(*, miners: list[Miner], product: LoanProduct, admin: Any, today: dt.date) -> None:
    """The lender's loans from before ASM Credit (migración de cartera, ``lifecycle.book_import``): three
    loans replayed with their payments against the balances the lender declared on yesterday's cut-off;
    two tie and are imported as opening loans, the third is 150.00 off and is listed, not imported."""
    from asmcredit.money import pct_to_rate
    from lifecycle.book_import.services import book_import_create, book_import_run
    from loans.schedule import ScheduleTerms, build_schedule

    cutoff = today - dt.timedelta(days=1)
    loans = [
        "numero_prestamo,documento_minero,producto,moneda,capital,tea,fecha_desembolso,primer_vencimiento,cuotas,"
        "saldo_capital"
    ]
    payments = ["numero_prestamo,fecha,monto,tipo,referencia"]
    for index, (miner, amount, months, paid, off) in enumerate(
        ((miners[0], "6000.00", 4, 4, 0), (miners[1], "4500.00", 3, 3, 0), (miners[2], "5000.00", 3, 3, 150)), start=1
    ):
        number = f"CMAC-AR-{index:04d}"
        disbursed_on = cutoff - dt.timedelta(days=30 * months + 5)
        first_due_on = disbursed_on + dt.timedelta(days=30)
        schedule = build_schedule(
            ScheduleTerms(
                principal=Decimal(amount),
                tea=pct_to_rate(product.tea_pct),
                disbursed_on=disbursed_on,
                first_due_on=first_due_on,
                installments=6,
                insurance_monthly_rate=pct_to_rate(product.insurance_monthly_rate_pct),
                fee_per_installment=product.fee_per_installment,
                upfront_fees=product.upfront_fee,
            )
        )
        declared = schedule.lines[paid - 1].closing_balance + off
        loans.append(
            f"{number},{miner.document_number},{product.code},{product.currency},{amount},{product.tea_pct},"
            f"{disbursed_on:%d/%m/%Y},{first_due_on:%d/%m/%Y},6,{declared}"
        )
        for line in schedule.lines[:paid]:
            kind = "retencion" if line.number % 2 else "pago"
            payments.append(f"{number},{line.due_on:%d/%m/%Y},{line.total},{kind},R-{index}{line.number}")
    batch = book_import_create(
        actor=admin,
        cutoff=cutoff,
        loans="\n".join(loans),
        payments="\n".join(payments),
        file_name="cartera-caja-arequipa.csv",
        commit=True,
    )
    book_import_run(batch=batch)


def _users() -> dict[str, Any]:
    user_model = get_user_model()
    users = {}
    for username, first, last, role in USERS:
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"first_name": first, "last_name": last}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role == roles.LENDER_ADMIN
            user.is_superuser = role == roles.LENDER_ADMIN
            user.save()
        user.groups.add(Group.objects.get(name=role))
        users[username] = user
    return users


def _buyers() -> list[Buyer]:
    specs = [
        ("2045678901", "Minera Orex S.A.C. (demo)", "04", Buyer.Kind.PROCESSING_PLANT, Decimal("80")),
        ("2049876543", "Planta Chala Gold S.A. (demo)", "04", Buyer.Kind.PROCESSING_PLANT, Decimal("78")),
        ("2060112233", "Acopiadora Ananea E.I.R.L. (demo)", "21", Buyer.Kind.TRADER, None),
    ]
    buyers = []
    for body, name, region, kind, share in specs:
        buyer, _ = Buyer.objects.get_or_create(
            ruc=_ruc(body),
            defaults={
                "name": name,
                "region": region,
                "kind": kind,
                "contact_email": "liquidaciones@example.pe",
            },
        )
        if not buyer.terms_versions.exists():
            _agreed_terms(buyer, share)
        buyers.append(buyer)
    return buyers


def _agreed_terms(buyer: Buyer, share: Decimal | None) -> None:
    """The buyer's agreed terms (DOMAIN.md §4): RC US$ 80/oz and recovery 0.84 where the buyer agreed them
    (the trader agreed only its scale), and the maquila scale by grade, since 2000-01-01."""
    from buyers.models import BuyerTerms, MaquilaBand

    terms = BuyerTerms.objects.create(
        buyer=buyer,
        effective_from=dt.date(2000, 1, 1),
        commercial_deduction_usd_oz=Decimal("80") if share is not None else None,
        recovery=Decimal("0.84") if share is not None else None,
        note="demo",
    )
    for low, high, fee in [("0", "0.3", "90"), ("0.3", "0.8", "110"), ("0.8", None, "130")]:
        MaquilaBand.objects.create(
            terms=terms,
            min_grade_oz_tc=Decimal(low),
            max_grade_oz_tc=Decimal(high) if high else None,
            maquila_usd_tc=Decimal(fee),
        )


def _catalogue() -> list[Equipment]:
    ngo, _ = NgoPartner.objects.get_or_create(
        name="Red Técnica Minera Limpia (demo)", defaults={"ruc": _ruc("2055544433")}
    )
    suppliers = [
        (
            "2051112223",
            "Gravimetría Andina S.A.C.",
            [
                ('Concentrador centrífugo 30"', Equipment.Kind.CONCENTRATOR, True, "18.00", "68000"),
                ("Mesa vibratoria Wilfley 6S", Equipment.Kind.SHAKING_TABLE, True, "9.50", "32000"),
            ],
        ),
        (
            "2053334445",
            "Molinos del Sur E.I.R.L.",
            [
                ("Molino de bolas 3'x4'", Equipment.Kind.MILL, True, "6.00", "54000"),
                ("Chancadora de quijada 8x10", Equipment.Kind.CRUSHER, False, "0", "27000"),
            ],
        ),
        (
            "2057778889",
            "Flotación Perú S.A.C.",
            [
                ("Celda de flotación 24 pies³", Equipment.Kind.FLOTATION, True, "12.00", "41000"),
                ("Compresora diésel 185 CFM", Equipment.Kind.COMPRESSOR, False, "0", "38000"),
            ],
        ),
    ]
    items = []
    for body, name, catalogue in suppliers:
        supplier, _ = EquipmentSupplier.objects.get_or_create(
            ruc=_ruc(body),
            defaults={"name": name, "region": "04", "preselected_by": ngo, "bank_account": "00221500012345678901"},
        )
        for item_name, kind, mercury_free, avoided, price in catalogue:
            item, _ = Equipment.objects.get_or_create(
                supplier=supplier,
                name=item_name,
                defaults={
                    "kind": kind,
                    "mercury_free": mercury_free,
                    "mercury_avoided_kg_year": Decimal(avoided),
                    "price": Decimal(price),
                    "currency": "PEN",
                },
            )
            items.append(item)
    return items


def _products() -> dict[str, LoanProduct]:
    specs = {
        "equipo-limpio": dict(
            name="Crédito Empresarial Minero Artesanal — equipo libre de mercurio",
            purpose=LoanProduct.Purpose.MERCURY_FREE_EQUIPMENT,
            tea_pct=Decimal("34"),
            max_tea_pct=Decimal("45"),
            moratory_tea_pct=Decimal("12"),
            min_amount=Decimal("5000"),
            max_amount=Decimal("120000"),
            min_term=6,
            max_term=36,
            grace_kind="partial",
            max_grace_periods=2,
            insurance_monthly_rate_pct=Decimal("0.08"),
            upfront_fee=Decimal("0"),
            fee_per_installment=Decimal("0"),
            max_withholding_share_pct=Decimal("30"),
            requires_reinfo=True,
            requires_equipment=True,
            guarantee_fund_coverage_pct=Decimal("80"),
        ),
        "capital-trabajo": dict(
            name="Capital de trabajo minero",
            purpose=LoanProduct.Purpose.WORKING_CAPITAL,
            tea_pct=Decimal("42"),
            max_tea_pct=Decimal("55"),
            moratory_tea_pct=Decimal("15"),
            min_amount=Decimal("2000"),
            max_amount=Decimal("40000"),
            min_term=3,
            max_term=12,
            insurance_monthly_rate_pct=Decimal("0.08"),
            upfront_fee=Decimal("50"),
            max_withholding_share_pct=Decimal("30"),
            requires_reinfo=True,
        ),
        "emprende-mujer": dict(
            name="Emprende Mujer — microempresa no minera",
            purpose=LoanProduct.Purpose.MICRO_ENTERPRISE,
            tea_pct=Decimal("30"),
            max_tea_pct=Decimal("40"),
            moratory_tea_pct=Decimal("10"),
            min_amount=Decimal("1000"),
            max_amount=Decimal("15000"),
            min_term=3,
            max_term=18,
            insurance_monthly_rate_pct=Decimal("0.05"),
            max_withholding_share_pct=Decimal("35"),
            requires_reinfo=False,
        ),
    }
    products = {}
    for code, fields in specs.items():
        product, _ = LoanProduct.objects.get_or_create(code=code, defaults=fields)
        products[code] = product
    _guarantee_funds(products)
    return products


def _guarantee_funds(products: dict[str, LoanProduct]) -> None:
    """CRECER (seeded by lifecycle's migration: 80% up to 36 months, 85% beyond, claims from 90 days)
    covers working capital; a regional fund with the same cover takes claims from 45 days and covers the
    equipment loans. Their loans join at disbursement."""
    from lifecycle.models import GuaranteeCoverageRule, GuaranteedProduct, GuaranteeFund

    crecer, _ = GuaranteeFund.objects.get_or_create(code="crecer", defaults={"name": "Fondo CRECER"})
    regional, _ = GuaranteeFund.objects.get_or_create(
        code="fogem-sur", defaults={"name": "Fondo de Garantía Minera del Sur (demo)", "claim_threshold_dpd": 45}
    )
    for fund in (crecer, regional):
        for low, high, pct in ((1, 36, "80"), (37, None, "85")):
            GuaranteeCoverageRule.objects.get_or_create(
                fund=fund,
                product=None,
                purpose="",
                effective_from=dt.date(2000, 1, 1),
                min_term_months=low,
                defaults={"max_term_months": high, "coverage_pct": Decimal(pct)},
            )
    GuaranteedProduct.objects.get_or_create(product=products["capital-trabajo"], defaults={"fund": crecer})
    GuaranteedProduct.objects.get_or_create(product=products["equipo-limpio"], defaults={"fund": regional})


def _miners(rng: random.Random, buyers: list[Buyer], today: dt.date) -> dict[int, list[Miner]]:
    association, _ = Association.objects.get_or_create(
        name="Asociación de Mineros Artesanales Virgen del Carmen (demo)", defaults={"ubigeo": "040306"}
    )
    plan = [(buyers[0], 70, AREQUIPA_DISTRICTS), (buyers[1], 15, AREQUIPA_DISTRICTS), (buyers[2], 12, PUNO_DISTRICTS)]
    by_buyer: dict[int, list[Miner]] = {}
    serial = 0
    for buyer, count, districts in plan:
        miners = []
        for index in range(count):
            serial += 1
            dni = f"{41000000 + serial * 7919 % 9000000:08d}"
            female = index % 5 in (1, 3) or (index % 10 == 7)
            pallaquera = female and index % 10 == 3
            first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
            last = f"{rng.choice(SURNAMES)} {rng.choice(SURNAMES)}"
            with_reinfo = not pallaquera and index % 9 != 8
            miner, _ = Miner.objects.get_or_create(
                document_type="DNI",
                document_number=dni,
                defaults={
                    "first_names": first,
                    "last_names": last,
                    "gender": "F" if female else "M",
                    "birth_date": dt.date(1965 + serial % 35, 1 + serial % 12, 1 + serial % 27),
                    "phone": f"9{rng.randrange(10**7, 10**8)}",
                    "ubigeo": rng.choice(districts),
                    "role": Miner.Role.PALLAQUERA
                    if pallaquera
                    else (Miner.Role.WORKER if index % 7 == 6 else Miner.Role.OWNER_OPERATOR),
                    "ruc": personal_ruc(dni) if with_reinfo and index % 2 == 0 else "",
                    "reinfo_code": f"RNF-{dni[-6:]}-{serial:03d}" if with_reinfo else "",
                    "reinfo_status": (Miner.ReinfoStatus.SUSPENDIDO if index % 17 == 16 else Miner.ReinfoStatus.VIGENTE)
                    if with_reinfo
                    else "",
                    "reinfo_date": dt.date(2021, 1 + serial % 12, 10) if with_reinfo else None,
                    "formalization_stage": Miner.FormalizationStage.REINFO
                    if with_reinfo
                    else Miner.FormalizationStage.NOT_APPLICABLE
                    if pallaquera
                    else Miner.FormalizationStage.INFORMAL,
                    "association": association if index % 3 == 0 else None,
                },
            )
            SupplierRelationship.objects.get_or_create(
                buyer=buyer,
                miner=miner,
                defaults={
                    "since": today - dt.timedelta(days=400 + rng.randrange(0, 900)),
                    "agreement_kind": SupplierRelationship.AgreementKind.COEXISTENCE
                    if buyer == buyers[0]
                    else SupplierRelationship.AgreementKind.SUPPLY_CONTRACT,
                },
            )
            if index % 4 == 0 and not miner.trainings.exists():
                Training.objects.create(
                    miner=miner,
                    topic=Training.Topic.SAFETY,
                    held_on=today - dt.timedelta(days=200),
                    provider="Red Técnica Minera Limpia",
                    hours=Decimal("8"),
                )
                Training.objects.create(
                    miner=miner,
                    topic=Training.Topic.FINANCIAL_EDUCATION,
                    held_on=today - dt.timedelta(days=120),
                    provider="Red Técnica Minera Limpia",
                    hours=Decimal("6"),
                )
            miners.append(miner)
        by_buyer[buyer.pk] = miners
    return by_buyer


def _gold_price(day: dt.date, today: dt.date) -> Decimal:
    # A gentle rise over the year, as gold did; enough to make monthly charts move.
    age = (today - day).days
    return (Decimal("3350") - Decimal(age) * Decimal("1.6")).quantize(Decimal("0.01"))


def _settlement_fields(rng: random.Random, miner: Miner, day: dt.date, today: dt.date, serial: int) -> dict[str, Any]:
    pallaquera = miner.role == Miner.Role.PALLAQUERA
    wet = Decimal(rng.uniform(0.3, 1.2) if pallaquera else rng.uniform(4, 18)).quantize(Decimal("0.001"))
    grade = Decimal(rng.uniform(0.25, 0.9)).quantize(Decimal("0.0001"))
    return {
        "lot_code": f"L{day:%y%m%d}-{serial:05d}",
        "settled_on": day,
        "currency": "USD",
        "exchange_rate": Decimal("3.72") + Decimal(serial % 7) / 100,
        "wet_tonnes": wet,
        "moisture_pct": Decimal(rng.uniform(5, 11)).quantize(Decimal("0.01")),
        "grade_oz_tc": grade,
        "recovery": Decimal("0.84") if grade < Decimal("0.5") else Decimal("0.88"),
        "gold_price_usd_oz": _gold_price(day, today),
        "gold_price_on": day,
        "gold_price_source": "LBMA PM",
        "commercial_deduction_usd_oz": Decimal("80"),
        "maquila_usd_tc": Decimal("110") if grade < Decimal("0.8") else Decimal("130"),
        "reagents_usd_tms": Decimal("30.26"),
        "freight_usd_tms": Decimal("22.00"),
        "other_usd_tms": Decimal("0"),
    }


def seed(*, today: dt.date, stdout: Any = None) -> SeedResult:
    """Create the demo book once; a second run finds it and changes nothing."""
    from installments.services import loan_disburse, portfolio_rate, reconcile_remittances, settlement_post
    from loans.services import (
        application_approve,
        application_create,
        application_reject,
        application_submit,
    )

    def say(message: str) -> None:
        if stdout is not None:
            stdout.write(message)

    users = _users()
    if LoanApplication.objects.filter(purpose_note__startswith="[demo]").exists():
        return SeedResult(created=False)

    rng = random.Random(20250115)  # noqa: S311 - demo data, not security
    with transaction.atomic():
        buyers = _buyers()
        equipment = _catalogue()
        products = _products()
        miners_by_buyer = _miners(rng, buyers, today)
    miner_count = sum(len(m) for m in miners_by_buyer.values())
    say(f"  {miner_count} miners, {len(buyers)} buyers, {len(equipment)} equipment items\n")
    for buyer in buyers:
        user_model = get_user_model()
        username = f"comprador-{buyer.ruc[-4:]}"
        user, created = user_model.objects.get_or_create(username=username, defaults={"first_name": buyer.name[:30]})
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        BuyerUser.objects.get_or_create(user=user, defaults={"buyer": buyer})

    start = today - dt.timedelta(days=365)
    officer, officer2, approver = users["oficial"], users["oficial2"], users["aprobador"]
    orex = buyers[0]
    orex_miners = miners_by_buyer[orex.pk]
    eligible = [m for m in orex_miners if m.reinfo_active and m.role == Miner.Role.OWNER_OPERATOR]
    women = [m for m in orex_miners if m.role == Miner.Role.PALLAQUERA]

    # Loans: (miner, product, amount, term, months ago disbursed, equipment index, state)
    loan_plan: list[tuple[Miner, str, str, int, int, int | None, str]] = [
        (eligible[0], "equipo-limpio", "68000", 24, 8, 0, "disbursed"),
        (eligible[1], "equipo-limpio", "54000", 24, 7, 2, "disbursed"),
        (eligible[2], "equipo-limpio", "32000", 18, 6, 1, "disbursed"),
        (eligible[3], "equipo-limpio", "41000", 24, 5, 4, "overdue"),
        (eligible[4], "capital-trabajo", "12000", 12, 4, None, "disbursed"),
        (women[0], "emprende-mujer", "6000", 12, 5, None, "disbursed"),
        (women[1], "emprende-mujer", "4000", 6, 3, None, "disbursed"),
        (eligible[5], "equipo-limpio", "54000", 24, 0, 2, "approved"),
        (eligible[6], "capital-trabajo", "15000", 12, 0, None, "submitted"),
        (eligible[7], "equipo-limpio", "38000", 24, 0, 5, "rejected"),
        (eligible[8], "capital-trabajo", "8000", 6, 0, None, "draft"),
        # Stops selling to Orex, falls behind, then clears it at the branch: ends with a credit (below).
        (eligible[9], "capital-trabajo", "9000", 6, 4, None, "disbursed"),
        # Stops selling a month after the loan and never pays again: Pérdida, written off (below).
        (eligible[10], "capital-trabajo", "7000", 6, 8, None, "disbursed"),
        # A second loan of the first pallaquera's: both are refinanced into one today (below).
        (women[0], "emprende-mujer", "2500", 6, 2, None, "disbursed"),
    ]
    # The overdue miner stops selling to Orex three months ago: side-selling, the early warning.
    stopped = {
        eligible[3].pk: today - dt.timedelta(days=95),
        eligible[9].pk: today - dt.timedelta(days=75),
        eligible[10].pk: today - dt.timedelta(days=210),
    }

    _miner_consents(loan_plan, officer, today)
    events: list[tuple[dt.date, int, str, Any]] = []
    for index, (miner, code, amount, term, months_ago, equip, state) in enumerate(loan_plan):
        disbursed_on = today - dt.timedelta(days=30 * months_ago + 3) if months_ago else today
        events.append((disbursed_on, 0, "loan", (index, miner, code, amount, term, equip, state, disbursed_on)))
    serial = 0
    for buyer in buyers:
        for miner in miners_by_buyer[buyer.pk]:
            interval = rng.choice([10, 14, 15, 21]) if miner.role != Miner.Role.PALLAQUERA else 30
            day = start + dt.timedelta(days=rng.randrange(0, interval))
            while day <= today - dt.timedelta(days=1):
                if miner.pk not in stopped or day < stopped[miner.pk]:
                    serial += 1
                    events.append((day, 1, "settlement", (buyer, miner, serial)))
                day += dt.timedelta(days=interval + rng.randrange(-2, 3))
    events.sort(key=lambda e: (e[0], e[1]))

    settlements = 0
    loans: dict[int, Any] = {}
    for day, _, kind, payload in events:
        if kind == "loan":
            index, miner, code, amount, term, equip, state, disbursed_on = payload
            product = products[code]
            first_due = disbursed_on + dt.timedelta(days=31)
            application = application_create(
                miner=miner,
                product=product,
                amount=Decimal(amount),
                term=term,
                disbursement_date=disbursed_on,
                first_due_on=first_due,
                prepared_by=officer if index % 2 else officer2,
                equipment=equipment[equip] if equip is not None else None,
                withholding_buyer=orex,
                purpose_note=f"[demo] {product.get_purpose_display()}",
            )
            if state == "draft":
                continue
            preparer = application.prepared_by
            application_submit(application=application, actor=preparer)
            if state == "submitted":
                continue
            if state == "rejected":
                application_reject(
                    application=application,
                    approver=approver,
                    reason="Entregas irregulares en los últimos 6 meses; volver a evaluar en 90 días.",
                )
                continue
            application_approve(
                application=application,
                approver=approver,
                comment="Aprobado en comité de créditos: historial de entregas verificado con el comprador.",
            )
            if state == "approved":
                continue
            # The book is replayed from its history: the committee decided on the day the loan was paid
            # out (a disbursement may not precede its approval).
            LoanApplication.objects.filter(pk=application.pk).update(
                decided_at=timezone.make_aware(dt.datetime.combine(disbursed_on, dt.time(9)))
            )
            loans[index] = loan_disburse(
                application=application,
                actor=users["admin"],
                disbursed_on=disbursed_on,
                reference=f"TRF-{disbursed_on:%Y%m%d}-{index:03d}",
            )
        else:
            buyer, miner, number = payload
            settlement_post(
                buyer=buyer,
                miner=miner,
                actor="seed_demo",
                source="seed",
                **_settlement_fields(rng, miner, day, today, number),
            )
            settlements += 1

    _money_at_the_edges(loans=loans, orex=orex, officer=officer, miner=eligible[9], rng=rng, today=today)
    _exchange_rates(today)
    _collateral(loans=loans, officer=officer, today=today)
    _remittances(orex, today)
    reconcile_remittances(as_of=today)
    _collection_messages(today)
    _loan_life(loans=loans, users=users, today=today)
    _reprogramaciones(loans=loans, users=users, today=today)
    _migrated_book(miners=women[:3], product=products["capital-trabajo"], admin=users["admin"], today=today)
    portfolio_rate(as_of=today)
    _sub_ledger(users=users, today=today, say=say)
    _regulatory_files(users=users, today=today)
    say(f"  {settlements} ore settlements, {len(loan_plan)} applications\n")
    return SeedResult(created=True, counts={"settlements": settlements, "applications": len(loan_plan)})


def _collateral(*, loans: dict[int, Any], officer: Any, today: dt.date) -> None:
    """The financed equipment pledged as garantía mobiliaria (DOMAIN.md §7) on the equipment loans:

    - loans 1 and 4: registered in the Registro Mobiliario de Contratos (preferred: the lower provision
      rates on what the appraisal covers); loan 4's insurance expired three weeks ago (a warning);
    - loan 2: registered, its insurance expiring within the warning window (the dashboard lists it);
    - loan 3: appraised and insured, its registration still pending at SUNARP (no lower rate yet).
    """
    from loans.collateral import collateral_add

    plan = [
        # (loan index, registered?, policy expires in n days)
        (0, True, 300),
        (1, True, 12),
        (2, False, 330),
        (3, True, -20),
    ]
    for index, registered, expires_in in plan:
        loan = loans[index]
        equipment = loan.equipment
        collateral_add(
            loan=loan,
            actor=officer,
            description=f"{equipment.name}, serie {loan.code[-4:]}-{equipment.pk:03d}",
            equipment=equipment,
            appraised_value=money(equipment.price * Decimal("0.90")),
            appraised_on=loan.disbursed_on - dt.timedelta(days=2),
            registry_entry=f"RMC-{loan.disbursed_on:%Y}-{7100 + index:06d}" if registered else "",
            registered_on=loan.disbursed_on + dt.timedelta(days=9) if registered else None,
            insurer="Rímac Seguros",
            policy_number=f"PMM-{loan.disbursed_on:%y}-{48210 + index}",
            policy_expires_on=today + dt.timedelta(days=expires_in),
        )


def _sub_ledger(*, users: dict[str, Any], today: dt.date, say: Any) -> None:
    """The journal posted to the end of last month and that month closed by the accountant, then posted
    to today: a newcomer sees a trial balance, a closed month and its tie-out. PostgreSQL only (the
    posting job's locks and set-based SQL); the SQLite demo has no journal."""
    from django.core.exceptions import ValidationError
    from django.db import connection

    from accounting.posting import journal_post
    from accounting.services import period_close

    if connection.vendor != "postgresql":
        return
    last_month_end = today.replace(day=1) - dt.timedelta(days=1)
    journal_post(as_of=last_month_end)
    try:
        period_close(period=last_month_end.replace(day=1), actor=users["contadora"])
    except ValidationError as error:
        say(f"  {last_month_end:%Y-%m} not closed: {' '.join(error.messages)}\n")
    journal_post(as_of=today)


def _loan_life(*, loans: dict[int, Any], users: dict[str, Any], today: dt.date) -> None:
    """Loans beyond the happy path (DOMAIN.md §7), each state once:

    - loan 5: a branch payment reversed by two people (asked by an officer, approved by the approver);
    - loan 3: a branch payment whose reversal waits for the approver;
    - loan 4 (the side-selling miner's): a call with a promise to pay that was broken, then a visit;
    - loan 13: rated Pérdida, three collection visits, written off by two people, then a recovery;
      before that, its claim on CRECER filed, approved and paid: the fund gets its share of the recovery;
    - loan 4 also has a claim on the regional guarantee fund awaiting the approver.
    - loans 6 and 14 (one pallaquera's two loans): refinanced today into one loan of 12 installments,
      proposed by an officer and approved by the approver (refinanciado, CPP at best).
    """
    from installments.services import loan_disburse, payment_record, portfolio_rate, refinance_propose
    from lifecycle.services import (
        contact_record,
        reversal_approve,
        reversal_request,
        write_off_approve,
        write_off_prepare,
    )
    from loans.services import application_approve

    officer, officer2, approver = users["oficial"], users["oficial2"], users["aprobador"]
    typed_twice = payment_record(
        loan=loans[4],
        amount=Decimal("300.00"),
        paid_on=today - dt.timedelta(days=10),
        actor=officer,
        reference="Caja 1, op. 8812",
    )
    asked = reversal_request(
        original=typed_twice, actor=officer, reason="Registrado dos veces: el voucher es uno solo."
    )
    reversal_approve(request=asked, actor=approver, note="Verificado con el extracto bancario.")
    waiting = payment_record(
        loan=loans[2], amount=Decimal("150.00"), paid_on=today, actor=officer2, reference="Op. 9020"
    )
    reversal_request(original=waiting, actor=officer2, reason="El pago era para otro crédito del mismo minero.")

    late = loans[3]
    contact_record(
        loan=late,
        actor=officer,
        channel="call",
        outcome="promised",
        contacted_on=today - dt.timedelta(days=20),
        promise_amount=Decimal("1500.00"),
        promised_on=today - dt.timedelta(days=10),
        note="Dice que paga tras vender su mineral en Nasca.",
    )
    contact_record(
        loan=late,
        actor=officer,
        channel="visit",
        outcome="no_answer",
        contacted_on=today - dt.timedelta(days=4),
        note="Nadie en el campamento.",
    )

    lost = loans[12]
    _guarantee_claims(lost=lost, late=late, users=users, today=today)
    portfolio_rate(as_of=today - dt.timedelta(days=1))  # the nightly rating that found it in Pérdida
    for days, note in ((60, "Llamada: no contesta."), (35, "Visita: mina abandonada."), (12, "Visita a la familia.")):
        contact_record(
            loan=lost,
            actor=officer2,
            channel="visit" if "Visita" in note else "call",
            outcome="unreachable",
            contacted_on=today - dt.timedelta(days=days),
            note=note,
        )
    prepared = write_off_prepare(
        loan=lost, actor=officer2, reason="Minero sin ubicar hace siete meses; provisionado al 100 %."
    )
    write_off_approve(request=prepared, actor=approver, note="Aprobado en comité.")
    payment_record(
        loan=lost, amount=Decimal("500.00"), paid_on=today, actor=officer, reference="Recuperación, op. 9111"
    )
    # CRECER paid its claim on the lost loan: its pro rata share of the recovery, half of it remitted.
    from lifecycle.guarantees import recovery_remit, recovery_share
    from lifecycle.models import GuaranteeClaim

    claim = GuaranteeClaim.objects.get(loan=lost, status=GuaranteeClaim.Status.PAID)
    share = recovery_share(claim)
    if share.owed >= Decimal("0.02"):
        recovery_remit(
            claim=claim,
            actor=users["tesoreria"],
            amount=money(share.owed / 2),
            remitted_on=max(today, claim.paid_on or today),
            reference="Transferencia CRECER 0412",
        )

    refinancing = refinance_propose(
        loan=loans[5],
        also_loans=[loans[13]],
        prepared_by=officer,
        term=12,
        first_due_on=today + dt.timedelta(days=31),
        refinanced_on=today,
        purpose_note="Perdió ventas en la temporada de lluvias: consolida sus dos créditos en cuotas menores.",
    )
    application_approve(
        application=refinancing,
        approver=approver,
        comment="Refinanciación aprobada en comité: capacidad de pago revisada con el comprador.",
    )
    # Replayed from its history: decided on the day it was carried out.
    LoanApplication.objects.filter(pk=refinancing.pk).update(
        decided_at=timezone.make_aware(dt.datetime.combine(today, dt.time(9)))
    )
    loan_disburse(application=refinancing, actor=officer, disbursed_on=today, reference="REFI-DEMO")


def _guarantee_claims(*, lost: Any, late: Any, users: dict[str, Any], today: dt.date) -> None:
    """The lost loan's claim on CRECER: filed by an officer, approved by the approver, paid by the fund
    (recorded by treasury); the side-selling miner's loan, past the regional fund's 45 days, has a claim
    waiting for the approver."""
    from installments.services import loan_recompute
    from lifecycle.guarantees import claim_approve, claim_file, claim_payment_record, claim_refusals

    officer2, approver = users["oficial2"], users["aprobador"]
    claim = claim_file(loan=lost, actor=officer2, note="Sin entregas ni pagos desde hace seis meses.")
    claim_approve(request=claim, actor=approver, note="Expediente completo.")
    claim_payment_record(
        claim=claim,
        actor=users["tesoreria"],
        paid_on=max(today, claim.filed_on),  # a claim is filed on the real day, even in a back-dated seed
        amount=claim.amount,
        bank_reference="CRECER-2611-0087",
    )
    late = loan_recompute(loan=late)  # today's days past due
    if not claim_refusals(late):
        claim_file(loan=late, actor=users["oficial"], note="Dejó de vender a Orex; no responde.")


def _reprogramaciones(*, loans: dict[int, Any], users: dict[str, Any], today: dt.date) -> None:
    """Reprogramación (DOMAIN.md §7), each state once, on the first eligible loans the other stories left
    alone: one rescheduled for the rainy season (two months without installment, asked by an officer,
    approved by the approver), one whose new due day waits for the approver."""
    from lifecycle.reschedules import reschedule_approve, reschedule_refusal, reschedule_request
    from loans.models import Loan

    officer, officer2, approver = users["oficial"], users["oficial2"], users["aprobador"]
    taken = {2, 3, 4, 12}  # the reversal, collections and write-off stories
    eligible = [
        loan
        for key, loan in sorted(loans.items())
        if key not in taken and not reschedule_refusal(Loan.objects.get(pk=loan.pk))
    ]
    if len(eligible) < 2:
        return
    rainy, payday = eligible[0], eligible[1]
    proposal, _preview = reschedule_request(
        actor=officer,
        loan=rainy,
        options=[{"holiday_periods": 2}, {"extra_installments": 3}],
        chosen=0,
        reason="Temporada de lluvias: la mina no trabaja dos meses.",
    )
    reschedule_approve(proposal=proposal, actor=approver, note="Evento regional confirmado por la ONG.")
    reschedule_request(
        actor=officer2,
        loan=payday,
        options=[{"due_day": 5}, {"due_day": 5, "extra_installments": 2}],
        chosen=1,
        reason="La planta cambió su día de pago al 5 de cada mes.",
    )


def _money_at_the_edges(
    *, loans: dict[int, Any], orex: Buyer, officer: Any, miner: Miner, rng: random.Random, today: dt.date
) -> None:
    """The loan events beyond the happy path (DOMAIN.md §3), each on its own loan of the book:

    - loan 2: an adelanto de cuotas at the branch, then a pago anticipado (shorter term) that credits
      back what the adelanto had prepaid for later days;
    - loan 5: more than two installments paid as an adelanto because the miner asked for it;
    - loan 7: paid off at the branch today with the payoff quote (cancelación total);
    - loan 12: fell behind after its miner stopped selling to Orex; two days ago a branch payment
      left S/ 400 of the payoff; today Orex keys in a lot the miner sold two months ago, which withholds
      no more than is owed now — replayed in date order it saves late interest, so the loan is paid
      off with an overpayment credit in the miner's favour, on the dashboard's queue to refund.
    """
    from installments.services import payment_record, payoff_quote, settlement_post

    second = loans[1]
    payment_record(
        loan=second,
        amount=second.installment_amount,
        paid_on=today - dt.timedelta(days=40),
        actor=officer,
        reference="Ventanilla 1023 (adelanto)",
    )
    payment_record(
        loan=second,
        amount=Decimal("9000.00"),
        paid_on=today - dt.timedelta(days=20),
        actor=officer,
        reference="Ventanilla 1187 (pago anticipado)",
        prepayment_mode="reduce_term",
    )
    fifth = loans[4]
    payment_record(
        loan=fifth,
        amount=fifth.installment_amount * 3,
        paid_on=today - dt.timedelta(days=10),
        actor=officer,
        reference="Ventanilla 1240",
        treatment="adelanto",
    )
    seventh = loans[6]
    payment_record(
        loan=seventh,
        amount=payoff_quote(loan=seventh, on=today).total,
        paid_on=today,
        actor=officer,
        reference="Ventanilla 1302 (cancelación)",
    )
    behind = loans[11]
    two_days_ago = today - dt.timedelta(days=2)
    payment_record(
        loan=behind,
        amount=payoff_quote(loan=behind, on=two_days_ago).total - Decimal("400.00"),
        paid_on=two_days_ago,
        actor=officer,
        reference="Ventanilla 1299",
    )
    late_lot = today - dt.timedelta(days=60)
    settlement_post(
        buyer=orex,
        miner=miner,
        actor="seed_demo",
        source="seed",
        **{**_settlement_fields(rng, miner, late_lot, today, 99_001), "lot_code": f"L{late_lot:%y%m%d}-TARDIO"},
    )


def _miner_consents(loan_plan: list[Any], officer: Any, today: dt.date) -> None:
    """The borrowers agreed to be messaged (DOMAIN.md §10): SMS and WhatsApp for most, e-mail for one,
    and one who said no — so the seeded history leaves its receipts in the outbox."""
    from notices.services import miner_preference_set

    borrowers = list(dict.fromkeys(row[0] for row in loan_plan))
    for index, miner in enumerate(borrowers):
        if index == 3:
            continue  # never gave consent: no message at all
        channels = ["sms", "whatsapp"] if index % 4 else ["whatsapp", "email"]
        if not miner.phone:
            channels = ["email"]
        miner_preference_set(
            miner=miner,
            actor=officer,
            consent=True,
            channels=channels,
            whatsapp_number=miner.phone,
            email=f"{miner.document_number}@correo.example" if "email" in channels else "",
        )


def _collection_messages(today: dt.date) -> None:
    """Today's reminders and arrears notices, held until the law allows them (notices.tasks)."""
    from notices.tasks import collection_messages

    collection_messages(as_of=today)


def demo_statement_link() -> str:
    """A signed link to the statement page of the demo's first borrower (printed by ``seed_demo``)."""
    from notices.links import statement_link_url

    loan = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk").first()
    return statement_link_url(miner=loan.miner) if loan is not None else ""


def _exchange_rates(today: dt.date) -> None:
    """The SBS accounting rate (soles per US$) for the last weeks, as the lender loads it."""
    from rates.services import exchange_rate_set

    for days_ago, rate in ((31, "3.7420"), (17, "3.7488"), (3, "3.7512")):
        exchange_rate_set(
            currency="USD",
            rate_on=today - dt.timedelta(days=days_ago),
            soles_per_unit=Decimal(rate),
            actor="seed_demo",
            source="SBS tipo de cambio contable",
        )


# The shape of Orex's remittances (weeks counted back from the last remitted one, 0 = the last). The
# last three weeks stay unremitted: installments fall due around the same day of the month and each is
# withheld from the first settlement after the previous due date, so the book's last withholdings are
# 16 to 21 days old and a shorter gap would show no withholding past the agreed days.
UNREMITTED_DAYS = 21
LATE_WEEKS = frozenset({6, 14, 22, 30, 38, 46})  # paid two days after the week: its first days go late
SHORT_LISTED_FROM = 10  # the first week with withholdings from here back lists its settlements (and one
# that is not Orex's) and pays 90%
OVER_WEEK = 4  # S/ 250 more than owed: credit the next withholdings absorb
UNKNOWN_SETTLEMENT_ID = 999999


def _remittances(orex: Buyer, today: dt.date) -> None:
    """Orex remits weekly what it withheld, and the last three weeks are still unremitted, so the demo
    shows a balance owed and withholdings past the agreed 7 days (DOMAIN.md §5).

    Each week's transfer pays everything withheld before the week's end, dated the week's last day, so
    it is within the agreed days; a few weeks show the other states a reconciliation leaves: paid late
    (an exception closed as of the transfer), a short transfer listing its settlements and one unknown
    settlement (open for an officer), an over-remittance absorbed by the next withholdings, and a dollar
    transfer nobody owes (open). Reconciled as of each transfer's date and then as of ``today``, so every
    exception carries the dates the data gives it, never the day the demo was seeded.
    """
    from installments.models import Withholding
    from installments.services import reconcile_remittances, remittance_record

    cutoff = today - dt.timedelta(days=UNREMITTED_DAYS)
    first = Withholding.objects.filter(buyer=orex).order_by("withheld_on").values_list("withheld_on", flat=True).first()
    if first is None:
        return
    weeks = []
    end = cutoff
    while end > first:
        weeks.append(end)
        end -= dt.timedelta(days=7)
    short_listed = next(
        (
            back
            for back, end in enumerate(weeks)
            if back >= SHORT_LISTED_FROM
            and Withholding.objects.filter(buyer=orex, withheld_on__gte=end - dt.timedelta(days=7), withheld_on__lt=end)
            .exclude(status=Withholding.Status.REVERSED)
            .exists()
        ),
        None,
    )
    for number, (back, end) in enumerate(sorted(enumerate(weeks), key=lambda w: w[1]), start=1):
        paid_on = end - dt.timedelta(days=1) + (dt.timedelta(days=3) if back in LATE_WEEKS else dt.timedelta())
        # What the buyer's earlier money (an over-remittance) already covers as of the transfer's date.
        reconcile_remittances(as_of=paid_on, buyer_ids=[orex.pk])
        owed = Withholding.objects.filter(
            buyer=orex,
            currency="PEN",
            withheld_on__lt=end,
            status__in=[Withholding.Status.UNREMITTED, Withholding.Status.PARTIAL],
        )
        total = sum((w.amount - w.remitted_amount for w in owed), Decimal("0"))
        settlement_ids = None
        if back == short_listed:
            week = [w for w in owed if w.withheld_on >= end - dt.timedelta(days=7)]
            settlement_ids = [w.settlement_id for w in week] + [UNKNOWN_SETTLEMENT_ID]
            total = (sum((w.amount for w in week), Decimal("0")) * Decimal("0.9")).quantize(Decimal("0.01"))
        elif back == OVER_WEEK:
            total += Decimal("250.00")
        if total <= 0:
            continue
        remittance_record(
            buyer=orex,
            reference=f"BCP-{end:%Y%m%d}-{number:03d}",
            amount=total,
            currency="PEN",
            paid_on=paid_on,
            actor="seed_demo",
            settlement_ids=settlement_ids,
        )
    remittance_record(
        buyer=orex,
        reference=f"WIRE-USD-{today:%Y%m}",
        amount=Decimal("120.00"),
        currency="USD",
        paid_on=today - dt.timedelta(days=30),
        actor="seed_demo",
    )
