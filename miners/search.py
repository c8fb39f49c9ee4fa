"""Finding a miner: by document number (exact, through an index) or by name, whatever the accents and case.

Officers type names as they hear them: "huaman quispe" must find "Huamán Quispe". On PostgreSQL each row
keeps its name folded — ``name_folded``, a stored column generated as
``asm_unaccent(lower(last_names || ' ' || first_names))`` through the ``unaccent`` extension (migration
``miners 0004``) — and each word of the query is a ``LIKE '%word%'`` on it, which the GIN trigram index
(``pg_trgm``) on that column answers without reading the table. The demo's SQLite has neither extension:
there the same expression calls ``asm_fold``, a Python function registered on the connection that folds
exactly as ``fold`` does. Either way the query words are folded in Python first, so both sides compare
the same letters.

Results come in the order of the folded name ("Ñahui" among the n's), which no B-tree index gives: the
database takes the matches from the trigram index and sorts them. Ordered by ``last_names`` instead, it
would walk the name index hoping to meet 25 matches early — and read the whole table for a rare name.

A query with a digit in it is a document: a DNI, CE, RUC or REINFO code, normalised as they are stored
(``normalize_identifier``) and matched exactly on their indexes — only for users who may see documents.
"""

from __future__ import annotations

import unicodedata
from typing import Any

from django.db.models import F, Func, Q, QuerySet, TextField

from miners.identity import normalize_identifier
from miners.models import Miner


def fold(text: str) -> str:
    """Lower case without accents (``"Huamán Ñahui"`` → ``"huaman nahui"``), as PostgreSQL's ``unaccent``
    folds Spanish names."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


class FoldedName(Func):
    """A miner's "last names first names", folded (see the module docstring): the miner's own, or that
    of the miner at ``relation`` (``FoldedName("miner")`` on loans, through the join the query makes)."""

    output_field = TextField()

    def __init__(self, relation: str = "") -> None:
        prefix = f"{relation}__" if relation else ""
        super().__init__(F(f"{prefix}last_names"), F(f"{prefix}first_names"))

    def as_sql(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:  # type: ignore[override]
        last_names, _params = compiler.compile(self.source_expressions[0])
        table = last_names.rsplit(".", 1)[0]  # the miners table, under the alias this query gave it
        return f"{table}.name_folded", []  # PostgreSQL's stored column (migration miners 0004)

    def as_sqlite(self, compiler: Any, connection: Any, **extra_context: Any) -> tuple[str, list[Any]]:
        _register_sqlite_fold(connection)
        last_names, _params = compiler.compile(self.source_expressions[0])
        first_names, _params = compiler.compile(self.source_expressions[1])
        return f"asm_fold({last_names} || ' ' || {first_names})", []


def _register_sqlite_fold(db: Any) -> None:
    """Give the SQLite connection ``asm_fold`` (registering it again replaces it: it costs nothing)."""
    db.ensure_connection()
    db.connection.create_function("asm_fold", 1, _fold_or_null, deterministic=True)


def _fold_or_null(value: str | None) -> str | None:
    return fold(value) if value is not None else None


def is_document_query(query: str) -> bool:
    """A DNI, CE, RUC or REINFO code has digits; a name has none."""
    return any(char.isdigit() for char in query)


def document_condition(query: str, prefix: str = "") -> Q:
    """The miners whose DNI/CE, RUC or REINFO code is ``query`` (each on its own index)."""
    return (
        Q(**{f"{prefix}document_number": normalize_identifier("document_number", query)})
        | Q(**{f"{prefix}ruc": normalize_identifier("ruc", query)})
        | Q(**{f"{prefix}reinfo_code": normalize_identifier("reinfo_code", query)})
    )


def miner_search(queryset: QuerySet[Miner], query: str, *, by_document: bool) -> QuerySet[Miner]:
    """``queryset`` narrowed to ``query``: a document number matched exactly (only ``by_document``: NGO
    analysts never search by a number they may not see) or every word in the name."""
    query = query.strip()
    if not query:
        return queryset
    if is_document_query(query):
        return queryset.filter(document_condition(query)) if by_document else queryset.none()
    return named(queryset, query)


def named(queryset: QuerySet[Any], query: str, *, relation: str = "") -> QuerySet[Any]:
    """``queryset`` narrowed to the miners (or the rows whose miner, at ``relation``, is one) whose folded
    name contains every word of ``query``."""
    queryset = queryset.alias(folded_name=FoldedName(relation))
    for word in fold(query).split():
        queryset = queryset.filter(folded_name__contains=word)
    return queryset


def by_folded_name(queryset: QuerySet[Miner]) -> QuerySet[Miner]:
    """Search results in the order of the folded name (see the module docstring)."""
    return queryset.alias(folded_order=FoldedName()).order_by("folded_order", "pk")
