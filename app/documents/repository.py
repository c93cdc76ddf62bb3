"""Queries over documents, returned as composable `Select` statements.

`documents_query(actor)` is the one base query every read goes through: it applies the actor's
visibility (`app.security.permissions.visible`), so listing, search, download and counts cannot
disagree.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, selectinload

from app.documents.models import Document, DocumentClass, DocumentPage, DocumentVersion
from app.security.permissions import visible
from app.security.principal import Actor


def documents_query(actor: Actor) -> Select[Document]:
    return select(Document).where(visible(actor)).options(selectinload(Document.current_version))


def document_by_id(document_id: uuid.UUID, actor: Actor) -> Select[Document]:
    return documents_query(actor).where(Document.id == document_id)


def filtered_documents(
    actor: Actor,
    *,
    document_class: str | None = None,
    status: str | None = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
) -> Select[Document]:
    query = documents_query(actor)
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
