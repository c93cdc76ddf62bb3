"""Filters on the typed columns of `document_search` (copies of extracted fields)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from sqlalchemy import ColumnElement, exists, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from app.circulation.models import Circulation
from app.documents.models import Document
from app.errors import Unprocessable
from app.retention.models import DocumentRetention
from app.retention.repository import held_ids
from app.search.index import (
    BUYER,
    CLASS,
    CURRENCY,
    SELLER,
    TAG,
    compact_ksef,
    compact_number,
    filter_lexeme,
    fold_name,
)
from app.search.models import CounterpartyName, DocumentSearch
from schemas.search import SearchFilters
from workers.extract.identifiers import normalise_nip


def search_conditions(
    request: SearchFilters,
    *,
    with_text: bool = False,
    counterparties: Sequence[str] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on `DocumentSearch`; a document without a search row matches none of them.
    `with_text`: the query has words, and `filter_tsquery` is ANDed with them.
    `counterparties`: the names the counterparty filter means, already looked up
    (`counterparty_names`); otherwise a subquery finds them."""
    row = DocumentSearch
    conditions = [
        *_range(row.issue_date, request.issued_from, request.issued_to, "issued"),
        *_range(row.due_date, request.due_from, request.due_to, "due"),
        *_range(row.gross_amount, request.amount_min, request.amount_max, "amount"),
    ]
    if request.currency:
        conditions.append(row.currency == request.currency.upper())
    for name, column in (("seller_nip", row.seller_nip), ("buyer_nip", row.buyer_nip)):
        raw = getattr(request, name)
        if raw is not None:
            conditions.append(column == nip_filter(name, raw))
    if request.counterparty is not None:
        conditions.append(_counterparty(request.counterparty, counterparties))
    if not with_text:
        # with text, the tag lexemes in the tsquery select the same rows (folded) inside the
        # GIN scan of the words; the array index would only add a bitmap of every tagged row
        if request.tags_all:
            conditions.append(row.tags.contains(sorted(set(request.tags_all))))
        if request.tags_any:
            conditions.append(row.tags.overlap(sorted(set(request.tags_any))))
    if request.invoice_number is not None:
        conditions.append(row.invoice_number == _required(request, "invoice_number"))
    if request.ksef_number is not None:
        conditions.append(row.ksef_number == _required(request, "ksef_number"))
    return conditions


def terms_match(tsquery_text: str) -> ColumnElement[bool]:
    """The search row's vector matches this tsquery text (terms as `app.search.polish` makes
    them, parsed with the 'simple' configuration, which keeps them whole)."""
    tsquery = func.to_tsquery(sql_cast(literal("simple"), REGCONFIG), tsquery_text)
    return DocumentSearch.terms.bool_op("@@")(tsquery)


def filter_tsquery(request: SearchFilters) -> str | None:
    """The filters that are also lexemes of the vector (`index.filter_lexemes`), as a tsquery
    to AND with the text: the GIN index then intersects them with the words. The column
    conditions stay, and decide."""
    parts = []
    if request.document_class:
        parts.append(f"'{filter_lexeme(CLASS, request.document_class)}'")
    if request.currency:
        parts.append(f"'{filter_lexeme(CURRENCY, request.currency)}'")
    for prefix, name in ((SELLER, "seller_nip"), (BUYER, "buyer_nip")):
        raw = getattr(request, name)
        if raw is not None:
            parts.append(f"'{filter_lexeme(prefix, nip_filter(name, raw))}'")
    parts += [f"'{filter_lexeme(TAG, tag)}'" for tag in sorted(set(request.tags_all))]
    if request.tags_any:
        tags = sorted({filter_lexeme(TAG, tag) for tag in request.tags_any})
        parts.append("(" + " | ".join(f"'{tag}'" for tag in tags) + ")")
    parts = [part for part in parts if part not in ("''", f"'{TAG}'", f"'{CLASS}'")]
    return " & ".join(parts) or None


def nip_filter(name: str, raw: str) -> str:
    nip = normalise_nip(raw)
    if nip is None:
        raise Unprocessable(
            f"{name}: {raw!r} is not a valid NIP (10 digits with a correct check digit; "
            "dashes, spaces and a PL prefix are fine)",
            field=name,
        )
    return nip


def _range(column: Any, low: Any, high: Any, name: str) -> list[ColumnElement[bool]]:
    if low is not None and high is not None and low > high:
        raise Unprocessable(f"{name}: the range starts after it ends ({low} > {high})")
    conditions = []
    if low is not None:
        conditions.append(column >= low)
    if high is not None:
        conditions.append(column <= high)
    return conditions


def counterparty_names(session: Session, request: SearchFilters) -> list[str] | None:
    """The known names a counterparty filter means, looked up before the search: the planner
    cannot see a subquery's result, guessed 10k documents for a name on 22k and read them
    all at random (90 ms at a million documents) where walking the upload order finds the
    newest at once."""
    if request.counterparty is None:
        return None
    meant = select(CounterpartyName.name).where(_means(request.counterparty))
    return sorted(session.scalars(meant))


def _counterparty(name: str, names: Sequence[str] | None) -> ColumnElement[bool]:
    # the documents holding one of the names meant: the GIN index on the array, or the walk
    # of the upload-order index, which includes it
    if names is None:
        found = select(func.array_agg(CounterpartyName.name)).where(_means(name))
        overlap = DocumentSearch.counterparties.overlap(found.scalar_subquery())
    else:
        overlap = DocumentSearch.counterparties.overlap(list(names))
    return cast("ColumnElement[bool]", overlap)


def _means(name: str) -> ColumnElement[bool]:
    """The names in `CounterpartyName` a typed name means: word similarity of the typed name
    against the closest run of words of each known name (pg_trgm.word_similarity_threshold,
    0.6), through the trigram index on the names."""
    folded = fold_name(name)
    if not folded:
        raise Unprocessable(
            "counterparty: give a name with letters or digits", field="counterparty"
        )
    return cast("ColumnElement[bool]", literal(folded).op("<%")(CounterpartyName.folded))


def _required(request: SearchFilters, name: str) -> str:
    compact = compact_number if name == "invoice_number" else compact_ksef
    value = compact(getattr(request, name))
    if not value:
        raise Unprocessable(f"{name}: give a number with letters or digits", field=name)
    return value


def record_conditions(request: SearchFilters) -> list[ColumnElement[bool]]:
    """Filters on the state of the record kept by other domains: circulation, holds,
    retention. Conditions on `Document`."""
    conditions: list[ColumnElement[bool]] = []
    if request.circulation_state is not None:
        conditions.append(_circulation_state(request.circulation_state))
    if request.under_legal_hold is not None:
        held = Document.id.in_(held_ids())
        conditions.append(held if request.under_legal_hold else ~held)
    if request.retention_due_before is not None:
        due = select(DocumentRetention.document_id).where(
            DocumentRetention.retain_until < request.retention_due_before
        )
        conditions.append(Document.id.in_(due))
    return conditions


def _circulation_state(state: str) -> ColumnElement[bool]:
    if state == "none":
        return ~exists().where(Circulation.document_id == Document.id)
    latest = (
        select(Circulation.state)
        .where(Circulation.document_id == Document.id)
        .order_by(Circulation.started_at.desc())
        .limit(1)
        .scalar_subquery()
    )
    return latest == state
