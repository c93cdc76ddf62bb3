"""Documents as processing leaves them (original, thumbnail and page previews in a real store;
version, page, field and search rows in PostgreSQL), written directly for retention tests:
OCR would add minutes and nothing retention depends on."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentField, DocumentPage, DocumentVersion
from app.retention import service as retention
from app.search.index import index_document
from app.storage import BlobStore
from app.storage.base import blob_key


def _put(store: BlobStore, tmp: Path, key: str, data: bytes) -> None:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / uuid.uuid4().hex
    path.write_bytes(data)
    store.put(key, path, size=len(data))
    path.unlink()


def make_document(
    session: Session,
    store: BlobStore,
    tmp: Path,
    *,
    document_class: str | None,
    fields: dict[str, Any] | None = None,
    uploaded: datetime | None = None,
    title: str | None = None,
    custom: dict[str, Any] | None = None,
    versions: int = 1,
) -> uuid.UUID:
    document = Document(
        id=uuid.uuid4(),
        status="processed",
        document_class=document_class,
        title=title or f"{document_class} {uuid.uuid4().hex[:6]}",
        created_by="tests",
        custom_fields=custom or {},
        created_at=uploaded or datetime.now(UTC),
    )
    session.add(document)
    session.flush()
    for number in range(1, versions + 1):
        _version(session, store, tmp, document, number)
    for name, value in (fields or {}).items():
        session.add(
            DocumentField(
                document_id=document.id, name=name, value=value, confidence=1.0,
                source="manual", updated_by="tests",
            )
        )  # fmt: skip
    session.flush()
    index_document(session, document.id)
    retention.recompute(session, document_id=document.id, actor="tests")
    return document.id


def _version(
    session: Session, store: BlobStore, tmp: Path, document: Document, number: int
) -> None:
    data = b"%PDF-1.4 retention test " + os.urandom(32)
    sha = hashlib.sha256(data).hexdigest()
    version = DocumentVersion(
        id=uuid.uuid4(),
        document_id=document.id,
        number=number,
        sha256=sha,
        size=len(data),
        media_type="application/pdf",
        original_filename=f"doc-{number}.pdf",
        blob_key=blob_key(sha),
        uploaded_by="tests",
        page_count=1,
        thumbnail_key=f"derived/{uuid.uuid4()}/thumbnail-0",
    )
    _put(store, tmp, version.blob_key, data)
    assert version.thumbnail_key is not None
    _put(store, tmp, version.thumbnail_key, b"thumb")
    session.add(version)
    session.flush()
    preview = f"derived/{version.id}/page-0001-{sha[:16]}"
    _put(store, tmp, preview, b"preview")
    session.add(
        DocumentPage(
            version_id=version.id, number=1, text=f"tekst strony {document.title}",
            source="text-layer", preview_key=preview,
        )
    )  # fmt: skip
    document.current_version_id = version.id
    session.flush()


def keys_of(session: Session, document_id: uuid.UUID) -> list[str]:
    """Every object of a document in the store: originals, thumbnails, page previews."""
    versions = session.scalars(
        select(DocumentVersion).where(DocumentVersion.document_id == document_id)
    ).all()
    previews = session.scalars(
        select(DocumentPage.preview_key).where(
            DocumentPage.version_id.in_([v.id for v in versions])
        )
    ).all()
    thumbnails = [v.thumbnail_key for v in versions if v.thumbnail_key]
    return [*(v.blob_key for v in versions), *thumbnails, *(p for p in previews if p)]
