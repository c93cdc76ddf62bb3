"""Search: the documents base query joined to the search index, filtered, counted, faceted,
ranked or sorted, and paged by cursor.

Results, totals, facets and snippets all start from `repository.filtered_documents(actor)`,
built on `documents_query(actor)`, so they can never disagree about what the caller may see.

Costs stay bounded however many documents match:
- one pass reads at most `WINDOW + 1` matches, newest first, with their sort key and facet
  columns. Up to the bound that is every match: the total and the facets are exact, and the
  page is sorted from those rows (a rare term sorted by date never walks the date index).
  Past it, the total is the planner's estimate and the facets are those of the window scaled
  to it (marked by `total_exact: false`). When words or filters need the search row, the
  window's ids come from `document_search` alone (through one index where the models give
  one: the upload order, a NIP's, a date or amount range's), and the base query then judges
  those ids only; if it turns some of a full window away, the joined query reads further;
- relevance ranks that window (every match, or the newest `WINDOW`): ranking reads each
  candidate's whole vector, so it is never done over an unbounded set;
- other sorts over many matches walk their index ((value, id) or upload date), which finds
  a page at once.
"""

from __future__ import annotations

import base64
import binascii
import itertools
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
    Uuid,
    and_,
    any_,
    bindparam,
    cast,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, REGCONFIG
from sqlalchemy.orm import Session

from app.documents import repository, service
from app.documents.models import Document, DocumentPage
from app.errors import BadRequest, Unprocessable
from app.search.filters import (
    counterparty_names,
    filter_tsquery,
    record_conditions,
    search_conditions,
    terms_match,
)
from app.search.index import CLASS, filter_lexeme
from app.search.models import DocumentSearch
from app.search.pesel import pesel_lexeme
from app.search.query import ParsedQuery, PeselLexeme, parse_query
from app.search.snippets import best_snippet
from app.security.permissions import (
    UNCLASSIFIED,
    seen_whatever_the_class,
    sees_pesel,
    viewable_classes,
)
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

WINDOW = 1_000  # matches read in one pass: exact totals and facets up to it, ranked window
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
    # filtered documents (visibility, class, status, upload range, uploader, record state)
    base: Select[Any]
    # conditions on the search row (text, typed filters); empty: no row needed
    conditions: tuple[ColumnElement[bool], ...]
    # the same without the words: typed filters and the upload range
    row_conditions: tuple[ColumnElement[bool], ...]
    # the words and the filter lexemes, as a tsquery's text (None: no words)
    text_and_filters: str | None
    # filtered documents joined to their search rows (outer join when nothing needs a row)
    matched: Select[Any]
    # the same with an inner join: a date or amount sort walks the (value, document_id) index
    indexed: Select[Any]
    sort: SearchSort
    direction: SortDirection
    key: ColumnElement[Any]
    # (upload time, id): those of `document_search` when every match has a row, so a text
    # search walks that table's own index and reads `documents` for the matches only
    newest: tuple[ColumnElement[Any], ColumnElement[Any]]
    tsquery: ColumnElement[Any] | None

    @property
    def by_field(self) -> bool:
        """A sort on a value documents may lack (sorted below every value)."""
        return self.sort in (SearchSort.issue_date, SearchSort.amount)


@dataclass(frozen=True, slots=True)
class _Summary:
    """The newest `WINDOW` matches (id, sort key, facet columns) and what they tell."""

    rows: Sequence[Any]
    total: int
    exact: bool
    facets: Facets


def search(session: Session, *, request: SearchRequest, actor: Actor) -> SearchResults:
    _tune_planner(session)
    pesel: PeselLexeme | None = pesel_lexeme if sees_pesel(actor) else None
    parsed = parse_query(request.q, pesel=pesel)
    names = counterparty_names(session, request)
    plan = _plan(request, actor, parsed, names)
    summary = _summary(session, plan)
    exact_tsquery: ColumnElement[Any] | None = None
    expansions: dict[str, list[str]] = {}
    if parsed.words and summary.total < FUZZY_BELOW:
        expansions = _neighbours(session, parsed.words)
        if expansions:
            exact_tsquery = plan.tsquery
            parsed = parse_query(request.q, pesel=pesel, expansions=expansions)
            plan = _plan(request, actor, parsed, names)
            summary = _summary(session, plan)
    hits, next_cursor = _page(session, plan, summary, request, parsed, exact_tsquery)
    if expansions:
        expansions = _shown_expansions(session, [hit.document.id for hit in hits], expansions)
    return SearchResults(
        items=hits,
        total=summary.total,
        total_exact=summary.exact,
        facets=summary.facets,
        fuzzy=bool(expansions),
        fuzzy_terms=expansions,
        next_cursor=next_cursor,
    )


