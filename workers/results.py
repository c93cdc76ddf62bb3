"""Writing a processing outcome (or failure) in one transaction, idempotently.

Pages of the version are replaced, extracted fields are replaced except the ones a person
entered (source `manual`), and the status and audit event are written with them.
"""

from __future__ import annotations

import hashlib
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.circulation import service as circulation
from app.db import session_scope
from app.documents import repository
from app.documents.models import (
    Document,
    DocumentField,
    DocumentPage,
    DocumentStatus,
    DocumentVersion,
)
from app.documents.service import set_status
from app.retention import service as retention
from app.search.index import index_document
from app.security.principal import system_actor
from app.storage import BlobStore
from workers.extract.fields import ExtractedField, FieldSource
from workers.readers import Outcome
from workers.runtime import Runtime

WORKER_ACTOR = "worker"


def derived_key(version_id: uuid.UUID, name: str, data: bytes) -> str:
    """Previews and thumbnails: derived objects, destroyed with their document. The digest in
    the name makes a changed preview a new object instead of a silent no-op on stores that
    keep what a key already holds."""
    return f"derived/{version_id}/{name}-{hashlib.sha256(data).hexdigest()[:16]}"


def _put_bytes(store: BlobStore, key: str, data: bytes, tmp_dir: Path) -> None:
    tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=tmp_dir, suffix=".part") as handle:
        handle.write(data)
        handle.flush()
        store.put(key, Path(handle.name), size=len(data))


def _store_previews(runtime: Runtime, version_id: uuid.UUID, outcome: Outcome) -> dict[str, str]:
    keys: dict[str, str] = {}
    tmp_dir = runtime.settings.tmp_dir
    if outcome.thumbnail is not None:
        keys["thumbnail"] = derived_key(version_id, "thumbnail", outcome.thumbnail)
        _put_bytes(runtime.store, keys["thumbnail"], outcome.thumbnail, tmp_dir)
    for number, preview in enumerate(outcome.previews, start=1):
        keys[f"page-{number}"] = derived_key(version_id, f"page-{number:04d}", preview)
        _put_bytes(runtime.store, keys[f"page-{number}"], preview, tmp_dir)
    return keys


def save(runtime: Runtime, document_id: uuid.UUID, version_id: uuid.UUID, outcome: Outcome) -> None:
    previews = _store_previews(runtime, version_id, outcome)
    with session_scope(runtime.sessionmaker) as session:
        document = session.get(Document, document_id, with_for_update=True)
        if not _still_ours(document, version_id):
            return
        assert document is not None
        version = session.get(DocumentVersion, version_id)
        assert version is not None
        _replace_pages(session, version, outcome, previews)
        manual = _replace_fields(session, document, version_id, outcome.fields)
        _record_version_facts(version, outcome, previews)
        _record_class(session, document, outcome)
        set_status(document, DocumentStatus.processed)
        # searchable the moment the status says processed: same transaction
        index_document(session, document.id)
        retention.recompute(session, document_id=document.id, actor=WORKER_ACTOR)
        record(
            session,
            actor=WORKER_ACTOR,
            action="document.processed",
            document_id=document.id,
            version_id=version_id,
            details={
                "pages": len(outcome.pages),
                "sources": sorted({p.source for p in outcome.pages}),
                "fields": len(outcome.fields),
                "manual_fields_kept": sorted(manual),
                "class": document.document_class,
                "detected_class": outcome.detected_class,
            },
        )
        if runtime.settings.auto_circulation:
            circulation.start_if_defined(
                session, document_id=document.id, actor=system_actor(WORKER_ACTOR)
            )


def _replace_pages(
    session: Session, version: DocumentVersion, outcome: Outcome, previews: dict[str, str]
) -> None:
    session.execute(delete(DocumentPage).where(DocumentPage.version_id == version.id))
    for page in outcome.pages:
        session.add(
            DocumentPage(
                version_id=version.id,
                number=page.number,
                text=page.text.replace("\x00", ""),
                source=page.source,
                ocr_confidence=page.confidence,
                rotation=page.rotation,
                width=page.width,
                height=page.height,
                preview_key=previews.get(f"page-{page.number}"),
            )
        )


def _replace_fields(
    session: Session,
    document: Document,
    version_id: uuid.UUID,
    fields: list[ExtractedField],
) -> set[str]:
    """Replace extracted fields; returns the names kept because a person entered them."""
    existing = session.scalars(
        select(DocumentField).where(DocumentField.document_id == document.id)
    ).all()
    manual = {f.name for f in existing if f.source == FieldSource.manual}
    session.execute(
        delete(DocumentField).where(
            DocumentField.document_id == document.id,
            DocumentField.source != FieldSource.manual,
        )
    )
    for extracted in _one_per_name(fields):
        if extracted.name in manual:
            continue
        session.add(
            DocumentField(
                document_id=document.id,
                version_id=version_id,
                name=extracted.name,
                value=extracted.value,
                confidence=max(0.0, min(1.0, extracted.confidence)),
                source=extracted.source,
                page=extracted.page,
                status=extracted.status,
                reason=extracted.reason,
                updated_by=WORKER_ACTOR,
            )
        )
    return manual


def _one_per_name(fields: list[ExtractedField]) -> list[ExtractedField]:
    """The most confident value of each field (extractors may propose several)."""
    best: dict[str, ExtractedField] = {}
    for extracted in fields:
        held = best.get(extracted.name)
        if held is None or extracted.confidence > held.confidence:
            best[extracted.name] = extracted
    return list(best.values())


def _record_version_facts(
    version: DocumentVersion, outcome: Outcome, previews: dict[str, str]
) -> None:
    version.page_count = len(outcome.pages)
    version.thumbnail_key = previews.get("thumbnail")
    version.schema_valid = outcome.schema_valid
    version.schema_errors = outcome.schema_errors


def _record_class(session: Session, document: Document, outcome: Outcome) -> None:
    document.detected_class = outcome.detected_class
    document.class_confidence = outcome.class_confidence
    if document.document_class is None:
        known = repository.class_exists(session, outcome.document_class)
        document.document_class = outcome.document_class if known else "other"


def _still_ours(document: Document | None, version_id: uuid.UUID) -> bool:
    """Whether this run's result still counts. A new version, or a reprocess request made
    while it ran, set the document back to `pending` with a job queued: that job redoes it."""
    return (
        document is not None
        and document.current_version_id == version_id
        and document.status == DocumentStatus.processing
    )


def fail(runtime: Runtime, document_id: uuid.UUID, version_id: uuid.UUID, reason: str) -> None:
    with session_scope(runtime.sessionmaker) as session:
        document = session.get(Document, document_id, with_for_update=True)
        if not _still_ours(document, version_id):
            return
        assert document is not None
        set_status(document, DocumentStatus.failed, reason)
        record(
            session,
            actor=WORKER_ACTOR,
            action="document.processing_failed",
            document_id=document_id,
            version_id=version_id,
            details={"reason": reason, "attempt": document.processing_attempts},
        )
