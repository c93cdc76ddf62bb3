"""GDPR erasure requests ("żądanie usunięcia danych", art. 17) and the answer recorded for each
document of the data subject."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class SubjectKind(StrEnum):
    pesel = "pesel"
    nip = "nip"
    name = "name"


class Outcome(StrEnum):
    retained = "retained"
    """A legal duty to keep it overrides erasure (art. 17(3)(b)) until `retained_until`."""
    scheduled = "scheduled"
    """Listed in a destruction batch."""
    held = "held"
    """Under a legal hold (claims, audits: art. 17(3)(e))."""
    permanent = "permanent"
    """Category A: archival material, never destroyed."""
    undetermined = "undetermined"
    """The retention period cannot be computed yet (its trigger date is not known): kept."""


class ErasureRequest(Base):
    """One request of a data subject, answered when it is filed."""

    __tablename__ = "erasure_requests"
    __table_args__ = (
        CheckConstraint("subject_kind IN ('pesel', 'nip', 'name')", name="subject_kind_known"),
        Index("ix_erasure_requests_created_at", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    subject_kind: Mapped[str] = mapped_column(String(8))
    subject_value: Mapped[str] = mapped_column(Text)
    """Normalised: a PESEL's or NIP's digits, a name with single spaces."""
    reference: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answered_at: Mapped[datetime | None]
    counts: Mapped[dict[str, int]] = mapped_column(JSONB, default=dict)
    """Answers by outcome."""
    not_indexed: Mapped[int] = mapped_column(default=0)
    """Documents still waiting for processing when the request was filed (not searched)."""


class ErasureAnswer(Base):
    """The answer for one document. No foreign key to the document: the answer must outlive
    its destruction, so it keeps the title and class too."""

    __tablename__ = "erasure_answers"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('retained', 'scheduled', 'held', 'permanent', 'undetermined')",
            name="outcome_known",
        ),
        UniqueConstraint("request_id", "document_id", name="uq_erasure_answers_request_document"),
        Index("ix_erasure_answers_document_id", "document_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("erasure_requests.id", ondelete="CASCADE")
    )
    document_id: Mapped[uuid.UUID]
    title: Mapped[str] = mapped_column(Text)
    document_class: Mapped[str | None] = mapped_column(String(64))
    retention_class: Mapped[str | None] = mapped_column(String(64))
    symbol: Mapped[str | None] = mapped_column(String(8))
    outcome: Mapped[str] = mapped_column(String(16))
    retained_until: Mapped[date | None] = mapped_column(Date)
    basis: Mapped[str] = mapped_column(Text)
    batch_id: Mapped[uuid.UUID | None]
    batch_number: Mapped[str | None] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
