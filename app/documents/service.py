"""The rules of documents: ingest, new versions, metadata edits. Services flush, never commit."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.audit.service import record
from app.circulation import service as circulation
from app.db import utcnow
from app.documents import repository
from app.documents.fields import set_manual_fields
from app.documents.jobs import enqueue_processing
from app.documents.models import Document, DocumentStatus, DocumentVersion
from app.documents.upload import SpooledFile
from app.errors import (
    Conflict,
    DuplicateContent,
    NotFound,
    PreconditionFailed,
    StorageUnavailable,
    Unprocessable,
)
from app.locks import lock_blob
from app.retention import service as retention
from app.search.index import index_document
from app.security.permissions import require_class_edit, require_edit, require_upload
from app.security.principal import Actor
from app.storage import BlobStore, BlobStoreUnavailable, blob_key
from schemas.documents import (
    DocumentOut,
    DocumentPatch,
    FieldOut,
    MetadataFields,
    UploadAccepted,
    VersionOut,
)


def get_document(session: Session, document_id: uuid.UUID, actor: Actor) -> Document:
    """The document if the actor may see it; otherwise 404, as if it did not exist."""
    document = session.scalars(repository.document_by_id(document_id, actor)).one_or_none()
    if document is None:
        raise NotFound(f"no document {document_id}")
    return document


def _check_class(session: Session, code: str | None) -> None:
    if code is not None and not repository.class_exists(session, code):
        known = ", ".join(repository.class_codes(session))
        raise Unprocessable(f"unknown document class {code!r}; known classes: {known}")


def _refuse_duplicate(session: Session, sha256: str, actor: Actor) -> None:
    existing = session.scalars(repository.version_by_sha256(sha256)).one_or_none()
    if existing is None:
        return
    if session.scalars(repository.document_by_id(existing.document_id, actor)).first() is None:
        raise DuplicateContent("this content is already stored in the archive", sha256=sha256)
    raise DuplicateContent(
        f"this content is already stored as version {existing.number} "
        f"of document {existing.document_id}",
        document_id=str(existing.document_id),
        version_id=str(existing.id),
        version=existing.number,
        sha256=sha256,
    )


def _store_blob(session: Session, store: BlobStore, upload: SpooledFile, actor: Actor) -> str:
    """Lock the content, refuse a duplicate, then write the blob before any row points at it."""
    lock_blob(session, upload.sha256)
    _refuse_duplicate(session, upload.sha256, actor)
    key = blob_key(upload.sha256)
    try:
        store.put(key, upload.path, size=upload.size)
    except BlobStoreUnavailable as exc:
        raise StorageUnavailable(str(exc)) from exc
    return key


def _new_version(
    document: Document, *, number: int, upload: SpooledFile, key: str, actor: Actor
) -> DocumentVersion:
    return DocumentVersion(
        id=uuid.uuid4(),
        document_id=document.id,
        number=number,
        sha256=upload.sha256,
        size=upload.size,
        media_type=upload.media_type,
        original_filename=upload.filename or f"document-{document.id}",
        blob_key=key,
        uploaded_by=actor.name,
    )


def ingest_document(
    session: Session,
    *,
    store: BlobStore,
    upload: SpooledFile,
    fields: MetadataFields,
    actor: Actor,
) -> UploadAccepted:
    """Store a new document from a spooled file: blob first, then rows and audit in one flush."""
    _check_class(session, fields.document_class)
    require_upload(session, actor, fields.document_class)
    key = _store_blob(session, store, upload, actor)
    document = Document(
        id=uuid.uuid4(),
        status=DocumentStatus.pending,
        document_class=fields.document_class,
        title=fields.title,
        tags=fields.tags,
        external_reference=fields.external_reference,
        custom_fields=fields.metadata,
        created_by=actor.name,
    )
    version = _new_version(document, number=1, upload=upload, key=key, actor=actor)
    session.add(document)
    session.add(version)
    session.flush()
    document.current_version_id = version.id
    _audit_upload(session, "document.uploaded", document, version, actor, upload)
    session.flush()
    enqueue_processing(session, document_id=document.id)
    return _accepted(document, version)


def add_version(
    session: Session,
    *,
    store: BlobStore,
    document_id: uuid.UUID,
    upload: SpooledFile,
    actor: Actor,
) -> UploadAccepted:
    """A new file for an existing document; earlier versions stay as they were."""
    document = _editable_document(session, document_id, actor)
    key = _store_blob(session, store, upload, actor)
    number = max(
        (v.number for v in session.scalars(repository.versions_of(document.id))), default=0
    )
    version = _new_version(document, number=number + 1, upload=upload, key=key, actor=actor)
    session.add(version)
    session.flush()
    document.current_version_id = version.id
    set_status(document, DocumentStatus.pending, "a new version waits for processing")
    _audit_upload(session, "document.version_added", document, version, actor, upload)
    session.flush()
    enqueue_processing(session, document_id=document.id)
    return _accepted(document, version)


def set_status(document: Document, status: DocumentStatus, reason: str | None = None) -> None:
    document.status = status
    document.status_reason = reason
    document.status_changed_at = utcnow()


def request_reprocessing(session: Session, *, document_id: uuid.UUID, actor: Actor) -> Document:
    """Queue the current version again; manual field values survive reprocessing."""
    document = _editable_document(session, document_id, actor)
    if document.current_version_id is None:
        raise Conflict(f"document {document_id} has no content to process")
    set_status(document, DocumentStatus.pending, f"reprocessing requested by {actor.name}")
    record(
        session, actor=actor.name, action="document.reprocess_requested", document_id=document.id
    )
    session.flush()
    enqueue_processing(session, document_id=document.id)
    return get_document(session, document_id, actor)


def _editable_document(session: Session, document_id: uuid.UUID, actor: Actor) -> Document:
    """The document locked for a change the actor may make: 404 if unseen, 403 if read-only."""
    query = repository.document_by_id(document_id, actor).with_for_update(of=Document)
    document = session.scalars(query).one_or_none()
    if document is None:
        raise NotFound(f"no document {document_id}")
    require_edit(session, actor, document)
    return document


def require_editable(session: Session, document_id: uuid.UUID, actor: Actor) -> None:
    """Refuse early (before a body is read) what `add_version` would refuse."""
    require_edit(session, actor, get_document(session, document_id, actor))


def _audit_upload(
    session: Session,
    action: str,
    document: Document,
    version: DocumentVersion,
    actor: Actor,
    upload: SpooledFile,
) -> None:
    record(
        session,
        actor=actor.name,
        action=action,
        document_id=document.id,
        version_id=version.id,
        details={
            "sha256": upload.sha256,
            "size": upload.size,
            "media_type": upload.media_type,
            "filename": upload.filename,
            "version": version.number,
        },
    )


def _accepted(document: Document, version: DocumentVersion) -> UploadAccepted:
    return UploadAccepted(
        id=document.id,
        version=version.number,
        version_id=version.id,
        sha256=version.sha256,
        size=version.size,
        media_type=version.media_type,
        status=document.status,
    )


_PATCHABLE = {
    "title": "title",
    "document_class": "document_class",
    "tags": "tags",
    "external_reference": "external_reference",
    "metadata": "custom_fields",
}


def update_metadata(
    session: Session,
    *,
    document_id: uuid.UUID,
    patch: DocumentPatch,
    expected_revision: int,
    actor: Actor,
    stale_is_conflict: bool = False,
) -> Document:
    """Apply an edit made against `expected_revision`; a stale revision is refused, not merged.

    A stale `If-Match` answers 412; a stale revision in the body answers 409.
    """
    document = _editable_document(session, document_id, actor)
    _check_revision(document, expected_revision, stale_is_conflict=stale_is_conflict)
    changes = _changes(document, patch)
    if "document_class" in changes:
        _check_class(session, patch.document_class)
        require_class_edit(session, actor, patch.document_class)
    for field_name, (_old, new) in changes.items():
        setattr(document, _PATCHABLE[field_name], new)
    if changes:
        document.revision += 1
        record(
            session,
            actor=actor.name,
            action="document.metadata_changed",
            document_id=document.id,
            details={"revision": document.revision, "changes": _jsonable(changes)},
        )
        index_document(session, document.id)
        retention.recompute(session, document_id=document.id, actor=actor.name)
    session.flush()
    return get_document(session, document_id, actor)


def _check_revision(document: Document, expected: int, *, stale_is_conflict: bool) -> None:
    if document.revision != expected:
        error = Conflict if stale_is_conflict else PreconditionFailed
        raise error(
            f"the document is at revision {document.revision}, the edit was made against "
            f"revision {expected}; reload it and apply your change again",
            current_revision=document.revision,
        )


def correct_fields(
    session: Session,
    *,
    document_id: uuid.UUID,
    values: dict[str, Any],
    expected_revision: int,
    actor: Actor,
    stale_is_conflict: bool = False,
) -> Document:
    """Record field corrections made against a known revision (see app.documents.fields)."""
    document = _editable_document(session, document_id, actor)
    _check_revision(document, expected_revision, stale_is_conflict=stale_is_conflict)
    changes = set_manual_fields(session, document=document, values=values, actor=actor.name)
    if changes:
        document.revision += 1
        index_document(session, document.id)
        retention.recompute(session, document_id=document.id, actor=actor.name)
        circulation.on_fields_changed(
            session, document_id=document.id, changed=set(changes), actor=actor
        )
    session.flush()
    return get_document(session, document_id, actor)


def _changes(document: Document, patch: DocumentPatch) -> dict[str, tuple[Any, Any]]:
    changes: dict[str, tuple[Any, Any]] = {}
    for field_name in patch.model_fields_set - {"revision"}:
        new = getattr(patch, field_name)
        if field_name in {"tags", "metadata"} and new is None:
            new = [] if field_name == "tags" else {}
        old = getattr(document, _PATCHABLE[field_name])
        if old != new:
            changes[field_name] = (old, new)
    return changes


def _jsonable(changes: dict[str, tuple[Any, Any]]) -> dict[str, dict[str, Any]]:
    return {name: {"from": old, "to": new} for name, (old, new) in changes.items()}


def document_out(document: Document, fields: list[FieldOut] | None = None) -> DocumentOut:
    current = document.current_version
    fields = fields or []
    return DocumentOut(
        id=document.id,
        status=document.status,
        document_class=document.document_class,
        title=document.title,
        tags=list(document.tags),
        external_reference=document.external_reference,
        metadata=dict(document.custom_fields),
        revision=document.revision,
        created_by=document.created_by,
        created_at=document.created_at,
        updated_at=document.updated_at,
        status_reason=document.status_reason,
        status_changed_at=document.status_changed_at,
        processing_attempts=document.processing_attempts,
        detected_class=document.detected_class,
        class_confidence=document.class_confidence,
        current_version=VersionOut.model_validate(current) if current is not None else None,
        fields=fields,
        needs_review=[f.name for f in fields if f.needs_review],
    )


def find_version(
    session: Session, document_id: uuid.UUID, number: int | None, actor: Actor
) -> DocumentVersion:
    document = get_document(session, document_id, actor)
    if number is None:
        if document.current_version is None:
            raise NotFound(f"document {document_id} has no content")
        return document.current_version
    versions = session.scalars(
        repository.versions_of(document_id).where(DocumentVersion.number == number)
    ).one_or_none()
    if versions is None:
        raise NotFound(f"document {document_id} has no version {number}")
    return versions
