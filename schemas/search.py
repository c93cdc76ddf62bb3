"""Request and response models of the search API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from schemas.documents import DocumentOut

MAX_QUERY_LENGTH = 2000


class SearchRequest(BaseModel):
    """A search: web-search syntax in `q` (words, "phrases", OR, -exclusion, prefix*) and
    filters; an empty `q` lists the documents the filters select, newest first."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str = Field("", max_length=MAX_QUERY_LENGTH)
    document_class: str | None = Field(None, alias="class", max_length=64)
    status: str | None = Field(None, pattern="^(pending|processing|processed|failed)$")
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None
    limit: int = Field(20, ge=1, le=100)
    cursor: str | None = Field(None, max_length=500)


class Highlight(BaseModel):
    """Character offsets [start, end) of a matched word in the snippet text."""

    start: int
    end: int


class Snippet(BaseModel):
    """A fragment of the page that matches best, with the matched words' offsets."""

    page: int
    text: str
    highlights: list[Highlight]


class SearchHit(BaseModel):
    document: DocumentOut
    rank: float | None = Field(None, description="ts_rank_cd relevance; null without a query.")
    snippet: Snippet | None = None


class FacetCount(BaseModel):
    value: str | None
    count: int


class Facets(BaseModel):
    """Counts over the whole matched set (all pages), by class and by status."""

    document_class: list[FacetCount] = Field(serialization_alias="class")
    status: list[FacetCount]


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int
    total_exact: bool = Field(
        True, description="Always exact for now; large totals will become estimates."
    )
    facets: Facets
    next_cursor: str | None
