"""Request and response models of the search API."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from schemas.documents import DocumentOut

MAX_QUERY_LENGTH = 2000
MAX_TAGS = 20


class SearchSort(StrEnum):
    relevance = "relevance"
    issue_date = "issue_date"
    uploaded_at = "uploaded_at"
    amount = "amount"


class SortDirection(StrEnum):
    desc = "desc"
    asc = "asc"


class SearchFilters(BaseModel):
    """What a search selects: web-search syntax in `q` (words, "phrases", OR, -exclusion,
    prefix*) and filters, all optional and combined with AND. Date ranges include both ends;
    an upload range is [after, before). A NIP may have dashes, spaces or a `PL` prefix."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    q: str = Field("", max_length=MAX_QUERY_LENGTH)
    document_class: str | None = Field(None, alias="class", max_length=64)
    status: str | None = Field(None, pattern="^(pending|processing|processed|failed)$")
    uploaded_after: datetime | None = None
    uploaded_before: datetime | None = None
    uploaded_by: str | None = Field(None, max_length=200)
    issued_from: date | None = None
    issued_to: date | None = None
    due_from: date | None = None
    due_to: date | None = None
    amount_min: Decimal | None = Field(None, description="Gross amount (a contract's value).")
    amount_max: Decimal | None = None
    currency: str | None = Field(None, pattern="^[A-Za-z]{3}$")
    seller_nip: str | None = Field(None, max_length=32)
    buyer_nip: str | None = Field(None, max_length=32)
    counterparty: str | None = Field(
        None, max_length=200, description="Seller, buyer or party name; typos tolerated."
    )
    tags_all: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    tags_any: list[str] = Field(default_factory=list, max_length=MAX_TAGS)
    invoice_number: str | None = Field(None, max_length=200)
    ksef_number: str | None = Field(None, max_length=64)
    circulation_state: Literal["none", "running", "approved", "rejected"] | None = Field(
        None, description="State of the document's latest circulation (`none`: never in one)."
    )
    under_legal_hold: bool | None = Field(
        None, description="true: held by an active legal hold; false: not held."
    )
    retention_due_before: date | None = Field(
        None, description="Retention ends before this date (documents with a known end)."
    )
    sort: SearchSort | None = Field(
        None,
        description="Default: relevance with `q`, upload date without. Documents without "
        "an issue date or amount come after the others in either direction.",
    )
    direction: SortDirection = SortDirection.desc


class SearchRequest(SearchFilters):
    """A search and the page wanted; an empty `q` lists what the filters select."""

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
    rank: float | None = Field(
        None,
        description="ts_rank_cd relevance, when sorted by it. Past 1000 matches the newest "
        "1000 are ranked.",
    )
    snippet: Snippet | None = None
    fuzzy: bool = Field(False, description="Matched only through a fuzzy correction.")


class FacetCount(BaseModel):
    value: str | None
    count: int


class Facets(BaseModel):
    """Counts over the whole matched set (all pages): exact while `total_exact`, otherwise
    counted over the newest 1000 matches and scaled to the estimated total."""

    document_class: list[FacetCount] = Field(serialization_alias="class")
    status: list[FacetCount]
    year: list[FacetCount] = Field(description="Year of the issue date.")
    counterparty: list[FacetCount] = Field(description="Most frequent sellers, buyers, parties.")


class SearchResults(BaseModel):
    items: list[SearchHit]
    total: int
    total_exact: bool = Field(
        True,
        description="False past 1000 matches: `total` is then the planner's estimate and the "
        "facets are scaled from the newest 1000.",
    )
    facets: Facets
    fuzzy: bool = Field(
        False, description="Exact matching found little: words were widened to similar ones."
    )
    fuzzy_terms: dict[str, list[str]] = Field(
        default_factory=dict, description="Each widened query term and what it also matched."
    )
    next_cursor: str | None


class SavedSearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    search: SearchFilters


class SavedSearchOut(BaseModel):
    id: uuid.UUID
    name: str
    search: dict[str, Any]
    created_at: datetime