def _tune_planner(session: Session) -> None:
    """For this transaction only. Search reads index and heap pages that are nearly always
    cached: at the default random_page_cost (4, a spinning disk) the planner hash-joins whole
    tables instead of probing a thousand ids (175 ms against 8 ms for a NIP at 100k
    documents). Parallel workers only add start-up time to these bounded queries."""
    session.execute(text("SET LOCAL random_page_cost = 1.1"))
    session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
    # psycopg prepares a statement run five times, and PostgreSQL may then keep one generic
    # plan for it: the plan of a term in a third of the documents differs from that of a rare
    # one (a generic plan took the window of "umowa najmu" from 5 ms to 70 ms at 100k)
    session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))


def _plan(
    request: SearchRequest, actor: Actor, parsed: ParsedQuery, names: list[str] | None
) -> _Plan:
    base = repository.filtered_documents(
        actor,
        document_class=request.document_class,
        status=request.status,
        uploaded_after=request.uploaded_after,
        uploaded_before=request.uploaded_before,
    )
    if request.uploaded_by is not None:
        base = base.where(Document.created_by == request.uploaded_by)
    base = base.where(*record_conditions(request))
    conditions = search_conditions(
        request, with_text=parsed.tsquery is not None, counterparties=names
    )
    row_conditions = [*conditions, *_uploaded_range(request)]
    tsquery = None
    text_and_filters = None
    if parsed.tsquery is not None:
        tsquery = func.to_tsquery(cast(literal("simple"), REGCONFIG), parsed.tsquery)
        filtered = filter_tsquery(request)
        text_and_filters = parsed.tsquery if filtered is None else f"{parsed.tsquery} & {filtered}"
        conditions.append(terms_match(text_and_filters))
    if conditions:
        conditions += _uploaded_range(request)
    sort = request.sort or (SearchSort.relevance if tsquery is not None else SearchSort.uploaded_at)
    onclause = DocumentSearch.document_id == Document.id
    indexed = base.join(DocumentSearch, onclause).where(*conditions)
    matched = indexed if conditions else base.outerjoin(DocumentSearch, onclause)
    newest = (
        (DocumentSearch.uploaded_at.expression, DocumentSearch.document_id.expression)
        if conditions
        else (Document.created_at.expression, Document.id.expression)
    )
    return _Plan(
        actor=actor,
        base=base,
        conditions=tuple(conditions),
        row_conditions=tuple(row_conditions),
        text_and_filters=text_and_filters,
        matched=matched,
        indexed=indexed,
        sort=sort,
        direction=request.direction,
        key=newest[0] if sort is SearchSort.uploaded_at else _sort_key(sort, tsquery),
        newest=newest,
        tsquery=tsquery,
    )


def _uploaded_range(request: SearchRequest) -> list[ColumnElement[bool]]:
    """The base query's upload range again on the search row's copy of the upload time, so
    that the window's walk of `document_search` starts and stops inside it."""
    uploaded = DocumentSearch.uploaded_at
    conditions = []
    if request.uploaded_after is not None:
        conditions.append(uploaded >= request.uploaded_after)
    if request.uploaded_before is not None:
        conditions.append(uploaded < request.uploaded_before)
    return conditions


def _sort_key(sort: SearchSort, tsquery: ColumnElement[Any] | None) -> ColumnElement[Any]:
    if sort is SearchSort.relevance:
        if tsquery is None:
            raise Unprocessable("sort=relevance needs words to rank by (q)")
        # double precision: a real sent as text would not compare equal to itself in a cursor
        return cast(func.ts_rank_cd(DocumentSearch.terms, tsquery), Double)
    if sort is SearchSort.issue_date:
        return DocumentSearch.issue_date.expression
    return DocumentSearch.gross_amount.expression


