"""Saved searches: a user's named query and filters, run again later (the UI, legal holds).

Only the owner sees, runs or deletes one; anyone else gets 404, as if it did not exist.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from app.errors import Conflict, NotFound, Unprocessable
from app.search.models import SavedSearch
from app.security.principal import Actor
from schemas.search import SavedSearchIn, SavedSearchOut, SearchRequest

MAX_SAVED_PER_OWNER = 500


def _owned_by(actor: Actor) -> ColumnElement[bool]:
    if actor.user_id is not None:
        return SavedSearch.owner_user_id == actor.user_id
    return (SavedSearch.owner == actor.name) & SavedSearch.owner_user_id.is_(None)


def _owned(actor: Actor) -> Select[SavedSearch]:
    return select(SavedSearch).where(_owned_by(actor))


def saved_out(saved: SavedSearch) -> SavedSearchOut:
    return SavedSearchOut(
        id=saved.id,
        name=saved.name,
        search={"q": saved.query, **saved.filters},
        created_at=saved.created_at,
    )


def list_saved(session: Session, actor: Actor) -> list[SavedSearch]:
    return list(session.scalars(_owned(actor).order_by(SavedSearch.name)))


def create_saved(session: Session, actor: Actor, data: SavedSearchIn) -> SavedSearch:
    count = len(session.scalars(_owned(actor).with_only_columns(SavedSearch.id)).all())
    if count >= MAX_SAVED_PER_OWNER:
        raise Conflict(f"you have {count} saved searches, the most one may keep; delete some")
    filters = data.search.model_dump(
        mode="json", by_alias=True, exclude={"q"}, exclude_defaults=True
    )
    saved = SavedSearch(
        owner=actor.name,
        owner_user_id=actor.user_id,
        name=data.name,
        query=data.search.q,
        filters=filters,
    )
    try:
        with session.begin_nested():
            session.add(saved)
            session.flush()
    except IntegrityError as exc:
        raise Conflict(f"you already have a saved search named {data.name!r}") from exc
    return saved


def get_saved(session: Session, actor: Actor, saved_id: uuid.UUID) -> SavedSearch:
    saved = session.scalars(_owned(actor).where(SavedSearch.id == saved_id)).first()
    if saved is None:
        raise NotFound(f"no saved search {saved_id} of yours")
    return saved


def delete_saved(session: Session, actor: Actor, saved_id: uuid.UUID) -> None:
    session.delete(get_saved(session, actor, saved_id))
    session.flush()


def saved_request(saved: SavedSearch, *, limit: int, cursor: str | None) -> SearchRequest:
    """The stored search as a request; filters stored by an older version are re-validated."""
    stored: dict[str, Any] = {"q": saved.query, **saved.filters}
    try:
        return SearchRequest.model_validate({**stored, "limit": limit, "cursor": cursor})
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise Unprocessable(
            f"the saved search {saved.name!r} no longer fits the search API: "
            f"{'.'.join(map(str, problem['loc']))}: {problem['msg']}"
        ) from exc
