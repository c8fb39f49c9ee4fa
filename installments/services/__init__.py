"""Servicing writes, one module per job; every name in CONTRACTS.md is importable from here.

Every write is one service call in one transaction with its audit row. Rows are locked in one fixed
order, each kind in id order, by every servicing write:

    1. buyer (then, for a void, the settlement it voids) → 2. loans (by id) → 3. withholdings (by id)
    → 4. remittances (by id) → 5. reconciliation exceptions

A write skips the steps it does not touch but never goes back to an earlier one:

- ``settlement_post`` / ``settlement_post_many``: buyer FOR KEY SHARE, then the miners' active loans
  FOR NO KEY UPDATE (so twenty settlements for one miner posted at once are applied one after the
  other, each seeing what the previous one withheld; posts for other miners of the buyer run side by
  side).
- ``settlement_void``: buyer, the voided settlement, its loans, its withholdings, the remittances that
  money is released from, then its open exceptions — all FOR NO KEY UPDATE.
- ``remittance_record``: buyer, then the listed settlements' withholdings (FOR NO KEY UPDATE); the
  remittance it creates is its own.
- ``exception_resolve``: buyer, then the exception (FOR NO KEY UPDATE).
- ``payment_record``, ``loan_recompute``, ``overpayment_refund``: the loan only (FOR NO KEY UPDATE);
  they write no row that names a buyer; ``overpayment_apply`` both loans, by id. A void recomputes
  loans it already holds.
- ``loan_disburse``: a new loan, locked only by itself; the buyer it names is checked (FOR KEY SHARE)
  at commit.
- The reconciliation job (``installments.batch``) takes its buyers FOR UPDATE first, the moratory
  accrual its loans by id: the same order.

Why these modes (PostgreSQL's row-lock conflicts: FOR KEY SHARE conflicts only with FOR UPDATE; FOR
NO KEY UPDATE conflicts with FOR SHARE, FOR NO KEY UPDATE and FOR UPDATE). Inserting a row that
references another (a settlement or withholding naming its buyer, a transaction naming its loan)
makes PostgreSQL check the foreign key — at commit, since Django's are DEFERRABLE INITIALLY DEFERRED —
by taking FOR KEY SHARE on the referenced row. A void that held its buyer FOR UPDATE while waiting
for a miner's loans therefore deadlocked with a post that held those loans and, at commit, needed FOR
KEY SHARE on the same buyer. Now every lock a servicing write takes on a buyer, settlement, loan,
withholding, remittance or exception is FOR NO KEY UPDATE (none of them deletes those rows or
changes their keys), which never blocks a foreign-key check; and the post takes its FOR KEY SHARE on
the buyer explicitly, first, so even a FOR UPDATE on the buyer (the reconciliation job) makes it wait
before it holds any loan, never in the middle. FOR NO KEY UPDATE still conflicts with itself, so
voids, remittances and the reconciliation of one buyer, and every write to one loan, still run one
after the other. On the demo's SQLite none of these locks exists (it locks the whole file).

- ``writeback``: a loan's derived state from its transaction log (``loan_recompute``)
- ``disbursement``: an approved application becomes a loan (``loan_disburse``)
- ``settlements``: what to withhold, settlement posts (one or a batch) and voids
- ``payments``: counter payments, adelantos and pagos anticipados, the payoff quote
- ``credits``: overpayment credits refunded or applied to another loan of the miner
- ``remittances``: the buyer's remittances and reconciliation exceptions
- ``refinancing``: refinanciación — the proposal, and the "disbursement" that closes the refinanced loans
- ``reversals``: one payment or withholding reversed (the two-person rule is ``lifecycle``'s)
- ``jobs``: reconciliation, moratory accrual, rating and the nightly run
"""

from installments.services.credits import overpayment_apply, overpayment_refund
from installments.services.disbursement import LOAN_CODE_PREFIX, loan_code_for, loan_disburse
from installments.services.jobs import moratory_accrue, nightly_servicing, portfolio_rate, reconcile_remittances
from installments.services.payments import payment_record, payoff_quote, prepayment_options
from installments.services.refinancing import (
    refinance_preview,
    refinance_propose,
    refinance_refusal,
)
from installments.services.remittances import RemittanceOutcome, exception_resolve, remittance_record
from installments.services.reversals import reversal_refusal, transaction_reverse
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
    "overpayment_apply",
    "overpayment_refund",
    "payment_record",
    "payoff_quote",
    "portfolio_rate",
    "prepayment_options",
    "reconcile_remittances",
    "refinance_preview",
    "refinance_propose",
    "refinance_refusal",
    "remittance_record",
    "reversal_refusal",
    "settlement_post",
    "settlement_post_many",
    "settlement_void",
    "transaction_reverse",
]
