"""Search: the documents base query joined to the search index, ranked, counted and faceted.

Results, totals, facets and snippets all start from `repository.filtered_documents`, built on
`documents_query()`, so they can never disagree about what the caller may see. Totals are exact;
past ~10k matches the count scan dominates and should become an estimate (not done yet).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Double, Select, cast, func, literal, select
from sqlalchemy.dialects.postgresql import REGCONFIG
from sqlalchemy.orm import Session

from app.documents import repository, service
from app.documents.models import Document, DocumentPage
from app.errors import BadRequest
from app.search.models import DocumentSearch
from app.search.query import ParsedQuery, parse_query
from app.search.snippets import best_snippet
from schemas.search import FacetCount, Facets, SearchHit, SearchRequest, SearchResults


def search(session: Session, *, request: SearchRequest) -> SearchResults:
    parsed = parse_query(request.q)
    filtered = repository.filtered_documents(
        document_class=request.document_class,
        status=request.status,
        uploaded_after=request.uploaded_after,
        uploaded_before=request.uploaded_before,
    )
    order: ColumnElement[Any]
    if parsed.tsquery is None:
        matched, order = filtered, Document.created_at.expression
    else:
        tsquery = func.to_tsquery(cast(literal("simple"), REGCONFIG), parsed.tsquery)
        matched = filtered.join(DocumentSearch, DocumentSearch.document_id == Document.id).where(
            DocumentSearch.terms.bool_op("@@")(tsquery)
        )
        # double precision: a real sent as text would not compare equal to itself in a cursor
        order = cast(func.ts_rank_cd(DocumentSearch.terms, tsquery), Double)
    hits, next_cursor = _page(session, matched, order, request, parsed)
    return SearchResults(
        items=hits,
        total=_count(session, matched),
        facets=_facets(session, matched),
        next_cursor=next_cursor,
    )


def _page(
    session: Session,
    matched: Select[Any],
    order: ColumnElement[Any],
    request: SearchRequest,
    parsed: ParsedQuery,
) -> tuple[list[SearchHit], str | None]:
    query = matched.add_columns(order)
    if request.cursor is not None:
        value, last_id = _decode_cursor(request.cursor, ranked=parsed.tsquery is not None)
        query = query.where((order < value) | ((order == value) & (Document.id < last_id)))
    query = query.order_by(order.desc(), Document.id.desc()).limit(request.limit + 1)
    rows = session.execute(query).all()
    page, more = rows[: request.limit], len(rows) > request.limit
    snippets = _snippets(session, [row[0] for row in page], parsed)
    hits = [
        SearchHit(
            document=service.document_out(document),
            rank=key if parsed.tsquery is not None else None,
            snippet=snippets.get(document.id),
        )
        for document, key in page
    ]
    return hits, _encode_cursor(page[-1][1], page[-1][0].id) if more else None


def _count(session: Session, matched: Select[Any]) -> int:
    return int(session.scalar(select(func.count()).select_from(matched.subquery())) or 0)


def _facets(session: Session, matched: Select[Any]) -> Facets:
    subquery = matched.subquery()

    def counts(column: ColumnElement[Any]) -> list[FacetCount]:
        rows = session.execute(
            select(column, func.count()).group_by(column).order_by(func.count().desc(), column)
        )
        return [FacetCount(value=value, count=count) for value, count in rows]

    return Facets(
        document_class=counts(subquery.c.document_class), status=counts(subquery.c.status)
    )


def _snippets(
    session: Session, documents: list[Document], parsed: ParsedQuery
) -> dict[uuid.UUID, Any]:
    if parsed.tsquery is None or not documents:
        return {}
    by_version = {d.current_version_id: d.id for d in documents if d.current_version_id}
    pages: dict[uuid.UUID, list[tuple[int, str]]] = defaultdict(list)
    rows = session.execute(
        select(DocumentPage.version_id, DocumentPage.number, DocumentPage.text)
        .where(DocumentPage.version_id.in_(list(by_version)))
        .order_by(DocumentPage.number)
    )
    for version_id, number, text in rows:
        pages[by_version[version_id]].append((number, text))
    return {
        document_id: best_snippet(document_pages, parsed)
        for document_id, document_pages in pages.items()
    }


def _encode_cursor(key: float | datetime, document_id: uuid.UUID) -> str:
    value = key.isoformat() if isinstance(key, datetime) else key
    return base64.urlsafe_b64encode(json.dumps([value, str(document_id)]).encode()).decode()


def _decode_cursor(cursor: str, *, ranked: bool) -> tuple[float | datetime, uuid.UUID]:
    try:
        value, document_id = json.loads(base64.urlsafe_b64decode(cursor.encode()))
        key = float(value) if ranked else datetime.fromisoformat(value)
        return key, uuid.UUID(document_id)
    except (ValueError, TypeError, binascii.Error) as exc:
        raise BadRequest("the cursor is not one this search issued") from exc
