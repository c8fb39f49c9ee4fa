"""factory-boy factories shared by every test folder. Valid identifiers by construction."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory

from buyers.models import Buyer, SupplierRelationship
from loans.models import Equipment, EquipmentSupplier, LoanProduct, NgoPartner
from miners.identity import ruc_check_digit
from miners.models import Miner


def _ruc(prefix: str, n: int) -> str:
    body = f"{prefix}{n:08d}"
    return body + str(ruc_check_digit(body))


class MinerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Miner

    first_names = factory.Sequence(lambda n: f"Juan{n}")
    last_names = factory.Sequence(lambda n: f"Quispe Mamani{n}")
    document_type = "DNI"
    document_number = factory.Sequence(lambda n: f"{40000000 + n:08d}")
    gender = "M"
    ubigeo = "040112"
    role = Miner.Role.OWNER_OPERATOR
    reinfo_code = factory.Sequence(lambda n: f"REINFO-{n:06d}")
    reinfo_status = Miner.ReinfoStatus.VIGENTE
    reinfo_date = dt.date(2022, 3, 1)
    formalization_stage = Miner.FormalizationStage.REINFO


class BuyerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Buyer

    ruc = factory.Sequence(lambda n: _ruc("20", 50000000 + n))
    name = factory.Sequence(lambda n: f"Minera Test {n} S.A.C.")
    region = "04"
    kind = Buyer.Kind.MINING_COMPANY


class RelationshipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SupplierRelationship

    buyer = factory.SubFactory(BuyerFactory)
    miner = factory.SubFactory(MinerFactory)
    since = dt.date(2023, 1, 1)


class NgoPartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NgoPartner

    name = factory.Sequence(lambda n: f"ONG Técnica {n}")


class EquipmentSupplierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EquipmentSupplier

    name = factory.Sequence(lambda n: f"Proveedor Equipos {n} S.A.C.")
    ruc = factory.Sequence(lambda n: _ruc("20", 60000000 + n))
    region = "04"
    preselected_by = factory.SubFactory(NgoPartnerFactory)


class EquipmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Equipment

    supplier = factory.SubFactory(EquipmentSupplierFactory)
    name = factory.Sequence(lambda n: f"Concentrador gravimétrico {n}")
    kind = Equipment.Kind.CONCENTRATOR
    mercury_free = True
    mercury_avoided_kg_year = Decimal("12.50")
    price = Decimal("45000.00")


class LoanProductFactory(factory.django.DjangoModelFactory):
    """The equipment product with no extra costs, so schedules match DOMAIN.md's worked example."""

    class Meta:
        model = LoanProduct

    code = factory.Sequence(lambda n: f"equipo-{n}")
    name = factory.Sequence(lambda n: f"Equipo libre de mercurio {n}")
    purpose = LoanProduct.Purpose.MERCURY_FREE_EQUIPMENT
    currency = "PEN"
    tea_pct = Decimal("40")
    max_tea_pct = Decimal("60")
    moratory_tea_pct = Decimal("15")
    min_amount = Decimal("1000")
    max_amount = Decimal("100000")
    min_term = 3
    max_term = 36
    max_withholding_share_pct = Decimal("30")
    requires_reinfo = True
    requires_equipment = False
