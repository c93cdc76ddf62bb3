"""Queries over the audit trail, in chain order (ascending id)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select

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