def _summary(session: Session, plan: _Plan) -> _Summary:
    """One pass over at most `WINDOW + 1` matches, newest first, and what they tell."""
    rows = _window(session, plan)
    exact = len(rows) <= WINDOW
    rows = rows[:WINDOW]
    total = len(rows) if exact else max(WINDOW + 1, _estimate(session, plan.matched))
    facets = _facets(rows, total / max(len(rows), 1))
    return _Summary(rows=rows, total=total, exact=exact, facets=facets)


def _window(session: Session, plan: _Plan) -> Sequence[Any]:
    """The newest `WINDOW + 1` matches with their sort key and facet columns. When search
    rows are filtered, their ids come first from `document_search` alone, then the columns
    and the base query's conditions for those ids only: a join would probe `documents` for
    every match (thousands for a filter) before the newest are known."""
    if plan.conditions:
        rows = _window_by_search_rows(session, plan)
        if rows is not None:
            return rows
    window = (
        _window_columns(plan.matched, plan)
        .order_by(plan.newest[0].desc(), plan.newest[1].desc())
        .limit(WINDOW + 1)
    )
    return session.execute(window).all()


def _window_columns(query: Select[Any], plan: _Plan) -> Select[Any]:
    year = cast(func.extract("year", DocumentSearch.issue_date), Integer)
    return query.with_only_columns(
        Document.id,
        plan.key,
        Document.document_class,
        Document.status,
        year,
        DocumentSearch.counterparties,
    )


# Documents a caller sees whatever their class, looked up one by one up to this many.
_SEEN_BY_ID = 10_000
# Matches of words within the caller's classes read through the GIN index up to this many.
_THROUGH_GIN = 10_000


def _window_by_search_rows(session: Session, plan: _Plan) -> Sequence[Any] | None:
    """The window from the newest matching search rows, or None when the base query turned
    some of a full window away (the newest visible matches may lie past it). A caller who
    may not see every class gets a second try: the classes they see as lexemes of the query,
    and the documents they see whatever the class (their uploads, grants, tasks) apart."""
    rows = _judged(session, plan, [i for _, i in _newest_ids(session, plan.conditions)])
    if rows is not None:
        return rows
    classes = viewable_classes(session, plan.actor)
    if not classes or plan.text_and_filters is None:
        # without words the classes would be the only lexemes asked: two thirds of the index
        return None
    scope = " | ".join(f"'{filter_lexeme(CLASS, code)}'" for code in sorted(classes))
    in_classes = [*plan.row_conditions, terms_match(f"({plan.text_and_filters}) & ({scope})")]
    seen = seen_whatever_the_class(plan.actor)
    if UNCLASSIFIED in classes:  # not classified yet: no class lexeme in the row
        seen.append(select(Document.id).where(Document.document_class.is_(None)))
    candidates = _newest_ids_through_gin(session, in_classes)
    seen_anyway = _seen_anyway(session, seen)
    if seen_anyway is not None:
        candidates += _newest_ids(session, [*plan.conditions, seen_anyway])
    ids = [document_id for _, document_id in sorted(set(candidates), reverse=True)]
    return _judged(session, plan, ids[: WINDOW + 1])


def _seen_anyway(
    session: Session, queries: Sequence[Select[uuid.UUID]]
) -> ColumnElement[bool] | None:
    """The search rows of the documents seen whatever their class, as a list of ids when it is
    short (each looked up by its key; a subquery would walk every match to find a few), None
    when there are none."""
    ids: set[uuid.UUID] = set()
    for query in queries:
        ids.update(session.scalars(query.limit(_SEEN_BY_ID + 1)))
        if len(ids) > _SEEN_BY_ID:
            return DocumentSearch.document_id.in_(union_all(*queries))
    if not ids:
        return None
    listed = bindparam("seen_ids", sorted(ids), type_=ARRAY(Uuid))
    return DocumentSearch.document_id == any_(listed)


