"""Request and response models of retention: classes, document retention, holds, batches."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.search import SearchFilters


class RetentionClassIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")
    name: str = Field(min_length=1, max_length=300)
    category: str = Field(pattern="^(A|B|BE|Bc)$")
    period_years: int = Field(ge=0, le=200)
    trigger: str = Field(
        pattern="^(issue_date|financial_year_end|tax_payment_deadline|employment_end|"
        "contract_end|circulation_completion|upload)$"
    )
    round_to_year_end: bool = True
    condition: str | None = Field(
        None, pattern="^(hired_before_2019|hired_1999_2018_reported|hired_from_2019)$"
    )
    legal_basis: str = Field(min_length=1, max_length=2000)
    is_default: bool = False


class RetentionClassOut(RetentionClassIn):
    model_config = ConfigDict(from_attributes=True)

    symbol: str
    document_classes: list[str]


class ClassMappingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    retention_classes: list[str] = Field(max_length=20)


class StoreLockOut(BaseModel):
    """The S3 Object Lock one version's original carries, as last applied by the sync."""

    version: int
    locked_until: date | None
    mode: str | None
    legal_hold: bool
    synced_at: datetime


class DocumentRetentionOut(BaseModel):
    """`retain_until` null with status `unknown_trigger`: kept until the trigger is known;
    status `permanent`: category A, never destroyed; `destroyed`: only the tombstone is left."""

    document_id: uuid.UUID
    status: str
    retention_class: str | None
    category: str | None
    symbol: str | None
    retain_until: date | None
    trigger_date: date | None
    rule: str
    basis: str
    held_by: list[uuid.UUID] = Field(default_factory=list)
    extended_until: date | None = None
    store_locks: list[StoreLockOut] = Field(
        default_factory=list,
        description="S3 Object Lock of each version's original (empty: none applied)",
    )
    destroyed_at: datetime | None = None
    batch_id: uuid.UUID | None = None


class HoldIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=4000)
    case_reference: str | None = Field(None, max_length=200)
    document_ids: list[uuid.UUID] = Field(default_factory=list, max_length=10_000)
    search: SearchFilters | None = Field(
        None, description="Documents matching this search (now and later) are held too."
    )
    saved_search_id: uuid.UUID | None = Field(
        None, description="One of your saved searches; its filters are copied into the hold."
    )


class HoldDocumentsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    document_ids: list[uuid.UUID] = Field(min_length=1, max_length=10_000)


class HoldRelease(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000)


class HoldOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    reason: str
    case_reference: str | None
    search: dict[str, Any] | None
    saved_search_id: uuid.UUID | None
    created_by: str
    created_at: datetime
    released_at: datetime | None
    released_by: str | None
    release_reason: str | None
    documents: int = 0


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    ordinal: int
    document_id: uuid.UUID
    document_class: str | None
    retention_class: str | None
    symbol: str | None
    title: str
    date_from: date | None
    date_to: date | None
    retain_until: date | None
    remarks: str | None
    state: str
    decided_by: str | None


class BatchOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    number: str
    kind: str
    status: str
    created_at: datetime
    approved_by: str | None
    approved_at: datetime | None
    second_approved_by: str | None
    second_approved_at: datetime | None
    completed_at: datetime | None
    protocol_document_id: uuid.UUID | None
    counts: dict[str, int] = Field(default_factory=dict)


class BatchDetail(BatchOut):
    items: list[ItemOut]


class ExcludeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=4000)
    keep_until: date | None = Field(
        None, description="Keep the document at least until this date (retention extended)."
    )


class ApproveIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    second_approval_required: bool = Field(
        False, description="First approval only: wait for a second approver (head of the unit)."
    )


class CollectOut(BaseModel):
    batches: list[BatchOut]
    added: dict[str, int]


class PurgePlan(BaseModel):
    """What a collection run would add now, by batch kind, and approved batches waiting."""

    due: dict[str, int]
    approved_batches: list[str]
    seconds: float
