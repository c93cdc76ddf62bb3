"""Search: the documents base query joined to the search index, filtered, counted, faceted,
ranked or sorted, and paged by cursor.

Results, totals, facets and snippets all start from `repository.filtered_documents(actor)`,
built on `documents_query(actor)`, so they can never disagree about what the caller may see.

Costs stay bounded however many documents match:
- totals and facets come from one pass over at most `TOTAL_BOUND + 1` matches; past the bound
  the total is the planner's estimate and the facets are scaled from those matches (both
  marked by `total_exact: false`);
- relevance ranks at most `RANK_WINDOW` candidates: every match when there are fewer, else the
  newest ones (ranking reads each candidate's whole vector);
- a date or amount sort over a few matches sorts them (materialised) instead of walking the
  date index and filtering; over many matches it walks the index, which finds a page at once.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Double,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.orm import Session

from app.documents import repository, service
from app.documents.models import Document, DocumentPage
from app.errors import BadRequest, Unprocessable
from app.search.filters import search_conditions
from app.search.models import DocumentSearch
from app.search.pesel import pesel_lexeme
from app.search.query import ParsedQuery, PeselLexeme, parse_query
from app.search.snippets import best_snippet
from app.security.permissions import sees_pesel
from app.security.principal import Actor
from schemas.search import (
    FacetCount,
    Facets,
    SearchHit,
    SearchRequest,
    SearchResults,
    SearchSort,
    SortDirection,
)

TOTAL_BOUND = 10_000
RANK_WINDOW = 2_000
FUZZY_BELOW = 3  # fewer exact matches than this try the fuzzy fallback
FUZZY_ALTERNATIVES = 4
FUZZY_SIMILARITY = 0.4
TOP_COUNTERPARTIES = 10

_NEIGHBOURS = text(
    """
    SELECT word, near.term
    FROM unnest(:words) AS word
    CROSS JOIN LATERAL (
        SELECT term FROM search_terms
        WHERE term % word AND term <> word AND similarity(term, word) >= :least
        ORDER BY similarity(term, word) DESC, term
        LIMIT :alternatives
    ) AS near
    """
).bindparams(bindparam("words", type_=ARRAY(Text)))


@dataclass(frozen=True, slots=True)
class _Plan:
    actor: Actor
    # filtered documents joined to their search rows (outer join when nothing needs a row)
    matched: Select[Any]
    # the same with an inner join: a date or amount sort walks the (value, document_id) index
    indexed: Select[Any]
    sort: SearchSort
    direction: SortDirection
    key: ColumnElement[Any]
    tsquery: ColumnElement[Any] | None

    @property
    def by_field(self) -> bool:
        """A sort on a value documents may lack (sorted below every value)."""
        return self.sort in (SearchSort.issue_date, SearchSort.amount)


@dataclass(frozen=True, slots=True)
class _Summary:
    total: int
    exact: bool
    facets: Facets


def search(session: Session, *, request: SearchRequest, actor: Actor) -> SearchResults:
    pesel: PeselLexeme | None = pesel_lexeme if sees_pesel(actor) else None
    parsed = parse_query(request.q, pesel=pesel)
    plan = _plan(request, actor, parsed)
    summary = _summary(session, plan)
    exact_tsquery: ColumnElement[Any] | None = None
    expansions: dict[str, list[str]] = {}
    if parsed.words and summary.total < FUZZY_BELOW:
        expansions = _neighbours(session, parsed.words)
        if expansions:
            exact_tsquery = plan.tsquery
            parsed = parse_query(request.q, pesel=pesel, expansions=expansions)
            plan = _plan(request, actor, parsed)
            summary = _summary(session, plan)
    hits, next_cursor = _page(session, plan, summary, request, parsed, exact_tsquery)
    return SearchResults(
        items=hits,
        total=summary.total,
        total_exact=summary.exact,
        facets=summary.facets,
        fuzzy=bool(expansions),
        fuzzy_terms=expansions,
        next_cursor=next_cursor,
    )


def _plan(request: SearchRequest, actor: Actor, parsed: ParsedQuery) -> _Plan:
    base = repository.filtered_documents(
        actor,
        document_class=request.document_class,
        status=request.status,
        uploaded_after=request.uploaded_after,
        uploaded_before=request.uploaded_before,
    )
    if request.uploaded_by is not None:
        base = base.where(Document.created_by == request.uploaded_by)
    conditions = search_conditions(request)
    tsquery = None
    if parsed.tsquery is not None:
        tsquery = func.to_tsquery(cast(literal("simple"), REGCONFIG), parsed.tsquery)
        conditions.append(DocumentSearch.terms.bool_op("@@")(tsquery))
    sort = request.sort or (SearchSort.relevance if tsquery is not None else SearchSort.uploaded_at)
    onclause = DocumentSearch.document_id == Document.id
    indexed = base.join(DocumentSearch, onclause).where(*conditions)
    matched = indexed if conditions else base.outerjoin(DocumentSearch, onclause)
    return _Plan(
        actor=actor,
        matched=matched,
        indexed=indexed,
        sort=sort,
        direction=request.direction,
        key=_sort_key(sort, tsquery),
        tsquery=tsquery,
    )


def _sort_key(sort: SearchSort, tsquery: ColumnElement[Any] | None) -> ColumnElement[Any]:
    if sort is SearchSort.relevance:
        if tsquery is None:
            raise Unprocessable("sort=relevance needs words to rank by (q)")
        # double precision: a real sent as text would not compare equal to itself in a cursor
        return cast(func.ts_rank_cd(DocumentSearch.terms, tsquery), Double)
    if sort is SearchSort.uploaded_at:
        return Document.created_at.expression
    if sort is SearchSort.issue_date:
        return DocumentSearch.issue_date.expression
    return DocumentSearch.gross_amount.expression


def _summary(session: Session, plan: _Plan) -> _Summary:
    year = cast(func.extract("year", DocumentSearch.issue_date), Integer)
    sample = plan.matched.with_only_columns(
        Document.document_class, Document.status, year, DocumentSearch.counterparties
    ).limit(TOTAL_BOUND + 1)
    rows = session.execute(sample).all()
    exact = len(rows) <= TOTAL_BOUND
    total = len(rows) if exact else max(len(rows), _estimate(session, plan.matched))
    return _Summary(total=total, exact=exact, facets=_facets(rows, total / max(len(rows), 1)))


def _estimate(session: Session, matched: Select[Any]) -> int:
    """The planner's row estimate for the matched set (a count past the bound is a scan)."""
    statement = matched.with_only_columns(Document.id)
    compiled = statement.compile(
        dialect=session.get_bind().dialect, compile_kwargs={"render_postcompile": True}
    )
    explained = (
        session.connection()
        .exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params)
        .scalar_one()
    )
    plan = json.loads(explained) if isinstance(explained, str) else explained
    return int(plan[0]["Plan"]["Plan Rows"])


