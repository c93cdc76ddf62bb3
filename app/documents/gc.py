"""Garbage collection: blobs no version points at, and temporary files of dead uploads.

A blob is written before the transaction that records it; when that transaction fails the
blob stays behind. After a grace period it is removed here, under the same per-content lock
an upload holds, so a concurrent upload of the same bytes can never lose its blob.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from app.db import session_scope
from app.documents.models import DocumentVersion, IdempotentRequest
from app.documents.upload import TEMP_SUFFIX
from app.locks import lock_blob
from app.storage import BlobInfo, BlobStore
from app.storage.base import sha256_of_key

BATCH = 500
IDEMPOTENCY_TTL = timedelta(days=1)


@dataclass
class GcReport:
    blobs_seen: int = 0
    blobs_removed: list[str] = field(default_factory=list)
    temp_files_removed: int = 0
    idempotency_records_removed: int = 0


def collect_garbage(
    factory: sessionmaker[Session],
    store: BlobStore,
    *,
    tmp_dirs: Iterable[Path],
    grace: timedelta,
) -> GcReport:
    report = GcReport()
    cutoff = datetime.now(UTC) - grace
    for batch in _batches(store.iter_blobs()):
        report.blobs_seen += len(batch)
        old = {
            sha: info
            for info in batch
            if (sha := sha256_of_key(info.key)) and info.modified_at < cutoff
        }
        for sha in _unreferenced(factory, old):
            if _remove_if_orphan(factory, store, sha, old[sha].key):
                report.blobs_removed.append(old[sha].key)
    report.temp_files_removed = _remove_stale_temp_files(tmp_dirs, grace)
    report.idempotency_records_removed = _expire_idempotency_records(factory)
    return report


def _expire_idempotency_records(factory: sessionmaker[Session]) -> int:
    """Retries come within minutes; a day later a key no longer needs its stored answer."""
    cutoff = datetime.now(UTC) - IDEMPOTENCY_TTL
    with session_scope(factory) as session:
        result = session.execute(
            delete(IdempotentRequest).where(IdempotentRequest.created_at < cutoff)
        )
        return int(getattr(result, "rowcount", 0))


def _batches(blobs: Iterator[BlobInfo]) -> Iterator[list[BlobInfo]]:
    batch: list[BlobInfo] = []
    for info in blobs:
        batch.append(info)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _unreferenced(factory: sessionmaker[Session], candidates: dict[str, BlobInfo]) -> set[str]:
    if not candidates:
        return set()
    with factory() as session:
        query = select(DocumentVersion.sha256).where(DocumentVersion.sha256.in_(candidates))
        return set(candidates) - set(session.scalars(query))


def _remove_if_orphan(
    factory: sessionmaker[Session], store: BlobStore, sha256: str, key: str
) -> bool:
    with session_scope(factory) as session:
        lock_blob(session, sha256)
        referenced = session.scalar(
            select(DocumentVersion.id).where(DocumentVersion.sha256 == sha256).limit(1)
        )
        if referenced is not None:
            return False
        store.delete(key)
    return True


def _remove_stale_temp_files(tmp_dirs: Iterable[Path], grace: timedelta) -> int:
    cutoff = time.time() - grace.total_seconds()
    removed = 0
    for directory in tmp_dirs:
        if not directory.is_dir():
            continue
        for path in directory.iterdir():
            if path.is_file() and _is_temp(path) and path.stat().st_mtime < cutoff:
                path.unlink(missing_ok=True)
                removed += 1
    return removed


def _is_temp(path: Path) -> bool:
    return path.name.endswith(TEMP_SUFFIX) or path.parent.name == ".staging"
