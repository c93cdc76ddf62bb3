"""Taking one file from an intake channel: ingest it and record the outcome in the ledger.

Both channels call `take_file` inside their own transaction, so the document, its audit event,
its processing job and the ledger row commit together or not at all.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db import utcnow
from app.documents.service import ingest_document
from app.documents.upload import SpooledFile
from app.errors import DatabaseUnavailable, DomainError, DuplicateContent, StorageUnavailable
from app.intake.models import IntakeChannel, IntakeItem, ItemOutcome
from app.security.principal import Actor
from app.storage import BlobStore
from schemas.documents import MetadataFields

# Not the file's fault: leave it where it is and try again later.
TRANSIENT_ERRORS: tuple[type[DomainError], ...] = (StorageUnavailable, DatabaseUnavailable)


@dataclass(frozen=True, slots=True)
class IntakeResult:
    outcome: ItemOutcome
    reason: str
    document_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None

    @property
    def accepted(self) -> bool:
        """Ingested now or held already: either way the archive has the content."""
        return self.outcome is not ItemOutcome.refused


@dataclass(frozen=True, slots=True)
class IntakeSource:
    """Where a file came from: the channel and a description (a path, a mailbox and uid)."""

    channel: IntakeChannel
    source: str
    filename: str
    message_row_id: uuid.UUID | None = None


def take_file(
    session: Session,
    *,
    store: BlobStore,
    upload: SpooledFile,
    fields: MetadataFields,
    actor: Actor,
    origin: IntakeSource,
) -> IntakeResult:
    """Ingest in a savepoint (a refusal leaves the caller's transaction usable), then record."""
    result = _ingest(session, store=store, upload=upload, fields=fields, actor=actor)
    return record_item(
        session, origin=origin, result=result, sha256=upload.sha256, size=upload.size
    )


def _ingest(
    session: Session,
    *,
    store: BlobStore,
    upload: SpooledFile,
    fields: MetadataFields,
    actor: Actor,
) -> IntakeResult:
    try:
        with session.begin_nested():
            accepted = ingest_document(
                session, store=store, upload=upload, fields=fields, actor=actor
            )
    except TRANSIENT_ERRORS:
        raise
    except DuplicateContent as exc:
        holder = exc.extensions.get("document_id")
        return IntakeResult(
            ItemOutcome.duplicate,
            f"duplicate: this content is already stored as document {holder}",
            uuid.UUID(holder) if holder else None,
        )
    except DomainError as exc:
        return IntakeResult(ItemOutcome.refused, exc.detail)
    return IntakeResult(ItemOutcome.ingested, f"ingested as document {accepted.id}", accepted.id)


def record_item(
    session: Session,
    *,
    origin: IntakeSource,
    result: IntakeResult,
    sha256: str | None = None,
    size: int | None = None,
) -> IntakeResult:
    """The ledger row for one file; the result returned carries its id."""
    item = IntakeItem(
        channel=origin.channel,
        source=origin.source[:1000],
        filename=origin.filename[:255],
        sha256=sha256,
        size=size,
        outcome=result.outcome,
        reason=result.reason,
        document_id=result.document_id,
        message_id=origin.message_row_id,
    )
    session.add(item)
    session.flush()
    return replace(result, item_id=item.id)


def unsettled_ingest(session: Session, *, source: str, sha256: str) -> IntakeResult | None:
    """A hot-folder file ingested but never moved (the watcher died between the two)."""
    item = session.scalars(
        select(IntakeItem)
        .where(
            IntakeItem.channel == IntakeChannel.hotfolder,
            IntakeItem.source == source,
            IntakeItem.sha256 == sha256,
            IntakeItem.outcome == ItemOutcome.ingested,
            IntakeItem.settled_at.is_(None),
        )
        .limit(1)
    ).first()
    if item is None:
        return None
    return IntakeResult(
        ItemOutcome.ingested, f"ingested as document {item.document_id}", item.document_id, item.id
    )


def mark_settled(session: Session, item_id: uuid.UUID) -> None:
    session.execute(update(IntakeItem).where(IntakeItem.id == item_id).values(settled_at=utcnow()))