def _newest_ids_through_gin(
    session: Session, conditions: Sequence[ColumnElement[bool]]
) -> list[tuple[datetime, uuid.UUID]]:
    """`_newest_ids` for words ANDed with the caller's classes. The planner multiplies the
    words' and the classes' frequencies (a third times two thirds) where they exclude each
    other ("pracownika" is only in HR records), and walks the upload index through every
    row: 0.7 s at a million documents to find none. Bitmap scans only (the GIN index
    intersects the lexemes itself), up to `_THROUGH_GIN` matches; more, and matches are
    dense enough for the walk."""
    session.execute(text("SET LOCAL enable_seqscan = off"))
    session.execute(text("SET LOCAL enable_indexscan = off"))
    try:
        rows = session.execute(
            select(DocumentSearch.uploaded_at, DocumentSearch.document_id)
            .where(*conditions)
            .limit(_THROUGH_GIN + 1)
        ).all()
    finally:
        session.execute(text("SET LOCAL enable_seqscan = on"))
        session.execute(text("SET LOCAL enable_indexscan = on"))
    if len(rows) > _THROUGH_GIN:
        return _newest_ids(session, conditions)
    return sorted(((row[0], row[1]) for row in rows), reverse=True)[: WINDOW + 1]


def _newest_ids(
    session: Session, conditions: Sequence[ColumnElement[bool]]
) -> list[tuple[datetime, uuid.UUID]]:
    newest = (
        select(DocumentSearch.uploaded_at, DocumentSearch.document_id)
        .where(*conditions)
        .order_by(DocumentSearch.uploaded_at.desc(), DocumentSearch.document_id.desc())
        .limit(WINDOW + 1)
    )
    return [(row[0], row[1]) for row in session.execute(newest)]


def _judged(session: Session, plan: _Plan, ids: list[uuid.UUID]) -> Sequence[Any] | None:
    """The base query's verdict on these ids, newest first; None when it turned some of a
    full window away."""
    if not ids:
        return []
    joined = plan.base.join(DocumentSearch, DocumentSearch.document_id == Document.id)
    chosen = Document.id == any_(bindparam("window_ids", ids, type_=ARRAY(Uuid)))
    found = {row[0]: row for row in session.execute(_window_columns(joined, plan).where(chosen))}
    if len(ids) > WINDOW and len(found) < len(ids):
        return None
    return [found[document_id] for document_id in ids if document_id in found]


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
    classes: Counter[str | None] = Counter(row[2] for row in rows)
    statuses: Counter[str | None] = Counter(row[3] for row in rows)
    years: Counter[str | None] = Counter(None if row[4] is None else str(row[4]) for row in rows)
    parties: Counter[str | None] = Counter(
        itertools.chain.from_iterable(set(row[5]) for row in rows if row[5])
    )

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
    limit = request.limit + 1
    keyed = _from_window(plan, summary, after, limit)
    if keyed is None and plan.by_field:
        keyed = _walk_field(session, plan, after, limit)
    elif keyed is None:
        query = plan.matched.with_only_columns(Document.id, plan.key)
        keyed = _ordered(session, query, plan.key, plan.newest[1], plan, after, limit)
    page, more = keyed[: request.limit], len(keyed) > request.limit
    documents = _documents(session, plan.actor, [document_id for document_id, _ in page])
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
        for document, (_, value) in zip(documents, page, strict=True)
    ]
    cursor = _encode_cursor(plan, page[-1][1], page[-1][0]) if more else None
    return hits, cursor


def _from_window(
    plan: _Plan, summary: _Summary, after: _After, limit: int
) -> list[tuple[uuid.UUID, Any]] | None:
    """The page from the window's rows when they hold it: every match is there, relevance
    ranks the window, or the newest uploads are asked for and the page is within it."""
    if summary.exact or plan.sort is SearchSort.relevance:
        return _window_page(summary.rows, plan.direction, after, limit)
    if plan.sort is SearchSort.uploaded_at and plan.direction is SortDirection.desc:
        keyed = _window_page(summary.rows, plan.direction, after, limit)
        return keyed if len(keyed) == limit else None
    return None


def _documents(session: Session, actor: Actor, ids: list[uuid.UUID]) -> list[Document]:
    """The page's documents, in its order, through the visibility of the base query."""
    if not ids:
        return []
    query = repository.documents_query(actor).where(Document.id.in_(ids))
    found = {document.id: document for document in session.scalars(query)}
    return [found[document_id] for document_id in ids]


