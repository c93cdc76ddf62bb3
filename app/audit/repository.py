"""Queries over the audit trail, in chain order (ascending id)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, or_, select

from app.audit.models import AuditEvent

_CHAIN_COLUMNS = (
    AuditEvent.id,
    AuditEvent.occurred_at,
    AuditEvent.actor,
    AuditEvent.action,
    AuditEvent.document_id,
    AuditEvent.version_id,
    AuditEvent.details,
    AuditEvent.key_id,
    AuditEvent.prev_hash,
    AuditEvent.hash,
)


def chain_batch(*, after_id: int | None, limit: int) -> Select[Any]:
    """The next `limit` events after `after_id` (from the very first when None)."""
    query = select(*_CHAIN_COLUMNS).order_by(AuditEvent.id).limit(limit)
    if after_id is not None:
        query = query.where(AuditEvent.id > after_id)
    return query


def chain_head() -> Select[int, str]:
    return select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)


@dataclass(frozen=True, slots=True)
class AuditFilter:
    actor: str | None = None
    action: str | None = None
    """An action, or a prefix ending in '.' ('document.' for every document event)."""
    document_id: uuid.UUID | None = None
    since: datetime | None = None
    until: datetime | None = None


def filtered_events(
    criteria: AuditFilter, visible_documents: Select[uuid.UUID]
) -> Select[AuditEvent]:
    """Newest first. Events about a document the reader may not see are left out, as if absent;
    events about no document (logins, accounts) are all there."""
    about_visible: ColumnElement[bool] = or_(
        AuditEvent.document_id.is_(None), AuditEvent.document_id.in_(visible_documents)
    )
    query = select(AuditEvent).where(about_visible).order_by(AuditEvent.id.desc())
    if criteria.actor is not None:
        query = query.where(AuditEvent.actor == criteria.actor)
    if criteria.action is not None:
        if criteria.action.endswith("."):
            query = query.where(AuditEvent.action.startswith(criteria.action, autoescape=True))
        else:
            query = query.where(AuditEvent.action == criteria.action)
    if criteria.document_id is not None:
        query = query.where(AuditEvent.document_id == criteria.document_id)
    if criteria.since is not None:
        query = query.where(AuditEvent.occurred_at >= criteria.since)
    if criteria.until is not None:
        query = query.where(AuditEvent.occurred_at < criteria.until)
    return query
