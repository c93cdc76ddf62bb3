"""`docarchive verify`: an fsck for the archive, safe to run on a live system.

Checks that every version's blob exists with its size and (unless skipped) its SHA-256, that
no blob older than the grace period is left without a version, that every page preview a
page points at exists, that the audit chain is intact, the retention invariants
(`app.retention.verify`), and lists the documents the fixity job flagged (`app.reliability`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from app.audit.chain import derive_audit_key
from app.audit.verify import verify_chain
from app.config import Settings
from app.db import session_scope
from app.documents.models import DocumentPage, DocumentVersion
from app.reliability import fixity
from app.retention.verify import retention_problems
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable
from app.storage.base import BlobCorrupt, sha256_of_key, verify_blob

BATCH = 1000


@dataclass
class VerifyReport:
    versions_checked: int = 0
    problems: list[str] = field(default_factory=list)
    orphan_blobs: list[str] = field(default_factory=list)
    audit_events: int = 0
    fixity: str = ""  # the fixity job's last run and what it has not read yet

    @property
    def ok(self) -> bool:
        return not self.problems and not self.orphan_blobs


@dataclass(frozen=True, slots=True)
class _Version:
    id: uuid.UUID
    document_id: uuid.UUID
    number: int
    sha256: str
    size: int
    blob_key: str


def verify_archive(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    *,
    check_hashes: bool = True,
) -> VerifyReport:
    report = VerifyReport()
    for version in _versions(factory):
        report.versions_checked += 1
        problem = _check_version(store, version, check_hashes=check_hashes)
        if problem:
            report.problems.append(problem)
    report.problems += _missing_previews(factory, store)
    report.orphan_blobs = _orphans(factory, store, timedelta(seconds=settings.gc_grace_seconds))
    _check_audit(factory, settings, report)
    report.problems += retention_problems(factory, store)
    report.problems += fixity.flagged(factory)
    report.fixity = fixity.coverage(factory)
    return report


def _versions(factory: sessionmaker[Session]) -> Iterator[_Version]:
    """All versions in id order, a batch per short transaction (constant memory, live-safe)."""
    after: uuid.UUID | None = None
    while True:
        with session_scope(factory) as session:
            query = select(DocumentVersion).order_by(DocumentVersion.id).limit(BATCH)
            if after is not None:
                query = query.where(DocumentVersion.id > after)
            batch = [
                _Version(v.id, v.document_id, v.number, v.sha256, v.size, v.blob_key)
                for v in session.scalars(query)
            ]
        if not batch:
            return
        yield from batch
        after = batch[-1].id


def _check_version(store: BlobStore, version: _Version, *, check_hashes: bool) -> str | None:
    where = f"document {version.document_id} version {version.number} ({version.blob_key})"
    try:
        info = store.stat(version.blob_key)
        if info is None:
            return f"{where}: the blob is missing"
        if info.size != version.size:
            return f"{where}: the blob has {info.size} bytes, {version.size} recorded"
        if check_hashes:
            verify_blob(store, sha256=version.sha256, size=version.size)
    except BlobMissing:
        return f"{where}: the blob is missing"
    except BlobCorrupt:
        return f"{where}: the blob no longer matches its SHA-256"
    except BlobStoreUnavailable as exc:
        return f"{where}: the blob store failed: {exc}"
    return None


def _missing_previews(factory: sessionmaker[Session], store: BlobStore) -> list[str]:
    with session_scope(factory) as session:
        keys = session.scalars(
            select(DocumentPage.preview_key).where(DocumentPage.preview_key.is_not(None))
        ).all()
    return [f"page preview {key} is missing" for key in keys if key and store.stat(key) is None]


def _orphans(factory: sessionmaker[Session], store: BlobStore, grace: timedelta) -> list[str]:
    cutoff = datetime.now(UTC) - grace
    old = {
        sha: info.key
        for info in store.iter_blobs()
        if (sha := sha256_of_key(info.key)) and info.modified_at < cutoff
    }
    if not old:
        return []
    with session_scope(factory) as session:
        held = set(
            session.scalars(select(DocumentVersion.sha256).where(DocumentVersion.sha256.in_(old)))
        )
    return sorted(key for sha, key in old.items() if sha not in held)


def _check_audit(factory: sessionmaker[Session], settings: Settings, report: VerifyReport) -> None:
    key = derive_audit_key(settings.secret_key.get_secret_value())
    with session_scope(factory) as session:
        chain = verify_chain(session, key=key)
    report.audit_events = chain.events
    if chain.first_break is not None:
        brk = chain.first_break
        report.problems.append(f"audit chain broken at event {brk.id} ({brk.kind}): {brk.detail}")
