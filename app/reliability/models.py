"""Fixity: when each version's blob was last re-hashed, what that found, and the runs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class FixityOutcome(StrEnum):
    ok = "ok"
    missing = "missing"
    corrupt = "corrupt"  # the size or the SHA-256 differs from the recorded ones


class FixityCheck(Base):
    """The latest fixity check of one version's blob.

    An outcome other than `ok` flags the document until a later check passes (after the blob
    was put back from a backup).
    """

    __tablename__ = "fixity_checks"
    __table_args__ = (
        CheckConstraint("outcome IN ('ok', 'missing', 'corrupt')", name="outcome_known"),
        Index("ix_fixity_checks_checked_at", "checked_at"),
        Index(
            "ix_fixity_checks_failed",
            "document_id",
            postgresql_where=text("outcome <> 'ok'"),
        ),
    )

    version_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("document_versions.id", ondelete="CASCADE"), primary_key=True
    )
    document_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("documents.id", ondelete="CASCADE"))
    checked_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    # The first failed check of the current run of failures; None while the blob is intact.
    failing_since: Mapped[datetime | None]


class FixityRun(Base):
    """One pass of the fixity job (nightly share, or `docarchive fixity`)."""

    __tablename__ = "fixity_runs"
    __table_args__ = (Index("ix_fixity_runs_started_at", "started_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    trigger: Mapped[str] = mapped_column(String(32))
    planned: Mapped[int]
    checked: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    failed: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Versions the store could not be asked about (it was down): checked again next run.
    unreadable: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    bytes_read: Mapped[int] = mapped_column(BigInteger, default=0, server_default=text("0"))
