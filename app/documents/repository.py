"""Queries over documents, returned as composable `Select` statements.

`documents_query` is the one base query every read goes through; the permission rules of the
security issue attach to it so listing, search, download and counts cannot disagree.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from app.documents.models import Document, DocumentClass, DocumentPage, DocumentVersion


def documents_query() -> Select[Document]:
    return select(Document).options(selectinload(Document.current_version))


def document_by_id(document_id: uuid.UUID) -> Select[Document]:
    return documents_query().where(Document.id == document_id)


def filtered_documents(
    *,
    document_class: str | None = None,
    status: str | None = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
) -> Select[Document]:
    query = documents_query()
    if document_class is not None:
        query = query.where(Document.document_class == document_class)
    if status is not None:
        query = query.where(Document.status == status)
    if uploaded_after is not None:
        query = query.where(Document.created_at >= uploaded_after)
    if uploaded_before is not None:
        query = query.where(Document.created_at < uploaded_before)
    return query


def versions_of(document_id: uuid.UUID) -> Select[DocumentVersion]:
    return (
        select(DocumentVersion)
        .where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.number)
    )


def version_by_sha256(sha256: str) -> Select[DocumentVersion]:
    return select(DocumentVersion).where(DocumentVersion.sha256 == sha256)


def class_exists(session: Session, code: str) -> bool:
    return session.get(DocumentClass, code) is not None


def class_codes(session: Session) -> list[str]:
    return list(session.scalars(select(DocumentClass.code).order_by(DocumentClass.code)))


def pages_of(version_id: uuid.UUID) -> Select[DocumentPage]:
    return (
        select(DocumentPage)
        .where(DocumentPage.version_id == version_id)
        .order_by(DocumentPage.number)
    )
