"""S3 Object Lock for retention and legal holds: each stored original is locked until its
statutory retention duty ends and carries its legal holds as the store's legal-hold flag, so the
store itself refuses a deletion before its time, whoever asks for it.

`sync` applies what changed since it last ran; `object_locks` records what it applied. Locks
are only ever extended (S3 refuses to shorten them without a bypass, and nothing here sends one),
so they never go past what the law requires: a class without a statutory basis and the archive's
own extensions get no lock, or an erasure request or a corrected date could never be honoured.
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

from app.audit.service import record
from app.config import ObjectLockMode, Settings
from app.db import session_scope, utcnow
from app.documents.models import DocumentVersion
from app.locks import lock_key, only_one
from app.retention import holds, repository
from app.retention.models import DocumentRetention, ObjectLock
from app.retention.rules import Status
from app.retention.service import statutory
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable

log = logging.getLogger(__name__)

SYNC_CHUNK = 200
SYNC_THREADS = 8
SYNC_ACTOR = "retention"
_SYNC = ("retention", "object-lock sync")
SYNC_LOCK = lock_key(*_SYNC)


@dataclass
class SyncReport:
    active: bool = False
    """Object Lock is on and the bucket supports it; otherwise nothing was looked at."""
    running_elsewhere: bool = False
    """Another sync (the periodic job or the CLI) was running: this one did nothing."""
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
    with only_one(factory, *_SYNC) as alone:
        if not alone:
            report.running_elsewhere = True
            return report
        _refresh_holds(factory)
        _sync_versions(factory, store, settings.s3_object_lock_mode, limit, report)
    return report


def _refresh_holds(factory: sessionmaker[Session]) -> None:
    """Documents that started to match a hold's search since it was placed are held too."""
    with session_scope(factory) as session:
        holds.lock_holds(session, shared=False)
        holds.refresh_all_search_scopes(session)


def _sync_versions(
    factory: sessionmaker[Session],
    store: BlobStore,
    mode: ObjectLockMode,
    limit: int,
    report: SyncReport,
) -> None:
    """Chunk by chunk in version order, each chunk starting after the last one's end: a
    version the store refused is not asked again in this run."""
    bases = _statutory_bases(factory)
    after: uuid.UUID | None = None
    while limit > 0 and (changes := _pending(factory, mode, bases, after, min(SYNC_CHUNK, limit))):
        limit -= len(changes)
        after = changes[-1].version_id
        with ThreadPoolExecutor(max_workers=SYNC_THREADS) as pool:
            outcomes = list(pool.map(lambda change: _apply(store, change, mode), changes))
        problems = {c: p for c, p in zip(changes, outcomes, strict=True) if p is not None}
        report.failed.update({c.blob_key: p for c, p in problems.items()})
        _record(factory, changes, problems, mode, report)


def _statutory_bases(factory: sessionmaker[Session]) -> list[str]:
    """The retention bases that cite a statute: only a legal duty may outlast an erasure
    request or a corrected date, and a COMPLIANCE lock outlasts everything."""
    with session_scope(factory) as session:
        bases = session.scalars(select(DocumentRetention.basis).distinct())
        return [basis for basis in bases if statutory(basis)]


def _pending(
    factory: sessionmaker[Session],
    mode: ObjectLockMode,
    bases: Collection[str],
    after: uuid.UUID | None,
    limit: int,
) -> list[_Change]:
    query = pending_changes(mode, repository.today(), statutory_bases=bases)
    if after is not None:
        query = query.where(DocumentVersion.id > after)
    with session_scope(factory) as session:
        return [_Change(*row) for row in session.execute(query.limit(limit))]


def pending_changes(
    mode: ObjectLockMode, today: date, *, statutory_bases: Collection[str]
) -> Select[Any]:
    """Versions whose object needs a later lock (a dated retention not yet locked that far),
    a stronger mode, or a legal-hold flag other than the one recorded."""
    wanted_until = case((_lockable(today, statutory_bases), _legal_until()))
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


def _legal_until() -> ColumnElement[date]:
    """The end of the legal duty: the rule's period, never the archive's own extension."""
    return func.least(DocumentRetention.retain_until, DocumentRetention.computed_until)


def _lockable(today: date, statutory_bases: Collection[str]) -> ColumnElement[bool]:
    # LEAST skips NULLs: both dates must be there, or the lock would run to the one left.
    return and_(
        DocumentRetention.status == Status.dated,
        DocumentRetention.basis.in_(list(statutory_bases)),
        DocumentRetention.retain_until.is_not(None),
        DocumentRetention.computed_until.is_not(None),
        _legal_until() >= today,
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
    factory: sessionmaker[Session],
    changes: list[_Change],
    problems: dict[_Change, str],
    mode: ObjectLockMode,
    report: SyncReport,
) -> None:
    applied = [change for change in changes if change not in problems]
    with session_scope(factory) as session:
        rows = [_row(c, mode) for c in _still_stored(session, applied)]
        if rows:
            _upsert(session, rows)
        _audit(session, applied, problems, mode)
    for change in applied:
        report.locked += change.lock_until is not None
        report.held += change.legal_hold is True
        report.released += change.legal_hold is False


def _still_stored(session: Session, changes: list[_Change]) -> list[_Change]:
    """Key-share locks keep the versions from being deleted (destroyed) under the insert."""
    if not changes:
        return []
    existing = set(
        session.scalars(
            select(DocumentVersion.id)
            .where(DocumentVersion.id.in_([c.version_id for c in changes]))
            .with_for_update(key_share=True)
        )
    )
    return [change for change in changes if change.version_id in existing]


def _upsert(session: Session, rows: list[dict[str, Any]]) -> None:
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


def _audit(
    session: Session, applied: list[_Change], problems: dict[_Change, str], mode: ObjectLockMode
) -> None:
    """One event per chunk: a COMPLIANCE lock cannot be undone by anyone, so each one is in
    the audit trail; so is a change the store did not take (part of it may have been)."""
    record(
        session,
        actor=SYNC_ACTOR,
        action="retention.object_lock_synced",
        details={
            "mode": mode.value,
            "locked": [
                {"version": str(c.version_id), "until": c.lock_until.isoformat()}
                for c in applied
                if c.lock_until is not None
            ],
            "held": [str(c.version_id) for c in applied if c.legal_hold is True],
            "released": [str(c.version_id) for c in applied if c.legal_hold is False],
            "failed": [
                {"version": str(c.version_id), "problem": problem}
                for c, problem in problems.items()
            ],
        },
    )


def _row(change: _Change, mode: ObjectLockMode) -> dict[str, Any]:
    locked = change.lock_until is not None
    return {
        "version_id": change.version_id,
        "locked_until": change.lock_until if locked else change.recorded_until,
        "mode": mode.value if locked else change.recorded_mode,
        "legal_hold": change.recorded_hold if change.legal_hold is None else change.legal_hold,
        "synced_at": utcnow(),
    }