_After = tuple[Any, uuid.UUID] | None


def _window_page(
    rows: Sequence[Any], direction: SortDirection, after: _After, limit: int
) -> list[tuple[uuid.UUID, Any]]:
    """The window's rows in (key, id) order, documents lacking the key after the others
    either way, as the SQL walks put them (uuid order is byte order in both)."""
    descending = direction is SortDirection.desc
    # (key, id as an int): int comparisons, where UUID's own are Python code
    valued = [(row[1], row[0].int, row[0]) for row in rows if row[1] is not None]
    missing = [(row[0].int, row[0]) for row in rows if row[1] is None]
    if after is not None and after[0] is not None:
        mark = (after[0], after[1].int)
        valued = [i for i in valued if (i[:2] < mark) == descending and i[:2] != mark]
    elif after is not None:
        last = after[1].int
        valued = []
        missing = [i for i in missing if (i[0] < last) == descending and i[0] != last]
    valued.sort(reverse=descending)
    missing.sort(reverse=descending)
    keyed = [(document_id, key) for key, _, document_id in valued]
    keyed += [(document_id, None) for _, document_id in missing]
    return keyed[:limit]


def _walk_field(
    session: Session, plan: _Plan, after: _After, limit: int
) -> list[tuple[uuid.UUID, Any]]:
    """Many matches sorted by a value some lack: those with the value through the
    (value, document_id) index, then those without it by id."""
    valued = plan.indexed.with_only_columns(Document.id, plan.key).where(plan.key.is_not(None))
    missing = plan.matched.with_only_columns(Document.id, plan.key).where(plan.key.is_(None))
    phases = [
        (valued, DocumentSearch.document_id.expression, True),
        (missing, Document.id.expression, False),
    ]
    rows: list[tuple[uuid.UUID, Any]] = []
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
            return False
        return _after(plan.key, DocumentSearch.document_id.expression, value, last_id, descending)
    if value is None:
        return Document.id < last_id if descending else Document.id > last_id
    return True


def _ordered(
    session: Session,
    query: Select[Any],
    key: ColumnElement[Any],
    tiebreak: ColumnElement[Any],
    plan: _Plan,
    after: _After,
    limit: int,
) -> list[tuple[uuid.UUID, Any]]:
    """A page in (key, id) order; NULLS LAST descending and FIRST ascending are the two
    directions of a default b-tree (walks never mix missing and present keys)."""
    descending = plan.direction is SortDirection.desc
    if after is not None:
        query = query.where(_after(key, tiebreak, *after, descending))
    if descending:
        query = query.order_by(key.desc().nulls_last(), tiebreak.desc())
    else:
        query = query.order_by(key.asc().nulls_first(), tiebreak.asc())
    return [(document_id, key) for document_id, key in session.execute(query.limit(limit))]


def _after(
    key: ColumnElement[Any],
    tiebreak: ColumnElement[Any],
    value: Any,
    last_id: uuid.UUID,
    descending: bool,
) -> ColumnElement[bool]:
    """Rows after the cursor (value, id) in (key, id) order; `value` is not None."""
    if descending:
        return or_(key < value, and_(key == value, tiebreak < last_id))
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


_PAGE_WORDS = text(
    """
    SELECT DISTINCT word FROM document_search, unnest(tsvector_to_array(terms)) AS word
    WHERE document_id = ANY(:ids) AND word = ANY(:words)
    """
).bindparams(bindparam("ids", type_=ARRAY(Uuid)), bindparam("words", type_=ARRAY(Text)))


def _shown_expansions(
    session: Session, ids: list[uuid.UUID], expansions: dict[str, list[str]]
) -> dict[str, list[str]]:
    """The corrections as the response names them: only words of the documents on the page.
    The vocabulary holds the words of every document, and naming one the caller may not see
    would tell them it is written somewhere."""
    words = sorted({word for alternatives in expansions.values() for word in alternatives})
    if not ids or not words:
        return {}
    seen = set(session.scalars(_PAGE_WORDS, {"ids": ids, "words": words}))
    shown = {
        term: [w for w in alternatives if w in seen] for term, alternatives in expansions.items()
    }
    return {term: alternatives for term, alternatives in shown.items() if alternatives}


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