def _facets(rows: Sequence[Any], scale: float) -> Facets:
    classes: Counter[str | None] = Counter()
    statuses: Counter[str | None] = Counter()
    years: Counter[str | None] = Counter()
    parties: Counter[str | None] = Counter()
    for document_class, status, year, counterparties in rows:
        classes[document_class] += 1
        statuses[status] += 1
        years[None if year is None else str(year)] += 1
        parties.update(dict.fromkeys(counterparties or (), 1))

    def counts(counter: Counter[str | None], top: int | None = None) -> list[FacetCount]:
        ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0] is None, item[0]))
        return [FacetCount(value=v, count=round(n * scale)) for v, n in ordered[:top]]

    return Facets(
        document_class=counts(classes),
        status=counts(statuses),
        year=counts(years),
        counterparty=counts(parties, TOP_COUNTERPARTIES),
    )


def _neighbours(session: Session, words: Sequence[str]) -> dict[str, list[str]]:
    """Vocabulary words similar to each query word (OCR damage, typos), most similar first."""
    candidates = [word for word in words if word.isascii() and word.isalpha() and len(word) >= 3]
    if not candidates:
        return {}
    found: dict[str, list[str]] = defaultdict(list)
    rows = session.execute(
        _NEIGHBOURS,
        {"words": candidates, "least": FUZZY_SIMILARITY, "alternatives": FUZZY_ALTERNATIVES},
    )
    for word, term in rows:
        found[word].append(term)
    return dict(found)


