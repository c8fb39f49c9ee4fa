"""Servicing writes, one module per job; every name in CONTRACTS.md is importable from here.

Every write is one service call in one transaction with its audit row. Rows are locked in one fixed
order everywhere so two services can never deadlock each other:

    buyer → loans (by id) → withholdings (by id) → remittances (by id)

``settlement_post`` locks the miner's active loans (by id), so twenty settlements for the same miner
posted at once are applied one after the other, each seeing what the previous one withheld.

- ``writeback``: a loan's derived state from its transaction log (``loan_recompute``)
- ``disbursement``: an approved application becomes a loan (``loan_disburse``)
- ``settlements``: what to withhold, settlement posts (one or a batch) and voids
- ``payments``: counter payments, adelantos and pagos anticipados
- ``remittances``: the buyer's remittances and reconciliation exceptions
- ``jobs``: reconciliation, moratory accrual, rating and the nightly run
"""

from installments.services.disbursement import LOAN_CODE_PREFIX, loan_code_for, loan_disburse
from installments.services.jobs import moratory_accrue, nightly_servicing, portfolio_rate, reconcile_remittances
from installments.services.payments import payment_record, prepayment_options
from installments.services.remittances import RemittanceOutcome, exception_resolve, remittance_record
from installments.services.settlements import (
    FLAG_DECLARED_PAYABLE_DIFFERS,
    LoanDue,
    SettlementBatchError,
    SettlementOutcome,
    miner_amount_due,
    settlement_post,
    settlement_post_many,
    settlement_void,
)
from installments.services.writeback import LINE_FIGURES, loan_recompute

__all__ = [
    "FLAG_DECLARED_PAYABLE_DIFFERS",
    "LINE_FIGURES",
    "LOAN_CODE_PREFIX",
    "LoanDue",
    "RemittanceOutcome",
    "SettlementBatchError",
    "SettlementOutcome",
    "exception_resolve",
    "loan_code_for",
    "loan_disburse",
    "loan_recompute",
    "miner_amount_due",
    "moratory_accrue",
    "nightly_servicing",
    "payment_record",
    "portfolio_rate",
    "prepayment_options",
    "reconcile_remittances",
    "remittance_record",
    "settlement_post",
    "settlement_post_many",
    "settlement_void",
]
