"""How a borrower's document number shows on a document: whole, or masked for NGO staff."""

from __future__ import annotations

from miners.models import Miner
from reports import formatting


def shown_document_number(miner: Miner, *, mask: bool) -> str:
    return formatting.mask_document(miner.document_number) if mask else miner.document_number
