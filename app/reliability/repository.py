"""Queries of the fixity domain, as composable statements."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import DateTime, Select, exists, func, literal, select, tuple_
from sqlalchemy.sql.elements import ColumnElement

from app.documents.models import DocumentVersion
from app.reliability.models import FixityCheck, FixityOutcome, FixityRun
from app.retention.models import DisposalItem, ItemState

NEVER = datetime.fromisoformat("0001-01-01T00:00:00+00:00")


def last_checked() -> ColumnElement[datetime]:
    """When a version was last checked; never-checked versions sort first."""
    return func.coalesce(FixityCheck.checked_at, literal(NEVER, DateTime(timezone=True)))


def due_versions(
    *, started_at: datetime, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> Select[DocumentVersion, str | None, datetime]:
    """Versions least recently checked first, not checked since `started_at`, after a cursor.

    Documents whose destruction is under way are left out: their blobs go away on purpose.
    """
    checked = last_checked()
    being_destroyed = exists().where(
        DisposalItem.document_id == DocumentVersion.document_id,
        DisposalItem.state == ItemState.destroying,
    )
    query = (
        select(DocumentVersion, FixityCheck.outcome, checked)
        .outerjoin(FixityCheck, FixityCheck.version_id == DocumentVersion.id)
        .where(checked < started_at, ~being_destroyed)
        .order_by(checked, DocumentVersion.id)
        .limit(limit)
    )
    if after is not None:
        query = query.where(tuple_(checked, DocumentVersion.id) > tuple_(*after))
    return query


def version_count() -> Select[int]:
    return select(func.count()).select_from(DocumentVersion)


def flagged_versions() -> Select[FixityCheck, int]:
    """Versions whose latest check failed, with the version number."""
    return (
        select(FixityCheck, DocumentVersion.number)
        .join(DocumentVersion, DocumentVersion.id == FixityCheck.version_id)
        .where(FixityCheck.outcome != FixityOutcome.ok)
        .order_by(FixityCheck.failing_since, FixityCheck.version_id)
    )


def last_run() -> Select[FixityRun]:
    return (
        select(FixityRun)
        .where(FixityRun.finished_at.is_not(None))
        .order_by(FixityRun.started_at.desc())
        .limit(1)
    )


def never_checked() -> Select[int]:
    return (
        select(func.count())
        .select_from(DocumentVersion)
        .outerjoin(FixityCheck, FixityCheck.version_id == DocumentVersion.id)
        .where(FixityCheck.version_id.is_(None))
    )


def problems_of(document_id: uuid.UUID) -> Select[FixityCheck, int]:
    """The document's versions whose latest check failed."""
    return flagged_versions().where(FixityCheck.document_id == document_id)
