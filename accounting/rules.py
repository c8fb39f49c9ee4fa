"""The seeded chart of accounts and posting rules (DOMAIN.md §8), and the pure arithmetic that turns an
event's components into balanced journal lines. No ORM: the data migration seeds these tables from
here, and the lender edits them in the admin from then on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from decimal import Decimal

ZERO = Decimal("0.00")

# --- Account roles ------------------------------------------------------------------------------------
CASH = "cash"
LOAN_VIGENTE = "loan_vigente"
LOAN_RESTRUCTURED = "loan_restructured"
LOAN_REFINANCED = "loan_refinanced"
LOAN_VENCIDO = "loan_vencido"
# A reprogrammed loan stays vigente: the role is mapped to 1401 until the lender maps its own sub-account.
LOAN_REPROGRAMMED = "loan_reprogrammed"
LOAN_JUDICIAL = "loan_judicial"
ACCRUED_INTEREST = "accrued_interest"
PROVISION = "provision"
BUYER_RECEIVABLE = "buyer_receivable"
GUARANTEE_RECEIVABLE = "guarantee_receivable"
# What a guarantee fund paid on a claim: the fund is subrogated, so its share of what the loan recovers
# afterwards is owed back to it (lifecycle.guarantees); the payment never reduces the miner's debt.
GUARANTEE_PAYABLE = "guarantee_payable"
OVERPAYMENT_CREDIT = "overpayment_credit"
INSURANCE_PAYABLE = "insurance_payable"
INTEREST_INCOME = "interest_income"
LATE_INTEREST_INCOME = "late_interest_income"
MORATORY_INCOME = "moratory_income"
FEE_INCOME = "fee_income"
RECOVERY_INCOME = "recovery_income"
PROVISION_EXPENSE = "provision_expense"
PROVISION_RELEASE = "provision_release"
SUSPENDED_INTEREST = "suspended_interest"
SUSPENDED_INTEREST_CONTRA = "suspended_interest_contra"
WRITTEN_OFF = "written_off"
WRITTEN_OFF_CONTRA = "written_off_contra"
# A refinancing moves no cash: the old loans' payoff and the new loan's principal meet here, same day.
REFINANCING_CLEARING = "refinancing_clearing"

# (role, SBS code for all currencies, kind, name). The third digit of the code is the currency: 0 in the
# code shown here, 1 for soles (MN), 2 for dollars (ME); the seed creates one account per currency.
CHART: tuple[tuple[str, str, str, str], ...] = (
    (CASH, "1103", "asset", "Bancos y otras empresas del sistema financiero del país"),
    (LOAN_VIGENTE, "1401", "asset", "Créditos vigentes"),
    (LOAN_RESTRUCTURED, "1403", "asset", "Créditos reestructurados"),
    (LOAN_REFINANCED, "1404", "asset", "Créditos refinanciados"),
    (LOAN_VENCIDO, "1405", "asset", "Créditos vencidos"),
    (LOAN_JUDICIAL, "1406", "asset", "Créditos en cobranza judicial"),
    (ACCRUED_INTEREST, "1408", "asset", "Rendimientos devengados de créditos"),
    (PROVISION, "1409", "contra_asset", "(Provisiones para créditos)"),
    (BUYER_RECEIVABLE, "1508.01", "asset", "Cuentas por cobrar: retenciones de compradores de mineral"),
    (GUARANTEE_RECEIVABLE, "1508.02", "asset", "Cuentas por cobrar: fondo de garantía"),
    (OVERPAYMENT_CREDIT, "2507.01", "liability", "Cuentas por pagar: pagos en exceso de prestatarios"),
    (INSURANCE_PAYABLE, "2507.02", "liability", "Cuentas por pagar: seguro de desgravamen"),
    (GUARANTEE_PAYABLE, "2507.03", "liability", "Cuentas por pagar: fondos de garantía (subrogación)"),
    (PROVISION_EXPENSE, "4302", "expense", "Provisiones para créditos directos"),
    (INTEREST_INCOME, "5104.01", "income", "Intereses por créditos"),
    (LATE_INTEREST_INCOME, "5104.02", "income", "Intereses compensatorios sobre capital vencido"),
    (MORATORY_INCOME, "5104.03", "income", "Intereses moratorios"),
    (FEE_INCOME, "5104.04", "income", "Comisiones por créditos"),
    (RECOVERY_INCOME, "5604", "income", "Recuperación de cartera castigada"),
    (WRITTEN_OFF, "8103", "memo_debit", "Créditos castigados"),
    (SUSPENDED_INTEREST, "8104", "memo_debit", "Rendimientos de créditos en suspenso"),
    (WRITTEN_OFF_CONTRA, "8303", "memo_credit", "Contracuenta: créditos castigados"),
    (SUSPENDED_INTEREST_CONTRA, "8304", "memo_credit", "Contracuenta: rendimientos en suspenso"),
    (REFINANCING_CLEARING, "2908.01", "liability", "Operaciones en trámite: refinanciaciones"),
)
# A release of provisions credits the provisions expense of the year (the role exists so that a lender
# who books releases as income maps it to its own account).
EXTRA_ROLES: dict[str, str] = {PROVISION_RELEASE: PROVISION_EXPENSE, LOAN_REPROGRAMMED: LOAN_VIGENTE}

CURRENCY_DIGIT = {"PEN": "1", "USD": "2"}


def currency_code(sbs_code: str, currency: str) -> str:
    """1401 → 1411 in soles, 1421 in dollars (the SBS's third digit)."""
    return sbs_code[:2] + CURRENCY_DIGIT[currency] + sbs_code[3:]


# --- Posting rules: (event, component) → (debit role, credit role) -----------------------------------
# Money components of a loan transaction are the servicing ledger's allocation components.
PAYMENT_COMPONENTS: dict[str, str] = {
    "principal": LOAN_VIGENTE,
    "interest": ACCRUED_INTEREST,
    # A reprogramación's deferred interest is not accrued day by day: it is income when collected.
    "deferred_interest": INTEREST_INCOME,
    "late_interest": LATE_INTEREST_INCOME,
    "moratory": MORATORY_INCOME,
    "insurance": INSURANCE_PAYABLE,
    "fees": FEE_INCOME,
    "overpayment": OVERPAYMENT_CREDIT,
}


def _payment_rules(event: str, debit: str) -> list[tuple[str, str, str, str]]:
    return [(event, component, debit, credit) for component, credit in PAYMENT_COMPONENTS.items()]


RULES: tuple[tuple[str, str, str, str], ...] = (
    ("disbursement", "principal", LOAN_VIGENTE, CASH),
    *_payment_rules("payment", CASH),
    *_payment_rules("prepayment", CASH),
    *_payment_rules("withholding", BUYER_RECEIVABLE),
    ("remittance", "amount", CASH, BUYER_RECEIVABLE),
    ("credit_refund", "amount", OVERPAYMENT_CREDIT, CASH),
    # The credit pays another loan of the miner: that loan's payment debits cash, so this one credits it.
    ("credit_transfer", "amount", OVERPAYMENT_CREDIT, CASH),
    ("recovery", "amount", CASH, RECOVERY_INCOME),
    ("recovery", "withheld", BUYER_RECEIVABLE, RECOVERY_INCOME),
    # What a written-off loan recovers leaves the written-off memo accounts, up to what was written off.
    ("recovery", "memo", WRITTEN_OFF_CONTRA, WRITTEN_OFF),
    ("accrual", "interest", ACCRUED_INTEREST, INTEREST_INCOME),
    # A vencido loan: accrued-unpaid interest leaves income (negative amount: reversed), its interest
    # is kept in memo accounts, and what is collected is income (positive amount).
    ("suspension", "interest", ACCRUED_INTEREST, INTEREST_INCOME),
    ("suspension", "memo", SUSPENDED_INTEREST, SUSPENDED_INTEREST_CONTRA),
    ("classification", "principal", LOAN_VENCIDO, LOAN_VIGENTE),
    ("provision", "made", PROVISION_EXPENSE, PROVISION),
    ("provision", "released", PROVISION, PROVISION_RELEASE),
    ("write_off", "principal_vigente", PROVISION_EXPENSE, LOAN_VIGENTE),
    ("write_off", "principal_vencido", PROVISION_EXPENSE, LOAN_VENCIDO),
    ("write_off", "provision", PROVISION, PROVISION_EXPENSE),
    ("write_off", "accrued_interest", INTEREST_INCOME, ACCRUED_INTEREST),
    ("write_off", "suspended_interest", SUSPENDED_INTEREST_CONTRA, SUSPENDED_INTEREST),
    ("write_off", "memo", WRITTEN_OFF, WRITTEN_OFF_CONTRA),
    # Refinanciación: each refinanced loan is paid off by the clearing account, the new loan's principal
    # is credited to it (no cash moves), and the true-up keeps a refinanced loan's principal in 1404.
    *_payment_rules("refinance", REFINANCING_CLEARING),
    ("refinancing", "principal", LOAN_VIGENTE, REFINANCING_CLEARING),
    ("classification", "refinanced", LOAN_REFINANCED, LOAN_VIGENTE),
    ("write_off", "principal_refinanced", PROVISION_EXPENSE, LOAN_REFINANCED),
    # For a lender that maps refinanced or reprogrammed principal to sub-accounts of its own.
    ("refinancing", "principal_vigente", LOAN_REFINANCED, LOAN_VIGENTE),
    ("refinancing", "principal_vencido", LOAN_REFINANCED, LOAN_VENCIDO),
    ("reprogramming", "principal", LOAN_REPROGRAMMED, LOAN_VIGENTE),
    # A guarantee claim moves no money; the fund's payment is cash the lender owes back out of what the
    # loan recovers (subrogation), and handing the fund its share settles that.
    ("guarantee_payment", "amount", CASH, GUARANTEE_PAYABLE),
    ("guarantee_remittance", "amount", GUARANTEE_PAYABLE, CASH),
)


Rule = tuple[str, str]  # (debit role, credit role)


def lines_for(
    components: Iterable[tuple[str, Decimal]], *, event: str, rules: Mapping[tuple[str, str], Rule]
) -> dict[str, Decimal]:
    """Net amount per ROLE (debit positive) of an event's components, by the rules. A negative
    component amount posts the other way round; the result always sums to zero."""
    net: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for component, amount in components:
        if not amount:
            continue
        try:
            debit, credit = rules[(event, component)]
        except KeyError:
            raise LookupError(f"No posting rule for {event}/{component}") from None
        net[debit] += amount
        net[credit] -= amount
    return {role: amount for role, amount in net.items() if amount}


def split_sides(amount: Decimal) -> tuple[Decimal, Decimal]:
    """(debit, credit) of a signed net amount."""
    return (amount, ZERO) if amount > 0 else (ZERO, -amount)
