"""Disposal batches: collecting what is due, review, approval, and destruction.

Destruction of a chunk of items runs in three steps, each safe to die after:
1. claim (one transaction): re-check each item (not held, still due, circulation finished),
   write the manifest of what will be destroyed (version blobs, previews, thumbnails) into
   the item and mark it `destroying`;
2. delete the manifest's objects from the store (originals first, then derived objects);
3. bury (one transaction): check every object is gone, delete the rows (fields, pages, search
   entry, versions, document), write the tombstone, mark the item `destroyed`, audit.
A rerun picks up `destroying` items at step 2. So there is never a tombstone while content
exists (step 3 checks), and never content without its rows (rows go last); between 2 and 3
rows may point at deleted objects, only for items marked `destroying`.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Select, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import record
from app.config import Settings
from app.db import session_scope, utcnow
from app.documents import service as documents
from app.documents.models import Document, DocumentField, DocumentPage, DocumentVersion
from app.documents.upload import spool_path
from app.locks import advisory_xact_lock
from app.retention import holds, protocol, repository
from app.retention.models import (
    BatchKind,
    BatchStatus,
    DisposalBatch,
    DisposalItem,
    DocumentRetention,
    HeldDocument,
    ItemState,
    Tombstone,
)
from app.retention.policies import PROTOCOL_CLASS
from app.retention.rules import Category, Status
from app.security.principal import system_actor
from app.storage import BlobStore, BlobStoreUnavailable
from schemas.documents import MetadataFields

CHUNK = 500
COLLECT_CHUNK = 5000
DELETE_THREADS = 8
RETENTION_ACTOR = "retention"
_CATEGORIES = {
    BatchKind.destruction: (Category.B, Category.Bc),
    BatchKind.expert_review: (Category.BE,),
    BatchKind.transfer: (Category.A,),
}
_DATE_FIELDS = (
    "issue_date", "sale_date", "signing_date", "start_date", "employment_start", "due_date",
    "end_date", "employment_end", "settlement_date",
)  # fmt: skip
OPEN_STATES = (BatchStatus.draft, BatchStatus.awaiting_second_approval, BatchStatus.approved)


# --- collecting -----------------------------------------------------------------------------


def due_query(kind: BatchKind, on: date) -> Select[uuid.UUID]:
    """Documents due for a batch of `kind` on day `on`: past their date, of the kind's
    categories, not held, circulation finished, not already in an open batch."""
    query = select(DocumentRetention.document_id).where(
        DocumentRetention.category.in_(_CATEGORIES[kind]),
        DocumentRetention.due_on < on,
        DocumentRetention.document_id.not_in(repository.held_ids()),
    )
    if kind is not BatchKind.transfer:
        query = query.where(DocumentRetention.status == Status.dated)
    circulating = repository.in_unfinished_circulation()
    if circulating is not None:
        query = query.where(DocumentRetention.document_id.not_in(circulating))
    listed = select(DisposalItem.document_id).join(
        DisposalBatch, DisposalBatch.id == DisposalItem.batch_id
    )
    if kind is BatchKind.transfer:
        listed = listed.where(DisposalBatch.kind == BatchKind.transfer)
    else:
        listed = listed.where(DisposalBatch.status.in_(OPEN_STATES))
    return query.where(DocumentRetention.document_id.not_in(listed)).order_by(
        DocumentRetention.due_on, DocumentRetention.document_id
    )


def due_counts(session: Session, *, on: date | None = None) -> dict[str, int]:
    on = on or repository.today()
    return {
        kind.value: int(
            session.scalar(
                select(func.count()).select_from(due_query(kind, on).order_by(None).subquery())
            )
            or 0
        )
        for kind in BatchKind
    }


def collect(session: Session, *, on: date | None = None) -> dict[BatchKind, DisposalBatch]:
    """Add every due document to the draft batch of its kind (created when there is none)."""
    on = on or repository.today()
    advisory_xact_lock(session, "retention", "collect")
    holds.refresh_all_search_scopes(session)
    batches: dict[BatchKind, DisposalBatch] = {}
    for kind in BatchKind:
        due = list(session.scalars(due_query(kind, on)))
        if due:
            batch = _draft_batch(session, kind)
            _add_items(session, batch, due)
            batches[kind] = batch
    return batches


def _draft_batch(session: Session, kind: BatchKind) -> DisposalBatch:
    existing = session.scalars(
        select(DisposalBatch)
        .where(DisposalBatch.kind == kind, DisposalBatch.status == BatchStatus.draft)
        .order_by(DisposalBatch.created_at)
        .limit(1)
    ).first()
    if existing is not None:
        return existing
    year = repository.today().year
    count = session.scalar(
        select(func.count(DisposalBatch.id)).where(DisposalBatch.number.like(f"{year}/%"))
    )
    batch = DisposalBatch(number=f"{year}/{(count or 0) + 1}", kind=kind, status=BatchStatus.draft)
    session.add(batch)
    session.flush()
    return batch


def _add_items(session: Session, batch: DisposalBatch, document_ids: list[uuid.UUID]) -> None:
    last = session.scalar(
        select(func.coalesce(func.max(DisposalItem.ordinal), 0)).where(
            DisposalItem.batch_id == batch.id
        )
    )
    ordinal = int(last or 0)
    for start in range(0, len(document_ids), COLLECT_CHUNK):
        chunk = document_ids[start : start + COLLECT_CHUNK]
        rows = _item_rows(session, batch.id, chunk, ordinal)
        session.execute(insert(DisposalItem), rows)
        ordinal += len(rows)
    session.flush()


def _item_rows(
    session: Session, batch_id: uuid.UUID, chunk: list[uuid.UUID], ordinal: int
) -> list[dict[str, Any]]:
    described = {
        row.id: row
        for row in session.execute(
            select(
                Document.id,
                Document.title,
                Document.document_class,
                Document.created_at,
                DocumentVersion.original_filename,
                DocumentRetention.retention_class,
                DocumentRetention.symbol,
                DocumentRetention.retain_until,
                DocumentRetention.rule,
            )
            .join(DocumentRetention, DocumentRetention.document_id == Document.id)
            .outerjoin(DocumentVersion, DocumentVersion.id == Document.current_version_id)
            .where(Document.id.in_(chunk))
        )
    }
    dates = _document_dates(session, chunk)
    rows = []
    for document_id in chunk:
        doc = described[document_id]
        known = dates.get(document_id) or [doc.created_at.date()]
        ordinal += 1
        rows.append(
            {
                "id": uuid.uuid4(),
                "batch_id": batch_id,
                "ordinal": ordinal,
                "document_id": document_id,
                "document_class": doc.document_class,
                "retention_class": doc.retention_class,
                "symbol": doc.symbol,
                "title": doc.title or doc.original_filename or str(document_id),
                "date_from": min(known),
                "date_to": max(known),
                "retain_until": doc.retain_until,
                "remarks": None,
                "state": ItemState.pending,
            }
        )
    return rows


def _document_dates(session: Session, chunk: list[uuid.UUID]) -> dict[uuid.UUID, list[date]]:
    """The extreme dates ("daty skrajne") of each document, from its dated fields."""
    dates: dict[uuid.UUID, list[date]] = {}
    for document_id, value in session.execute(
        select(DocumentField.document_id, DocumentField.value).where(
            DocumentField.document_id.in_(chunk), DocumentField.name.in_(_DATE_FIELDS)
        )
    ):
        try:
            dates.setdefault(document_id, []).append(date.fromisoformat(str(value)[:10]))
        except ValueError:
            continue
    return dates


def schedule(
    session: Session, *, document_ids: list[uuid.UUID], remark: str, kind: BatchKind
) -> DisposalBatch:
    """Add these documents (the caller decided they go) to the draft batch of `kind`, each
    item remarked; under the collection's lock, so a concurrent `collect` cannot list them too."""
    advisory_xact_lock(session, "retention", "collect")
    batch = _draft_batch(session, kind)
    last = session.scalar(
        select(func.coalesce(func.max(DisposalItem.ordinal), 0)).where(
            DisposalItem.batch_id == batch.id
        )
    )
    _add_items(session, batch, document_ids)
    session.execute(
        update(DisposalItem)
        .where(DisposalItem.batch_id == batch.id, DisposalItem.ordinal > (last or 0))
        .values(remarks=remark)
    )
    return batch


