"""`docarchive reindex`: rebuild search rows written under another terms version (after an
upgrade of the normalisation or the dictionary), or every row with `everything`.

Documents are taken in id order in batches, one transaction per batch; each document's row is
locked first, so a worker saving the same document at the same moment cannot have its fresh
row overwritten by one computed from the state before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_scope
from app.documents.models import Document, DocumentStatus
from app.search.index import index_document
from app.search.models import DocumentSearch
from app.search.polish import terms_version

BATCH = 200

Advance = Callable[[int], None]


@dataclass(frozen=True, slots=True)
class ReindexReport:
    candidates: int
    reindexed: int
    version: str


def _stale(everything: bool) -> ColumnElement[bool]:
    """Processed documents without a row, rows of another version (or every row)."""
    has_row = DocumentSearch.document_id.is_not(None)
    outdated = has_row if everything else DocumentSearch.terms_version != terms_version()
    return or_(outdated, DocumentSearch.document_id.is_(None) & (Document.status == "processed"))


def _candidates(everything: bool) -> Select[uuid.UUID]:
    return (
        select(Document.id)
        .outerjoin(DocumentSearch, DocumentSearch.document_id == Document.id)
        .where(_stale(everything))
    )


def count_stale(session: Session, *, everything: bool = False) -> int:
    query = select(func.count()).select_from(_candidates(everything).subquery())
    return int(session.scalar(query) or 0)


def reindex(
    factory: sessionmaker[Session],
    *,
    everything: bool = False,
    batch: int = BATCH,
    advance: Advance | None = None,
) -> ReindexReport:
    with session_scope(factory) as session:
        candidates = count_stale(session, everything=everything)
    done, last = 0, None
    while True:
        with session_scope(factory) as session:
            query = _candidates(everything).order_by(Document.id).limit(batch)
            if last is not None:
                query = query.where(Document.id > last)
            ids = list(session.scalars(query))
            for document_id in ids:
                _reindex_one(session, document_id)
        if not ids:
            break
        done, last = done + len(ids), ids[-1]
        if advance is not None:
            advance(len(ids))
    return ReindexReport(candidates=candidates, reindexed=done, version=terms_version())


def _reindex_one(session: Session, document_id: uuid.UUID) -> None:
    document = session.get(Document, document_id, with_for_update=True, populate_existing=True)
    if document is None:
        return
    # a document that failed or waits keeps the row an edit gave it; otherwise only processed
    if document.status == DocumentStatus.processed or _has_row(session, document_id):
        index_document(session, document_id)


def _has_row(session: Session, document_id: uuid.UUID) -> bool:
    return session.get(DocumentSearch, document_id) is not None


def reindex_with_progress(
    factory: sessionmaker[Session], *, everything: bool, console: Console | None = None
) -> ReindexReport:
    """The command's run: a progress bar over the documents to reindex."""
    console = console or Console(stderr=True)
    with session_scope(factory) as session:
        total = count_stale(session, everything=everything)
    progress = Progress(
        TextColumn("reindexing"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
    )
    with progress:
        task = progress.add_task("reindex", total=total)
        return reindex(
            factory,
            everything=everything,
            advance=lambda n: progress.advance(task, n),
        )
