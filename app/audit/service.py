"""Recording audit events. Callers pass the session of the change they are auditing."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from app.audit.models import AuditEvent


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    document_id: uuid.UUID | None = None,
    version_id: uuid.UUID | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        actor=actor,
        action=action,
        document_id=document_id,
        version_id=version_id,
        details=details or {},
    )
    session.add(event)
    return event