# --- destroying -----------------------------------------------------------------------------


@dataclass
class DestructionReport:
    destroyed: int = 0
    skipped: int = 0
    refused: dict[str, str] = field(default_factory=dict)
    completed: bool = False
    protocol_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class _Claimed:
    item_id: uuid.UUID
    document_id: uuid.UUID
    originals: tuple[str, ...]
    derived: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        return self.originals + self.derived


def destroy_batch(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    batch_id: uuid.UUID,
    *,
    chunk: int = CHUNK,
) -> DestructionReport:
    """Destroy what an approved batch lists; safe to run again after a crash at any point."""
    store.refresh()
    report = DestructionReport()
    with session_scope(factory) as session:
        batch = session.get(DisposalBatch, batch_id)
        if batch is None or batch.status != BatchStatus.approved:
            return report
        if batch.kind == BatchKind.transfer:
            return report
        holds.lock_holds(session, shared=False)
        holds.refresh_all_search_scopes(session)
    while claimed := _claim(factory, batch_id, chunk, report):
        gone = _delete_content(factory, store, claimed, report)
        _bury(factory, store, batch_id, gone, report)
    started = time.perf_counter()
    report.completed = _complete(factory, store, settings, batch_id)
    report.protocol_seconds = time.perf_counter() - started
    return report


