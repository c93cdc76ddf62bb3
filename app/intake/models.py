"""The intake ledger: every file and e-mail message an intake channel took, and what became of it.

A row is written in the same transaction as the document it produced, so a restart finds what
was already ingested (by SHA-256 for files, by Message-ID for e-mail) and never ingests twice.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class IntakeChannel(StrEnum):
    hotfolder = "hotfolder"
    imap = "imap"


class ItemOutcome(StrEnum):
    ingested = "ingested"
    duplicate = "duplicate"
    refused = "refused"


class MessageOutcome(StrEnum):
    processed = "processed"
    no_attachments = "no_attachments"
    malformed = "malformed"


class IntakeMessage(Base):
    """One e-mail message taken from a mailbox; `message_id` is never processed twice."""

    __tablename__ = "intake_messages"
    __table_args__ = (
        CheckConstraint(
            "outcome IN ('processed', 'no_attachments', 'malformed')", name="outcome_known"
        ),
        Index("ix_intake_messages_mailbox_received_at", "mailbox", "received_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    message_id: Mapped[str] = mapped_column(String(500), unique=True)
    mailbox: Mapped[str] = mapped_column(String(200))
    uid: Mapped[int | None] = mapped_column(BigInteger)
    sender: Mapped[str | None] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class IntakeItem(Base):
    """One file from a channel (a hot-folder file or an e-mail attachment) and its outcome."""

    __tablename__ = "intake_items"
    __table_args__ = (
        CheckConstraint("channel IN ('hotfolder', 'imap')", name="channel_known"),
        CheckConstraint("outcome IN ('ingested', 'duplicate', 'refused')", name="outcome_known"),
        Index("ix_intake_items_channel_sha256", "channel", "sha256"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    channel: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(1000))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int | None] = mapped_column(BigInteger)
    outcome: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    document_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("documents.id", ondelete="SET NULL")
    )
    message_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("intake_messages.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Hot folder: when the file reached done/ or failed/. An ingested row without it is a file
    # whose move a crash interrupted; the next scan finishes the move instead of re-ingesting.
    settled_at: Mapped[datetime | None]
