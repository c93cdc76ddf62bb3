"""Retention classes, per-document retention dates, legal holds, disposal batches and the
tombstones destruction leaves behind."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow
from app.documents.models import Document, DocumentField
from app.intake.models import IntakeItem


class RetentionClass(Base):
    """A retention rule ("klasa retencji"): category, period, trigger and legal basis."""

    __tablename__ = "retention_classes"
    __table_args__ = (
        CheckConstraint("category IN ('A', 'B', 'BE', 'Bc')", name="category_known"),
        CheckConstraint("period_years >= 0", name="period_not_negative"),
    )

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    category: Mapped[str] = mapped_column(String(2))
    period_years: Mapped[int]
    trigger: Mapped[str] = mapped_column(String(32))
    round_to_year_end: Mapped[bool] = mapped_column(server_default=text("true"))
    condition: Mapped[str | None] = mapped_column(String(48))
    legal_basis: Mapped[str] = mapped_column(Text)
    is_default: Mapped[bool] = mapped_column(server_default=text("false"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class ClassRetention(Base):
    """Document class → retention classes; when several apply, the longest wins."""

    __tablename__ = "class_retention"

    document_class: Mapped[str] = mapped_column(
        ForeignKey("document_classes.code", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    )
    retention_class: Mapped[str] = mapped_column(
        ForeignKey("retention_classes.code", ondelete="CASCADE", onupdate="CASCADE"),
        primary_key=True,
    )


class DocumentRetention(Base):
    """The retention decision for one document and what produced it."""

    __tablename__ = "document_retention"
    __table_args__ = (
        CheckConstraint("status IN ('dated', 'permanent', 'unknown_trigger')", name="status_known"),
        Index("ix_document_retention_due", "category", "due_on"),
    )

    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(16))
    retention_class: Mapped[str | None] = mapped_column(String(64))
    category: Mapped[str | None] = mapped_column(String(2))
    symbol: Mapped[str | None] = mapped_column(String(8))
    trigger_date: Mapped[date | None] = mapped_column(Date)
    computed_until: Mapped[date | None] = mapped_column(Date)
    """What the rules give; `retain_until` adds holds' floor and manual extensions."""
    retain_until: Mapped[date | None] = mapped_column(Date)
    due_on: Mapped[date | None] = mapped_column(Date)
    """The day after which the document is collected (destruction, review or transfer)."""
    extended_until: Mapped[date | None] = mapped_column(Date)
    erasure_requested_on: Mapped[date | None] = mapped_column(Date)
    """The day an erasure request found no statutory duty to keep it: a date without such a
    duty ends the day before, whatever is recomputed later."""
    requalified_to_a: Mapped[bool] = mapped_column(server_default=text("false"))
    circulation_finished_at: Mapped[datetime | None]
    rule: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class LegalHold(Base):
    """A legal hold ("blokada prawna": litigation, tax audit, control) blocks destruction."""

    __tablename__ = "legal_holds"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    case_reference: Mapped[str | None] = mapped_column(String(200))
    search: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """Search filters (as `POST /search` takes them) whose matches are held too, new ones
    included, while the hold is active."""
    saved_search_id: Mapped[uuid.UUID | None]
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]
    released_by: Mapped[str | None] = mapped_column(String(200))
    release_reason: Mapped[str | None] = mapped_column(Text)


class HeldDocument(Base):
    """A document under a hold: named explicitly, or matched by the hold's search."""

    __tablename__ = "legal_hold_documents"
    __table_args__ = (
        CheckConstraint("source IN ('explicit', 'search')", name="source_known"),
        Index("ix_legal_hold_documents_document_id", "document_id"),
    )

    hold_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("legal_holds.id", ondelete="CASCADE"), primary_key=True
    )
    # no foreign key: the record of what a hold covered outlives the document (verify checks
    # that no tombstone names a document held at the time of its destruction)
    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(default=utcnow)


class BatchKind(StrEnum):
    destruction = "destruction"
    expert_review = "expert_review"
    transfer = "transfer"


class BatchStatus(StrEnum):
    draft = "draft"
    awaiting_second_approval = "awaiting_second_approval"
    approved = "approved"
    completed = "completed"


