"""Legal holds: documents named explicitly and/or the matches of a search, held until release.

A search scope is evaluated through the search service as a system actor (a hold covers what
matches, not what its creator may see) when the hold is placed and again before every
collection and destruction, so documents that start to match while the hold is active are
caught. Placing and releasing holds take the holds lock exclusively; destruction takes it
shared while it decides what it may destroy.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

from sqlalchemy import delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.documents.models import Document
from app.documents.repository import documents_query
from app.errors import Conflict, NotFound, Unprocessable
from app.locks import lock_key
from app.retention import service
from app.retention.models import DisposalItem, HeldDocument, ItemState, LegalHold
from app.search import saved as saved_searches
from app.search import service as search
from app.security.models import Role, Scope
from app.security.permissions import require_role
from app.security.principal import Actor, system_actor
from schemas.retention import HoldIn, HoldRelease
from schemas.search import SearchRequest

SEARCH_PAGE = 100
_HOLDS_LOCK = lock_key("retention", "holds")


def lock_holds(session: Session, *, shared: bool) -> None:
    function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
    session.execute(text(f"SELECT {function}(:key)"), {"key": _HOLDS_LOCK})


def place_hold(session: Session, *, data: HoldIn, actor: Actor) -> LegalHold:
    require_role(actor, Role.archivist, Role.admin, Role.legal, scope=Scope.write)
    if not data.document_ids and data.search is None and data.saved_search_id is None:
        raise Unprocessable("a hold needs documents, a search or a saved search")
    lock_holds(session, shared=False)
    hold = LegalHold(
        name=data.name,
        reason=data.reason,
        case_reference=data.case_reference,
        search=_search_scope(session, data, actor),
        saved_search_id=data.saved_search_id,
        created_by=actor.name,
    )
    session.add(hold)
    session.flush()
    _hold_documents(session, hold, data.document_ids, actor)
    matched = refresh_search_scope(session, hold)
    record(
        session,
        actor=actor.name,
        action="retention.hold_placed",
        details={
            "hold": str(hold.id),
            "name": hold.name,
            "case_reference": hold.case_reference,
            "documents": [str(d) for d in data.document_ids],
            "search": hold.search,
            "search_matches": matched,
        },
    )
    return hold


def _search_scope(session: Session, data: HoldIn, actor: Actor) -> dict[str, object] | None:
    """A saved search is copied into the hold: deleting it later does not end the hold."""
    if data.saved_search_id is not None:
        saved = saved_searches.get_saved(session, actor, data.saved_search_id)
        return {"q": saved.query, **saved.filters}
    if data.search is None:
        return None
    return data.search.model_dump(mode="json", by_alias=True, exclude_defaults=True)


def _hold_documents(
    session: Session, hold: LegalHold, document_ids: list[uuid.UUID], actor: Actor
) -> None:
    if not document_ids:
        return
    wanted = set(document_ids)
    found = set(
        session.scalars(
            documents_query(actor).where(Document.id.in_(wanted)).with_only_columns(Document.id)
        )
    )
    if wanted - found:
        raise NotFound(f"no document {sorted(map(str, wanted - found))[0]}")
    _refuse_if_destroying(session, found)
    _insert_held(session, hold.id, found, source="explicit")


def _refuse_if_destroying(session: Session, document_ids: set[uuid.UUID]) -> None:
    busy = session.scalars(
        select(DisposalItem.document_id).where(
            DisposalItem.document_id.in_(document_ids),
            DisposalItem.state.in_([ItemState.destroying, ItemState.destroyed]),
        )
    ).first()
    if busy is not None:
        raise Conflict(f"document {busy} is already being destroyed; it cannot be held")


def _insert_held(
    session: Session, hold_id: uuid.UUID, document_ids: set[uuid.UUID], *, source: str
) -> None:
    if not document_ids:
        return
    rows = [{"hold_id": hold_id, "document_id": d, "source": source} for d in document_ids]
    session.execute(insert(HeldDocument).values(rows).on_conflict_do_nothing())


def add_documents(
    session: Session, *, hold_id: uuid.UUID, document_ids: list[uuid.UUID], actor: Actor
) -> LegalHold:
    require_role(actor, Role.archivist, Role.admin, Role.legal, scope=Scope.write)
    lock_holds(session, shared=False)
    hold = _active(session, hold_id)
    _hold_documents(session, hold, document_ids, actor)
    record(
        session,
        actor=actor.name,
        action="retention.hold_extended",
        details={"hold": str(hold.id), "documents": [str(d) for d in document_ids]},
    )
    return hold


def _active(session: Session, hold_id: uuid.UUID) -> LegalHold:
    hold = session.get(LegalHold, hold_id, with_for_update=True)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    if hold.released_at is not None:
        raise Conflict(f"the legal hold {hold.name!r} was released on {hold.released_at:%Y-%m-%d}")
    return hold


def release_hold(
    session: Session, *, hold_id: uuid.UUID, data: HoldRelease, actor: Actor
) -> LegalHold:
    """End a hold; retention of the documents it held is computed again (it may shorten)."""
    require_role(actor, Role.archivist, Role.admin, Role.legal, scope=Scope.write)
    lock_holds(session, shared=False)
    hold = _active(session, hold_id)
    refresh_search_scope(session, hold)
    hold.released_at = utcnow()
    hold.released_by = actor.name
    hold.release_reason = data.reason
    session.flush()
    held = session.scalars(
        select(HeldDocument.document_id).where(HeldDocument.hold_id == hold.id)
    ).all()
    record(
        session,
        actor=actor.name,
        action="retention.hold_released",
        details={"hold": str(hold.id), "reason": data.reason, "documents": len(held)},
    )
    for document_id in held:
        service.recompute(session, document_id=document_id, actor=actor.name)
    return hold


def refresh_search_scope(session: Session, hold: LegalHold) -> int:
    """Hold what the hold's search matches now; returns how many documents it matched."""
    if hold.search is None or hold.released_at is not None:
        return 0
    matched = set(_matches(session, hold.search))
    session.execute(
        delete(HeldDocument).where(
            HeldDocument.hold_id == hold.id,
            HeldDocument.source == "search",
            HeldDocument.document_id.not_in(matched),
        )
    )
    explicit = set(
        session.scalars(
            select(HeldDocument.document_id).where(
                HeldDocument.hold_id == hold.id, HeldDocument.source == "explicit"
            )
        )
    )
    _insert_held(session, hold.id, matched - explicit, source="search")
    return len(matched)


def refresh_all_search_scopes(session: Session) -> None:
    for hold in session.scalars(
        select(LegalHold).where(LegalHold.released_at.is_(None), LegalHold.search.is_not(None))
    ):
        refresh_search_scope(session, hold)


def _matches(session: Session, scope: dict[str, object]) -> Iterator[uuid.UUID]:
    actor = system_actor("retention")
    cursor: str | None = None
    while True:
        request = SearchRequest.model_validate({**scope, "limit": SEARCH_PAGE, "cursor": cursor})
        page = search.search(session, request=request, actor=actor)
        yield from (hit.document.id for hit in page.items)
        cursor = page.next_cursor
        if cursor is None:
            return
