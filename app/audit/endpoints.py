"""HTTP endpoints of the audit trail, for auditors and admins: filtered pages and CSV."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import Select

from app.audit.models import AuditEvent
from app.audit.repository import AuditFilter, filtered_events
from app.audit.service import record
from app.deps import ActorDep, SessionDep
from app.documents import repository as documents
from app.documents.models import Document
from app.errors import BadRequest, problem_responses
from app.security.models import Role, Scope
from app.security.permissions import require_role
from app.security.principal import Actor
from schemas.audit import AuditEventOut, AuditPage

router = APIRouter(prefix="/audit", tags=["audit"])

CSV_LIMIT = 100_000
_CSV_COLUMNS = ("id", "occurred_at", "actor", "action", "document_id", "version_id", "details")


def _criteria(
    actor: Annotated[str | None, Query(max_length=200, description="Who acted.")] = None,
    action: Annotated[
        str | None,
        Query(max_length=64, description="An action, or a prefix ending in '.' (`document.`)."),
    ] = None,
    document_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> AuditFilter:
    return AuditFilter(
        actor=actor, action=action, document_id=document_id, since=since, until=until
    )


CriteriaDep = Annotated[AuditFilter, Depends(_criteria)]


def _readable_events(actor: Actor, criteria: AuditFilter) -> Select[AuditEvent]:
    """The trail as this reader may see it: the same visibility as every document read."""
    require_role(actor, Role.auditor, Role.admin, scope=Scope.audit)
    visible = documents.documents_query(actor).with_only_columns(Document.id)
    return filtered_events(criteria, visible)


@router.get("", response_model=AuditPage, responses=problem_responses(400, 401, 403, 422))
def list_events(
    session: SessionDep,
    actor: ActorDep,
    criteria: CriteriaDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(max_length=20)] = None,
) -> AuditPage:
    """Newest first; follow `next_cursor`. Needs the auditor or admin role (and, for a token,
    the `audit` scope)."""
    query = _readable_events(actor, criteria)
    if cursor is not None:
        if not cursor.isdigit():
            raise BadRequest("the cursor is not one this API issued")
        query = query.where(AuditEvent.id < int(cursor))
    events = list(session.scalars(query.limit(limit + 1)))
    page, more = events[:limit], len(events) > limit
    return AuditPage(
        items=[AuditEventOut.model_validate(e) for e in page],
        next_cursor=str(page[-1].id) if more else None,
    )


@router.get(
    ".csv",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/csv": {}}, "description": "The filtered trail as CSV"},
        **problem_responses(401, 403, 422),
    },
)
def export_csv(session: SessionDep, actor: ActorDep, criteria: CriteriaDep) -> StreamingResponse:
    """The filtered trail as CSV (newest first, at most 100 000 rows per export)."""
    events = list(session.scalars(_readable_events(actor, criteria).limit(CSV_LIMIT)))
    record(
        session,
        actor=actor.name,
        action="audit.exported",
        details={"rows": len(events), "filter": _jsonable(criteria)},
    )
    return StreamingResponse(
        _csv_lines(events),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


def _csv_lines(events: list[AuditEvent]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(_CSV_COLUMNS)
    for event in events:
        writer.writerow(
            [
                event.id,
                event.occurred_at.isoformat(),
                _cell(event.actor),
                event.action,
                event.document_id or "",
                event.version_id or "",
                _cell(json.dumps(event.details, ensure_ascii=False, sort_keys=True)),
            ]
        )
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _cell(value: str) -> str:
    """Spreadsheets run cells that start with these as formulas (CSV injection)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def _jsonable(criteria: AuditFilter) -> dict[str, str]:
    return {
        name: str(value)
        for name, value in (
            ("actor", criteria.actor),
            ("action", criteria.action),
            ("document_id", criteria.document_id),
            ("since", criteria.since),
            ("until", criteria.until),
        )
        if value is not None
    }
