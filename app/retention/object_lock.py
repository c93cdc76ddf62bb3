"""S3 Object Lock for retention and legal holds: each stored original carries its document's
retention date as a lock and its legal holds as the store's legal-hold flag, so the store itself
refuses a deletion before its time, whoever asks for it.

`sync` applies what changed since it last ran; `object_locks` records what it applied. Locks
are only ever extended (S3 refuses to shorten them without a bypass, and nothing here sends one).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, false, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from app.config import ObjectLockMode, Settings
from app.db import session_scope, utcnow
from app.documents.models import DocumentVersion
from app.retention import repository
from app.retention.models import DocumentRetention, ObjectLock
from app.retention.rules import Status
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable

log = logging.getLogger(__name__)

SYNC_CHUNK = 200
SYNC_THREADS = 8


@dataclass
class SyncReport:
    active: bool = False
    """Object Lock is on and the bucket supports it; otherwise nothing was looked at."""
    locked: int = 0
    """Versions whose lock was set or extended."""
    held: int = 0
    released: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    """Object key → why the store did not take the change (tried again next run)."""


@dataclass(frozen=True, slots=True)
class _Change:
    """What one version's object must get: a later lock date, a legal-hold flag, or both."""

    version_id: uuid.UUID
    blob_key: str
    lock_until: date | None
    legal_hold: bool | None
    recorded_until: date | None
    recorded_mode: str | None
    recorded_hold: bool


def lock_end(retain_until: date) -> datetime:
    """The lock ends when the retention date's day ends in Poland: destruction may start the
    day after `retain_until` (Polish calendar), the moment the lock lets go."""
    next_day = datetime.combine(retain_until + timedelta(days=1), time.min, repository.WARSAW)
    return next_day.astimezone(UTC)


def sync(
    factory: sessionmaker[Session], store: BlobStore, settings: Settings, *, limit: int = 10_000
) -> SyncReport:
    """Apply to the store up to `limit` versions' changed locks and holds, and record them."""
    report = SyncReport(active=settings.s3_object_lock and store.object_lock_active())
    if not report.active:
        return report
    mode = settings.s3_object_lock_mode
    failed: set[uuid.UUID] = set()
    while limit > 0 and (changes := _pending(factory, mode, min(SYNC_CHUNK, limit), failed)):
        limit -= len(changes)
        with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
            outcomes = list(pool.map(lambda change: _apply(store, change, mode), changes))
        for change, problem in zip(changes, outcomes, strict=True):
            if problem is not None:
                failed.add(change.version_id)
                report.failed[change.blob_key] = problem
        _record(factory, [c for c in changes if c.version_id not in failed], mode, report)
    return report


def _pending(
    factory: sessionmaker[Session], mode: ObjectLockMode, limit: int, skip: Collection[uuid.UUID]
) -> list[_Change]:
    query = pending_changes(mode, repository.today())
    if skip:
        query = query.where(DocumentVersion.id.not_in(list(skip)))
    with session_scope(factory) as session:
        return [_Change(*row) for row in session.execute(query.limit(limit))]


def pending_changes(mode: ObjectLockMode, today: date) -> Select[Any]:
    """Versions whose object needs a later lock (a dated retention not yet locked that far),
    a stronger mode, or a legal-hold flag other than the one recorded."""
    wanted_until = case(
        (
            and_(DocumentRetention.status == Status.dated, DocumentRetention.retain_until >= today),
            DocumentRetention.retain_until,
        )
    )
    extend = and_(
        wanted_until.is_not(None),
        or_(
            ObjectLock.locked_until.is_(None),
            wanted_until > ObjectLock.locked_until,
            _stronger(mode),
        ),
    )
    held = DocumentVersion.document_id.in_(repository.held_ids())
    recorded_hold = func.coalesce(ObjectLock.legal_hold, false())
    return (
        select(
            DocumentVersion.id,
            DocumentVersion.blob_key,
            case((extend, wanted_until)),
            case((held != recorded_hold, held)),
            ObjectLock.locked_until,
            ObjectLock.mode,
            recorded_hold,
        )
        .outerjoin(DocumentRetention, DocumentRetention.document_id == DocumentVersion.document_id)
        .outerjoin(ObjectLock, ObjectLock.version_id == DocumentVersion.id)
        .where(or_(extend, held != recorded_hold))
        .order_by(DocumentVersion.id)
    )


def _stronger(mode: ObjectLockMode) -> ColumnElement[bool]:
    """Switching to COMPLIANCE upgrades existing locks; S3 allows no way back."""
    if mode is ObjectLockMode.compliance:
        return func.coalesce(ObjectLock.mode, "") != ObjectLockMode.compliance.value
    return false()


def _apply(store: BlobStore, change: _Change, mode: ObjectLockMode) -> str | None:
    """Set the change on the stored object (no transaction open); the problem, if any."""
    try:
        if change.lock_until is not None:
            store.retain(change.blob_key, until=lock_end(change.lock_until), mode=mode.value)
        if change.legal_hold is not None:
            store.set_legal_hold(change.blob_key, on=change.legal_hold)
    except BlobMissing:
        return "not in the store"
    except BlobStoreUnavailable as exc:
        log.warning("object lock of %s not applied: %s", change.blob_key, exc)
        return str(exc)
    return None


def _record(
    factory: sessionmaker[Session], changes: list[_Change], mode: ObjectLockMode, report: SyncReport
) -> None:
    if not changes:
        return
    with session_scope(factory) as session:
        # Key-share locks keep the versions from being deleted (destroyed) under the insert.
        existing = set(
            session.scalars(
                select(DocumentVersion.id)
                .where(DocumentVersion.id.in_([c.version_id for c in changes]))
                .with_for_update(key_share=True)
            )
        )
        rows = [_row(c, mode) for c in changes if c.version_id in existing]
        if rows:
            statement = insert(ObjectLock).values(rows)
            session.execute(
                statement.on_conflict_do_update(
                    index_elements=[ObjectLock.version_id],
                    set_={
                        "locked_until": func.greatest(
                            ObjectLock.locked_until, statement.excluded.locked_until
                        ),
                        "mode": statement.excluded.mode,
                        "legal_hold": statement.excluded.legal_hold,
                        "synced_at": statement.excluded.synced_at,
                    },
                )
            )
    for change in changes:
        report.locked += change.lock_until is not None
        report.held += change.legal_hold is True
        report.released += change.legal_hold is False


def _row(change: _Change, mode: ObjectLockMode) -> dict[str, Any]:
    locked = change.lock_until is not None
    return {
        "version_id": change.version_id,
        "locked_until": change.lock_until if locked else change.recorded_until,
        "mode": mode.value if locked else change.recorded_mode,
        "legal_hold": change.recorded_hold if change.legal_hold is None else change.legal_hold,
        "synced_at": utcnow(),
    }