def _claim(
    factory: sessionmaker[Session], batch_id: uuid.UUID, chunk: int, report: DestructionReport
) -> list[_Claimed]:
    with session_scope(factory) as session:
        holds.lock_holds(session, shared=True)
        leftover = _items(session, batch_id, ItemState.destroying, chunk)
        if leftover:
            return [_claimed(item) for item in leftover]
        pending = _items(session, batch_id, ItemState.pending, chunk)
        refusals = _refusals(session, [item.document_id for item in pending])
        manifests = _manifests(
            session, [i.document_id for i in pending if i.document_id not in refusals]
        )
        claimed, changes = [], []
        for item in pending:
            reason = refusals.get(item.document_id)
            if reason is not None:
                changes.append({"id": item.id, "state": ItemState.skipped, "remarks": reason})
                report.skipped += 1
                continue
            content = manifests[item.document_id]
            changes.append({"id": item.id, "state": ItemState.destroying, "content": content})
            claimed.append(_claimed(item, content))
        # One executemany per shape instead of the unit of work's per-object bookkeeping.
        for shape in ("remarks", "content"):
            rows = [change for change in changes if shape in change]
            if rows:
                session.execute(update(DisposalItem), rows)
        return claimed


def _items(
    session: Session, batch_id: uuid.UUID, state: ItemState, limit: int
) -> list[DisposalItem]:
    return list(
        session.scalars(
            select(DisposalItem)
            .where(DisposalItem.batch_id == batch_id, DisposalItem.state == state)
            .order_by(DisposalItem.ordinal)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )


def _claimed(item: DisposalItem, content: dict[str, Any] | None = None) -> _Claimed:
    content = content if content is not None else item.content or {}
    return _Claimed(
        item_id=item.id,
        document_id=item.document_id,
        originals=tuple(v["blob_key"] for v in content.get("versions", [])),
        derived=tuple(content.get("derived", [])),
    )


def _refusals(session: Session, document_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Why each document may not be destroyed now (none: it may)."""
    if not document_ids:
        return {}
    today = repository.today()
    session.execute(
        select(Document.id).where(Document.id.in_(document_ids)).with_for_update()
    ).all()
    rows = {
        row.document_id: row
        for row in session.scalars(
            select(DocumentRetention).where(DocumentRetention.document_id.in_(document_ids))
        )
    }
    held = set(
        session.scalars(repository.held_ids().where(HeldDocument.document_id.in_(document_ids)))
    )
    circulating = repository.in_unfinished_circulation()
    busy = set() if circulating is None else set(session.scalars(circulating))
    refusals = {}
    for document_id in document_ids:
        row = rows.get(document_id)
        if document_id in held:
            refusals[document_id] = "under a legal hold"
        elif document_id in busy:
            refusals[document_id] = "its circulation has not finished"
        elif row is None:
            refusals[document_id] = "the document no longer exists or has no retention date"
        elif row.category not in (Category.B, Category.Bc, Category.BE):
            refusals[document_id] = f"now of category {row.category}"
        elif row.status != Status.dated or row.retain_until is None:
            refusals[document_id] = f"retention is now {row.status}"
        elif row.retain_until >= today:
            refusals[document_id] = f"now retained until {row.retain_until.isoformat()}"
    return refusals


def _manifests(session: Session, document_ids: list[uuid.UUID]) -> dict[uuid.UUID, dict[str, Any]]:
    """What destroying each document removes: its versions' blobs, thumbnails and previews."""
    manifests: dict[uuid.UUID, dict[str, Any]] = {
        d: {"versions": [], "derived": []} for d in document_ids
    }
    owner: dict[uuid.UUID, uuid.UUID] = {}
    versions = session.execute(
        select(
            DocumentVersion.id, DocumentVersion.document_id, DocumentVersion.number,
            DocumentVersion.sha256, DocumentVersion.blob_key, DocumentVersion.thumbnail_key,
        )
        .where(DocumentVersion.document_id.in_(document_ids))
        .order_by(DocumentVersion.document_id, DocumentVersion.number)
    )  # fmt: skip
    for version_id, document_id, number, sha256, key, thumbnail in versions:
        owner[version_id] = document_id
        manifest = manifests[document_id]
        manifest["versions"].append(
            {"id": str(version_id), "number": number, "sha256": sha256, "blob_key": key}
        )
        if thumbnail:
            manifest["derived"].append(thumbnail)
    previews = session.execute(
        select(DocumentPage.version_id, DocumentPage.preview_key).where(
            DocumentPage.version_id.in_(list(owner)), DocumentPage.preview_key.is_not(None)
        )
    )
    for version_id, preview in previews:
        manifests[owner[version_id]]["derived"].append(preview)
    for manifest in manifests.values():
        manifest["derived"] = sorted(set(manifest["derived"]))
    return manifests


def _delete_content(
    factory: sessionmaker[Session],
    store: BlobStore,
    claimed: list[_Claimed],
    report: DestructionReport,
) -> list[_Claimed]:
    """Delete each item's objects, originals first; items the store refused are marked.
    Items go in parallel: each delete is a round trip (S3) or a synchronous unlink."""
    with ThreadPoolExecutor(max_workers=DELETE_THREADS) as pool:
        refusals = list(pool.map(lambda item: _delete_objects(store, item), claimed))
    refused = {c.item_id: r for c, r in zip(claimed, refusals, strict=True) if r is not None}
    if refused:
        _mark_refused(factory, refused, report)
    return [c for c in claimed if c.item_id not in refused]


def _delete_objects(store: BlobStore, item: _Claimed) -> str | None:
    """Originals first, all of them or none: the store checks every version of every key for
    its Object Lock before it deletes any (BlobLocked), so a refused item keeps its bytes."""
    try:
        store.check_deletable(item.keys)
        for key in item.keys:
            store.delete(key)
    except (BlobStoreUnavailable, OSError) as exc:
        return f"the store refused to delete: {exc}"
    return None


def _mark_refused(
    factory: sessionmaker[Session], refused: dict[uuid.UUID, str], report: DestructionReport
) -> None:
    with session_scope(factory) as session:
        for item_id, reason in refused.items():
            item = session.get(DisposalItem, item_id, with_for_update=True)
            if item is not None and item.state == ItemState.destroying:
                item.state, item.remarks = ItemState.refused, reason
                report.refused[str(item.document_id)] = reason


def _bury(
    factory: sessionmaker[Session],
    store: BlobStore,
    batch_id: uuid.UUID,
    gone: list[_Claimed],
    report: DestructionReport,
) -> None:
    if not gone:
        return
    with session_scope(factory) as session:
        batch = session.get(DisposalBatch, batch_id)
        assert batch is not None
        items = {
            item.id: item
            for item in session.scalars(
                select(DisposalItem)
                .where(DisposalItem.id.in_([c.item_id for c in gone]))
                .with_for_update()
            )
        }
        current = _manifests(session, [c.document_id for c in gone])
        with ThreadPoolExecutor(max_workers=DELETE_THREADS) as pool:
            present = dict(zip(gone, pool.map(lambda c: _present(store, c), gone), strict=True))
        ready = [
            c
            for c in gone
            if _ready(items[c.item_id], c, current[c.document_id], present[c], report)
        ]
        if ready:
            _destroy_rows(session, batch, [items[c.item_id] for c in ready])
            report.destroyed += len(ready)


def _present(store: BlobStore, claimed: _Claimed) -> list[str]:
    """Any version counts: in a versioned bucket a version behind a delete marker still holds
    the bytes."""
    return [key for key in claimed.keys if store.stat(key, any_version=True) is not None]


def _ready(
    item: DisposalItem,
    claimed: _Claimed,
    current: dict[str, Any],
    remaining: list[str],
    report: DestructionReport,
) -> bool:
    """Still ours, nothing new since the claim (a new version is added to the manifest and
    destroyed in the next round), and every object really gone."""
    if item.state != ItemState.destroying:
        return False
    known = set(claimed.keys)
    if not {v["blob_key"] for v in current["versions"]} | set(current["derived"]) <= known:
        item.content = _merged(item.content or {}, current)
        return False
    if remaining:
        item.state, item.remarks = ItemState.refused, f"still in the store: {remaining[0]}"
        report.refused[str(item.document_id)] = item.remarks
        return False
    return True


def _merged(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    versions = {v["blob_key"]: v for v in [*old.get("versions", []), *new["versions"]]}
    return {
        "versions": list(versions.values()),
        "derived": sorted({*old.get("derived", []), *new["derived"]}),
    }


def _destroy_rows(session: Session, batch: DisposalBatch, items: list[DisposalItem]) -> None:
    ids = [item.document_id for item in items]
    documents_by_id = {
        row.id: row
        for row in session.execute(
            select(Document.id, Document.document_class, Document.created_at).where(
                Document.id.in_(ids)
            )
        )
    }
    retention = {
        r.document_id: r
        for r in session.scalars(
            select(DocumentRetention).where(DocumentRetention.document_id.in_(ids))
        )
    }
    approvers = [a for a in (batch.approved_by, batch.second_approved_by) if a]
    now = utcnow()
    tombstones = [
        _tombstone(item, documents_by_id[item.document_id], retention.get(item.document_id),
                   batch, approvers, now)
        for item in items
        if item.document_id in documents_by_id
    ]  # fmt: skip
    session.execute(
        update(DisposalItem)
        .where(DisposalItem.id.in_([item.id for item in items]))
        .values(state=ItemState.destroyed)
    )
    _delete_document_rows(session, ids)
    if tombstones:
        session.execute(insert(Tombstone), tombstones)
    _audit_destroyed(session, batch, tombstones, approvers)


def _audit_destroyed(
    session: Session, batch: DisposalBatch, tombstones: list[dict[str, Any]], approvers: list[str]
) -> None:
    """One event per chunk, naming every document and the hashes of what was destroyed: a
    chained event costs a round trip under the chain lock, 500 of them would be most of the
    destruction's time; a document's own history is its tombstone."""
    if not tombstones:
        return
    record(
        session,
        actor=RETENTION_ACTOR,
        action="retention.documents_destroyed",
        details={
            "batch": batch.number,
            "approvers": approvers,
            "documents": [
                {"id": str(row["document_id"]), "sha256": row["sha256s"]} for row in tombstones
            ],
        },
    )


def _tombstone(
    item: DisposalItem,
    document: Any,
    retention: DocumentRetention | None,
    batch: DisposalBatch,
    approvers: list[str],
    now: Any,
) -> dict[str, Any]:
    versions = (item.content or {}).get("versions", [])
    return {
        "document_id": document.id,
        "document_class": document.document_class,
        "title": item.title,
        "retention_class": item.retention_class,
        "symbol": item.symbol,
        "rule": "" if retention is None else retention.rule,
        "basis": "" if retention is None else retention.basis,
        "uploaded_at": document.created_at,
        "retain_until": None if retention is None else retention.retain_until,
        "destroyed_at": now,
        "sha256s": [v["sha256"] for v in versions],
        "batch_id": batch.id,
        "item_id": item.id,
        "approvers": approvers,
    }


def _delete_document_rows(session: Session, ids: Sequence[uuid.UUID]) -> None:
    """Fields, pages, versions and the document; the search entry, grants, circulation and
    retention rows go with the document (ON DELETE CASCADE)."""
    versions = select(DocumentVersion.id).where(DocumentVersion.document_id.in_(ids))
    session.execute(delete(DocumentField).where(DocumentField.document_id.in_(ids)))
    session.execute(delete(DocumentPage).where(DocumentPage.version_id.in_(versions)))
    session.execute(update(Document).where(Document.id.in_(ids)).values(current_version_id=None))
    session.execute(delete(DocumentVersion).where(DocumentVersion.document_id.in_(ids)))
    session.execute(delete(Document).where(Document.id.in_(ids)))


# --- completing -----------------------------------------------------------------------------


def _complete(
    factory: sessionmaker[Session], store: BlobStore, settings: Settings, batch_id: uuid.UUID
) -> bool:
    with session_scope(factory) as session:
        batch = session.get(DisposalBatch, batch_id, with_for_update=True)
        if batch is None or batch.status != BatchStatus.approved:
            return batch is not None and batch.status == BatchStatus.completed
        unfinished = session.scalar(
            select(func.count(DisposalItem.id)).where(
                DisposalItem.batch_id == batch_id,
                DisposalItem.state.in_([ItemState.pending, ItemState.destroying]),
            )
        )
        if unfinished:
            return False
        batch.completed_at = utcnow()
        batch.status = BatchStatus.completed
        batch.protocol_document_id = _archive_protocol(session, store, settings, batch)
        record(
            session,
            actor=RETENTION_ACTOR,
            action="retention.batch_completed",
            details={"batch": batch.number, "protocol": str(batch.protocol_document_id)},
        )
    return True


def batch_items(session: Session, batch_id: uuid.UUID) -> list[DisposalItem]:
    return list(
        session.scalars(
            select(DisposalItem)
            .where(DisposalItem.batch_id == batch_id)
            .order_by(DisposalItem.ordinal)
        )
    )


def tombstones_of(session: Session, batch_id: uuid.UUID) -> list[Tombstone]:
    return list(session.scalars(select(Tombstone).where(Tombstone.batch_id == batch_id)))


def _archive_protocol(
    session: Session, store: BlobStore, settings: Settings, batch: DisposalBatch
) -> uuid.UUID:
    """The protocol is itself a document (class disposal_protocol, category A)."""
    items = batch_items(session, batch.id)
    pdf = protocol.batch_pdf(batch, items, tombstones_of(session, batch.id), protocol=True)
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=settings.tmp_dir) as tmp:
        path = Path(tmp) / f"protokol-brakowania-{batch.number.replace('/', '-')}.pdf"
        path.write_bytes(pdf)
        spooled = spool_path(path, tmp_dir=settings.tmp_dir, max_bytes=settings.max_upload_bytes)
        try:
            accepted = documents.ingest_document(
                session,
                store=store,
                upload=spooled,
                fields=MetadataFields(
                    title=protocol.title_of(batch, protocol=True),
                    document_class=PROTOCOL_CLASS,
                    tags=["disposal-protocol"],
                    external_reference=f"disposal-batch:{batch.id}",
                ),
                actor=system_actor(RETENTION_ACTOR),
            )
        finally:
            spooled.path.unlink(missing_ok=True)
    return accepted.id


def pending_batches(session: Session) -> list[uuid.UUID]:
    """Approved batches whose destruction has not finished (for `purge --run` and the job)."""
    return list(
        session.scalars(
            select(DisposalBatch.id)
            .where(
                DisposalBatch.status == BatchStatus.approved,
                DisposalBatch.kind != BatchKind.transfer,
            )
            .order_by(DisposalBatch.created_at)
        )
    )


def counts(session: Session, batch_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, dict[str, int]]:
    out: dict[uuid.UUID, dict[str, int]] = {}
    for batch_id, state, n in session.execute(
        select(DisposalItem.batch_id, DisposalItem.state, func.count())
        .where(DisposalItem.batch_id.in_(list(batch_ids)))
        .group_by(DisposalItem.batch_id, DisposalItem.state)
    ):
        out.setdefault(batch_id, {})[state] = n
    return out
