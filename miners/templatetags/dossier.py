"""``{% miner_dossier miner trainings %}``: the documents and trainings section of the miner's page,
with what the signed-in user may see and do (miners.dossier says who)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from asmcredit import roles
from miners.dossier import DOCUMENT_KEEPERS, DOCUMENT_READERS, TRAINING_RECORDERS, document_expiry
from miners.models import Miner

register = template.Library()

DOCUMENTS_SHOWN = 50


@register.inclusion_tag("miners/documents/_section.html", takes_context=True)
def miner_dossier(context: dict[str, Any], miner: Miner, trainings: Any) -> dict[str, Any]:
    """``trainings``: the miner's latest trainings, as the page's view already loaded them."""
    user = context["user"]
    documents = []
    reads_documents = roles.has_role(user, *DOCUMENT_READERS)
    if reads_documents:
        today = timezone.localdate()
        documents = list(miner.documents.select_related("uploaded_by")[:DOCUMENTS_SHOWN])
        for document in documents:
            document.expiry = document_expiry(document.expires_on, today=today)  # type: ignore[attr-defined]
    return {
        "miner": miner,
        "documents": documents,
        "trainings": trainings,
        "reads_documents": reads_documents,
        "files_documents": roles.has_role(user, *DOCUMENT_KEEPERS),
        "records_trainings": roles.has_role(user, *TRAINING_RECORDERS),
    }
