"""HTTP endpoints of search and saved searches: parse, call the service, shape the response."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.deps import ActorDep, SessionDep
from app.errors import problem_responses
from app.search import saved, service
from schemas.search import SavedSearchIn, SavedSearchOut, SearchRequest, SearchResults

_search = APIRouter(prefix="/search", tags=["search"])
_saved = APIRouter(prefix="/saved-searches", tags=["search"])


@_search.get("", response_model=SearchResults, responses=problem_responses(400, 422))
def search(
    request: Annotated[SearchRequest, Query()], session: SessionDep, actor: ActorDep
) -> SearchResults:
    """Words (all must match, in any inflected form), "phrases", `OR`, `-exclusion` and
    `prefix*`, with filters; ranked by relevance, newest first without `q`, or `sort` by
    issue date, upload date or amount. When exact matching finds little, words are widened to
    similar indexed words (`fuzzy`). Repeat `tags_all` / `tags_any` for several tags. Follow
    `next_cursor`."""
    return service.search(session, request=request, actor=actor)


@_search.post("", response_model=SearchResults, responses=problem_responses(400, 422))
def search_long(request: SearchRequest, session: SessionDep, actor: ActorDep) -> SearchResults:
    """The same search with its parameters in a JSON body, for queries too long for a URL."""
    return service.search(session, request=request, actor=actor)


@_saved.get("", response_model=list[SavedSearchOut])
def list_saved(session: SessionDep, actor: ActorDep) -> list[SavedSearchOut]:
    """Your saved searches, by name."""
    return [saved.saved_out(s) for s in saved.list_saved(session, actor)]


@_saved.post(
    "", response_model=SavedSearchOut, status_code=201, responses=problem_responses(409, 422)
)
def create_saved(data: SavedSearchIn, session: SessionDep, actor: ActorDep) -> SavedSearchOut:
    """Save a search (query and filters) under a name of your own."""
    return saved.saved_out(saved.create_saved(session, actor, data))


@_saved.delete("/{saved_id}", status_code=204, responses=problem_responses(404))
def delete_saved(saved_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    saved.delete_saved(session, actor, saved_id)
    return Response(status_code=204)


@_saved.get(
    "/{saved_id}/results", response_model=SearchResults, responses=problem_responses(400, 404)
)
def saved_results(
    saved_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> SearchResults:
    """Run a saved search now, over what you may see now."""
    stored = saved.get_saved(session, actor, saved_id)
    request = saved.saved_request(stored, limit=limit, cursor=cursor)
    return service.search(session, request=request, actor=actor)


router = APIRouter()
router.include_router(_search)
router.include_router(_saved)
