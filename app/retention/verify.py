"""Retention invariants for `docarchive verify`: what was destroyed was destroyed lawfully and
is really gone.

- no tombstone for a document that still has its row, nor for a category A class;
- no document destroyed before its retention date, or while a hold covered it;
- no object of a tombstone (original, preview, thumbnail) left in the store;
- no destruction left half-done (an item `destroying`: rerun `docarchive purge --run`).
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Date, cast, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_scope
from app.documents.models import Document, DocumentVersion
from app.retention.models import (
    DisposalItem,
    HeldDocument,
    ItemState,
    LegalHold,
    RetentionClass,
    Tombstone,
)
from app.storage import BlobStore, BlobStoreUnavailable
from app.storage.base import blob_key

BATCH = 1000


def retention_problems(factory: sessionmaker[Session], store: BlobStore) -> list[str]:
    with session_scope(factory) as session:
        problems = [
            *_still_there(session),
            *_permanent_destroyed(session),
            *_destroyed_early(session),
            *_destroyed_while_held(session),
            *_interrupted(session),
        ]
    store.refresh()  # a bucket versioned since the process started is checked version by version
    return problems + list(_content_left(factory, store))


def _still_there(session: Session) -> Iterator[str]:
    query = select(Tombstone.document_id).join(Document, Document.id == Tombstone.document_id)
    for document_id in session.scalars(query):
        yield f"document {document_id} has a tombstone but its row still exists"


def _permanent_destroyed(session: Session) -> Iterator[str]:
    query = select(Tombstone.document_id, Tombstone.retention_class).join(
        RetentionClass, RetentionClass.code == Tombstone.retention_class
    )
    for document_id, code in session.execute(query.where(RetentionClass.category == "A")):
        yield f"document {document_id} of category A class {code} was destroyed"


def _destroyed_early(session: Session) -> Iterator[str]:
    destroyed_on = cast(func.timezone("Europe/Warsaw", Tombstone.destroyed_at), Date)
    query = select(Tombstone.document_id, Tombstone.retain_until, destroyed_on).where(
        or_(Tombstone.retain_until.is_(None), Tombstone.retain_until >= destroyed_on)
    )
    for document_id, retain_until, day in session.execute(query):
        yield f"document {document_id} was destroyed on {day}, retained until {retain_until}"


def _destroyed_while_held(session: Session) -> Iterator[str]:
    query = (
        select(Tombstone.document_id, LegalHold.name)
        .join(HeldDocument, HeldDocument.document_id == Tombstone.document_id)
        .join(LegalHold, LegalHold.id == HeldDocument.hold_id)
        .where(
            LegalHold.created_at <= Tombstone.destroyed_at,
            or_(LegalHold.released_at.is_(None), LegalHold.released_at > Tombstone.destroyed_at),
        )
    )
    for document_id, hold in session.execute(query):
        yield f"document {document_id} was destroyed while under the legal hold {hold!r}"


def _interrupted(session: Session) -> Iterator[str]:
    query = select(DisposalItem.document_id).where(DisposalItem.state == ItemState.destroying)
    for document_id in session.scalars(query):
        yield f"destruction of document {document_id} was interrupted: run `docarchive purge --run`"


def _content_left(factory: sessionmaker[Session], store: BlobStore) -> Iterator[str]:
    """Every object a tombstone's item listed, and the content-addressed key of its hashes."""
    after = None
    while True:
        with session_scope(factory) as session:
            query = (
                select(Tombstone.document_id, Tombstone.sha256s, DisposalItem.content)
                .join(DisposalItem, DisposalItem.id == Tombstone.item_id)
                .order_by(Tombstone.document_id)
                .limit(BATCH)
            )
            if after is not None:
                query = query.where(Tombstone.document_id > after)
            rows = session.execute(query).all()
            if not rows:
                return
            # identical bytes uploaded again later belong to the new document
            live = set(
                session.scalars(
                    select(DocumentVersion.sha256).where(
                        DocumentVersion.sha256.in_([sha for row in rows for sha in row[1]])
                    )
                )
            )
        for document_id, sha256s, content in rows:
            gone = [sha for sha in sha256s if sha not in live]
            yield from _left_of(store, document_id, gone, content or {})
        after = rows[-1][0]


def _left_of(
    store: BlobStore, document_id: object, sha256s: list[str], content: dict[str, object]
) -> Iterator[str]:
    derived = content.get("derived", [])
    keys = {blob_key(sha) for sha in sha256s} | set(derived if isinstance(derived, list) else [])
    for key in sorted(keys):
        try:
            if store.stat(key, any_version=True) is not None:
                yield f"destroyed document {document_id}: {key} is still in the store"
        except BlobStoreUnavailable as exc:
            yield f"destroyed document {document_id}: cannot check {key}: {exc}"