def _page(
    session: Session,
    plan: _Plan,
    summary: _Summary,
    request: SearchRequest,
    parsed: ParsedQuery,
    exact_tsquery: ColumnElement[Any] | None,
) -> tuple[list[SearchHit], str | None]:
    after = None if request.cursor is None else _decode_cursor(request.cursor, plan)
    candidates = _candidates(plan, summary)
    if candidates is not None:
        rows = _sorted_candidates(session, plan, candidates, after, request.limit + 1)
    elif plan.by_field:
        rows = _walk_field(session, plan, after, request.limit + 1)
    else:
        query = plan.matched.add_columns(plan.key)
        rows = _ordered(
            session, query, plan.key, Document.id.expression, plan, after, request.limit + 1
        )
    page, more = rows[: request.limit], len(rows) > request.limit
    documents = [row[0] for row in page]
    snippets = _snippets(session, documents, parsed)
    fuzzy = _fuzzy_only(session, documents, exact_tsquery)
    ranked = plan.sort is SearchSort.relevance
    hits = [
        SearchHit(
            document=service.document_out(document),
            rank=value if ranked else None,
            snippet=snippets.get(document.id),
            fuzzy=document.id in fuzzy,
        )
        for document, value in page
    ]
    cursor = _encode_cursor(plan, page[-1][1], page[-1][0].id) if more else None
    return hits, cursor


def _candidates(plan: _Plan, summary: _Summary) -> Select[Any] | None:
    """The matches to rank or sort, materialised; None to let the sort walk an index."""
    columns = (Document.id.label("id"), plan.key.label("key"))
    if plan.sort is SearchSort.relevance:
        if summary.exact and summary.total <= RANK_WINDOW:
            return plan.matched.with_only_columns(*columns)
        return (
            plan.matched.with_only_columns(*columns)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(RANK_WINDOW)
        )
    return plan.matched.with_only_columns(*columns) if summary.exact else None


_After = tuple[Any, uuid.UUID] | None


def _sorted_candidates(
    session: Session, plan: _Plan, candidates: Select[Any], after: _After, limit: int
) -> list[Any]:
    table = candidates.cte("candidates").prefix_with("MATERIALIZED")
    query = (
        repository.documents_query(plan.actor)
        .add_columns(table.c.key)
        .join(table, table.c.id == Document.id)
    )
    return _ordered(session, query, table.c.key, Document.id.expression, plan, after, limit)


def _walk_field(session: Session, plan: _Plan, after: _After, limit: int) -> list[Any]:
    """Many matches sorted by a value some lack: those with the value through the
    (value, document_id) index, those without it by id; descending puts them last."""
    valued = plan.indexed.add_columns(plan.key).where(plan.key.is_not(None))
    missing = plan.matched.add_columns(plan.key).where(plan.key.is_(None))
    phases = [
        (valued, DocumentSearch.document_id.expression, True),
        (missing, Document.id.expression, False),
    ]
    if plan.direction is SortDirection.asc:
        phases.reverse()
    rows: list[Any] = []
    for query, tiebreak, valued_phase in phases:
        condition = _phase_condition(plan, after, valued_phase=valued_phase)
        if condition is False:
            continue
        resumed = query if condition is True else query.where(condition)
        rows += _ordered(session, resumed, plan.key, tiebreak, plan, None, limit - len(rows))
        if len(rows) >= limit:
            break
    return rows


