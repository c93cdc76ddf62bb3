"""Documents, their immutable versions and the classes they belong to."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base, Timestamped, new_id, utcnow


class DocumentStatus(StrEnum):
    pending = "pending"
    processing = "processing"
    processed = "processed"
    failed = "failed"


class DocumentClass(Base):
    """A kind of document (invoice, contract, HR record...); workflows and retention hang on it."""

    __tablename__ = "document_classes"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_en: Mapped[str] = mapped_column(String(200))
    name_pl: Mapped[str] = mapped_column(String(200))


class Document(Timestamped, Base):
    __tablename__ = "documents"
    __table_args__ = (
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint(
            "status IN ('pending', 'processing', 'processed', 'failed')", name="status_known"
        ),
        Index("ix_documents_created_at_id", "created_at", "id"),
        Index("ix_documents_class_created_at", "document_class", "created_at"),
        Index("ix_documents_status_created_at", "status", "created_at"),
        # what a clerk sees (their own uploads) and the "uploaded by" filter
        Index("ix_documents_created_by_created_at", "created_by", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    status: Mapped[str] = mapped_column(String(16), default=DocumentStatus.pending)
    document_class: Mapped[str | None] = mapped_column(
        ForeignKey("document_classes.code", onupdate="CASCADE")
    )
    title: Mapped[str | None] = mapped_column(String(500))
    tags: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default=text("'{}'::text[]")
    )
    external_reference: Mapped[str | None] = mapped_column(String(200))
    custom_fields: Mapped[dict[str, Any]] = mapped_column(
        JSONB, default=dict, server_default=text("'{}'::jsonb")
    )
    revision: Mapped[int] = mapped_column(default=1)
    created_by: Mapped[str] = mapped_column(String(200))
    status_reason: Mapped[str | None] = mapped_column(Text)
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.now())
    processing_attempts: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # The class the classifier proposed, kept beside the (possibly user-stated) class.
    detected_class: Mapped[str | None] = mapped_column(String(64))
    class_confidence: Mapped[float | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    current_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", use_alter=True, name="fk_documents_current_version")
    )

    versions: Mapped[list[DocumentVersion]] = relationship(
        back_populates="document",
        lazy="raise",
        order_by="DocumentVersion.number",
        foreign_keys="DocumentVersion.document_id",
    )
    current_version: Mapped[DocumentVersion | None] = relationship(
        lazy="raise", foreign_keys=[current_version_id], post_update=True
    )


class DocumentVersion(Base):
    """One immutable file of a document; its bytes live in the blob store under `blob_key`."""

    __tablename__ = "document_versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number", name="uq_document_versions_document_number"),
        CheckConstraint("size > 0", name="size_positive"),
        CheckConstraint("sha256 ~ '^[0-9a-f]{64}$'", name="sha256_hex"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="RESTRICT"), index=True
    )
    number: Mapped[int]
    # One stored content belongs to exactly one version: identical bytes are a duplicate.
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(100))
    original_filename: Mapped[str] = mapped_column(String(255))
    blob_key: Mapped[str] = mapped_column(String(200))
    uploaded_by: Mapped[str] = mapped_column(String(200))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
    page_count: Mapped[int | None]
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    # KSeF XML only: schema validation against the official XSD.
    schema_valid: Mapped[bool | None]
    schema_errors: Mapped[list[str] | None] = mapped_column(JSONB)

    document: Mapped[Document] = relationship(
        back_populates="versions", lazy="raise", foreign_keys=[document_id]
    )


class IdempotentRequest(Base):
    """The stored answer to a request sent with an `Idempotency-Key` header."""

    __tablename__ = "idempotent_requests"

    actor: Mapped[str] = mapped_column(String(200), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class DocumentPage(Base):
    """Text of one page of a version, with where it came from and how sure OCR was."""

    __tablename__ = "document_pages"
    __table_args__ = (
        UniqueConstraint("version_id", "number", name="uq_document_pages_version_number"),
        CheckConstraint("source IN ('xml', 'text-layer', 'ocr')", name="source_known"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(16))
    ocr_confidence: Mapped[float | None]
    rotation: Mapped[int] = mapped_column(default=0)
    width: Mapped[int | None]
    height: Mapped[int | None]
    preview_key: Mapped[str | None] = mapped_column(String(200))


class DocumentField(Base):
    """One extracted (or manually entered) metadata field of a document."""

    __tablename__ = "document_fields"
    __table_args__ = (
        UniqueConstraint("document_id", "name", name="uq_document_fields_document_name"),
        CheckConstraint("source IN ('xml', 'text-layer', 'ocr', 'manual')", name="source_known"),
        CheckConstraint("status IN ('confirmed', 'candidate')", name="status_known"),
        CheckConstraint("confidence >= 0 AND confidence <= 1", name="confidence_range"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("document_versions.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSONB)
    confidence: Mapped[float]
    source: Mapped[str] = mapped_column(String(16))
    page: Mapped[int | None]
    status: Mapped[str] = mapped_column(String(16), default="confirmed")
    reason: Mapped[str | None] = mapped_column(Text)
    updated_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