class ItemState(StrEnum):
    pending = "pending"
    excluded = "excluded"
    requalified = "requalified"
    destroying = "destroying"
    destroyed = "destroyed"
    skipped = "skipped"
    refused = "refused"


class DisposalBatch(Base):
    """A list of records due for destruction ("spis dokumentacji niearchiwalnej"), an expert
    review list (BE) or a transfer report (A)."""

    __tablename__ = "disposal_batches"
    __table_args__ = (
        CheckConstraint("kind IN ('destruction', 'expert_review', 'transfer')", name="kind_known"),
        CheckConstraint(
            "status IN ('draft', 'awaiting_second_approval', 'approved', 'completed')",
            name="status_known",
        ),
        UniqueConstraint("number", name="uq_disposal_batches_number"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    number: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(32), default=BatchStatus.draft)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    approved_by: Mapped[str | None] = mapped_column(String(200))
    approved_at: Mapped[datetime | None]
    second_approved_by: Mapped[str | None] = mapped_column(String(200))
    second_approved_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    protocol_document_id: Mapped[uuid.UUID | None]


class DisposalItem(Base):
    """One record of a batch, and where its destruction stands."""

    __tablename__ = "disposal_items"
    __table_args__ = (
        UniqueConstraint("batch_id", "ordinal", name="uq_disposal_items_batch_ordinal"),
        CheckConstraint(
            "state IN ('pending', 'excluded', 'requalified', 'destroying', 'destroyed', "
            "'skipped', 'refused')",
            name="state_known",
        ),
        Index("ix_disposal_items_document_id", "document_id"),
        Index("ix_disposal_items_batch_state", "batch_id", "state"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("disposal_batches.id", ondelete="CASCADE")
    )
    ordinal: Mapped[int]
    # no foreign key: the item outlives the document it destroyed
    document_id: Mapped[uuid.UUID]
    document_class: Mapped[str | None] = mapped_column(String(64))
    retention_class: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(Text)
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    retain_until: Mapped[date | None] = mapped_column(Date)
    remarks: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default=ItemState.pending)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    content: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    """What destruction removes, written before it starts: versions (sha256, key) and derived
    keys; a rerun after a crash deletes exactly this."""


class Tombstone(Base):
    """What remains of a destroyed document: proof of what it was and that it went lawfully."""

    __tablename__ = "disposal_tombstones"

    document_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    document_class: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(Text)
    retention_class: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(8))
    rule: Mapped[str] = mapped_column(Text)
    basis: Mapped[str] = mapped_column(Text)
    uploaded_at: Mapped[datetime]
    retain_until: Mapped[date | None] = mapped_column(Date)
    destroyed_at: Mapped[datetime] = mapped_column(default=utcnow)
    sha256s: Mapped[list[str]] = mapped_column(ARRAY(String(64)))
    batch_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("disposal_batches.id"))
    item_id: Mapped[uuid.UUID]
    approvers: Mapped[list[str]] = mapped_column(ARRAY(String(200)))


# Destruction deletes versions and documents in bulk; each deleted row makes PostgreSQL look
# up the rows that reference it. Without these indexes every lookup scans its whole table
# (quadratic: 100 000 documents took hours). They belong to other domains' tables and are
# declared here, with the code whose deletes need them (migration 0011).
Index("ix_documents_current_version_id", Document.current_version_id)
Index("ix_document_fields_version_id", DocumentField.version_id)
Index("ix_intake_items_document_id", IntakeItem.document_id)


class ObjectLock(Base):
    """The S3 Object Lock a version's stored original carries, as `object_lock.sync` last
    applied it: what is recorded here is not applied again."""

    __tablename__ = "object_locks"
    __table_args__ = (CheckConstraint("mode IN ('GOVERNANCE', 'COMPLIANCE')", name="mode_known"),)

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True
    )
    locked_until: Mapped[date | None] = mapped_column(Date)
    """The retention date the lock ends with (at the end of that day, Polish time)."""
    mode: Mapped[str | None] = mapped_column(String(16))
    legal_hold: Mapped[bool] = mapped_column(server_default=text("false"))
    synced_at: Mapped[datetime] = mapped_column(default=utcnow)