def _phase_condition(plan: _Plan, after: _After, *, valued_phase: bool) -> Any:
    """Where a phase of `_walk_field` resumes after the cursor: True (from its start), False
    (already past it) or a condition."""
    if after is None:
        return True
    value, last_id = after
    descending = plan.direction is SortDirection.desc
    if valued_phase:
        if value is None:
            return not descending
        tiebreak = DocumentSearch.document_id
        if descending:
            return or_(plan.key < value, and_(plan.key == value, tiebreak < last_id))
        return or_(plan.key > value, and_(plan.key == value, tiebreak > last_id))
    if value is None:
        return Document.id < last_id if descending else Document.id > last_id
    return descending


def _ordered(
    session: Session,
    query: Select[Any],
    key: ColumnElement[Any],
    tiebreak: ColumnElement[Any],
    plan: _Plan,
    after: _After,
    limit: int,
) -> list[Any]:
    if after is not None:
        query = query.where(_after(key, tiebreak, *after, plan.direction))
    if plan.direction is SortDirection.desc:
        query = query.order_by(key.desc().nulls_last(), tiebreak.desc())
    else:
        query = query.order_by(key.asc().nulls_first(), tiebreak.asc())
    return list(session.execute(query.limit(limit)).all())


def _after(
    key: ColumnElement[Any],
    tiebreak: ColumnElement[Any],
    value: Any,
    last_id: uuid.UUID,
    direction: SortDirection,
) -> ColumnElement[bool]:
    """Rows after the cursor in (key, id) order; a missing key sorts below every value."""
    if direction is SortDirection.desc:
        if value is None:
            return and_(key.is_(None), tiebreak < last_id)
        return or_(key < value, and_(key == value, tiebreak < last_id), key.is_(None))
    if value is None:
        return or_(and_(key.is_(None), tiebreak > last_id), key.is_not(None))
    return or_(key > value, and_(key == value, tiebreak > last_id))


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
    for version_id, number, page_text in rows:
        pages[by_version[version_id]].append((number, page_text))
    return {
        document_id: best_snippet(document_pages, parsed)
        for document_id, document_pages in pages.items()
    }


def _fuzzy_only(
    session: Session, documents: list[Document], exact_tsquery: ColumnElement[Any] | None
) -> set[uuid.UUID]:
    """The documents on the page that the query without corrections does not match."""
    if exact_tsquery is None or not documents:
        return set()
    ids = [document.id for document in documents]
    exact = session.scalars(
        select(DocumentSearch.document_id).where(
            DocumentSearch.document_id.in_(ids), DocumentSearch.terms.bool_op("@@")(exact_tsquery)
        )
    )
    return set(ids) - set(exact)


def _encode_cursor(plan: _Plan, key: Any, document_id: uuid.UUID) -> str:
    value = key.isoformat() if isinstance(key, date | datetime) else key
    value = str(value) if isinstance(value, Decimal) else value
    payload = [plan.sort.value, plan.direction.value, value, str(document_id)]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


def _decode_cursor(cursor: str, plan: _Plan) -> tuple[Any, uuid.UUID]:
    try:
        sort, direction, value, document_id = json.loads(base64.urlsafe_b64decode(cursor))
        if (sort, direction) != (plan.sort.value, plan.direction.value):
            raise ValueError("the cursor belongs to another sort")
        return _key_value(plan.sort, value), uuid.UUID(document_id)
    except (ValueError, TypeError, binascii.Error, InvalidOperation) as exc:
        raise BadRequest("the cursor is not one this search issued") from exc


_PARSERS: Mapping[SearchSort, Any] = {
    SearchSort.relevance: float,
    SearchSort.issue_date: date.fromisoformat,
    SearchSort.uploaded_at: datetime.fromisoformat,
    SearchSort.amount: Decimal,
}


def _key_value(sort: SearchSort, value: Any) -> Any:
    if value is None:
        if sort in (SearchSort.relevance, SearchSort.uploaded_at):
            raise ValueError("this sort has no missing values")
        return None
    return _PARSERS[sort](value)
