"""HTTP endpoints of search: parse, call the service, shape the response."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from app.deps import SessionDep
from app.documents.models import DocumentStatus
from app.errors import problem_responses
from app.search import service
from schemas.search import MAX_QUERY_LENGTH, SearchRequest, SearchResults

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchResults, responses=problem_responses(400, 422))
def search(
    session: SessionDep,
    q: Annotated[str, Query(max_length=MAX_QUERY_LENGTH)] = "",
    document_class: Annotated[str | None, Query(alias="class")] = None,
    status: DocumentStatus | None = None,
    uploaded_after: datetime | None = None,
    uploaded_before: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: str | None = None,
) -> SearchResults:
    """Words (all must match, in any inflected form), "phrases", `OR`, `-exclusion` and
    `prefix*`; ranked by relevance, newest first without `q`. Follow `next_cursor`."""
    request = SearchRequest.model_validate(
        {
            "q": q,
            "class": document_class,
            "status": status,
            "uploaded_after": uploaded_after,
            "uploaded_before": uploaded_before,
            "limit": limit,
            "cursor": cursor,
        }
    )
    return service.search(session, request=request)


@router.post("", response_model=SearchResults, responses=problem_responses(400, 422))
def search_long(request: SearchRequest, session: SessionDep) -> SearchResults:
    """The same search with its parameters in a JSON body, for queries too long for a URL."""
    return service.search(session, request=request)
