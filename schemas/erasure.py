"""Request and response models of GDPR erasure requests."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SubjectKind = Literal["pesel", "nip", "name"]
Outcome = Literal["retained", "scheduled", "held", "permanent", "undetermined"]


class Subject(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: SubjectKind
    value: str = Field(
        min_length=1,
        max_length=200,
        description="A PESEL (11 digits), a NIP (dashes, spaces and a PL prefix are fine) or a "
        "person's or company's name as written in the documents.",
    )


class ErasureRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    subject: Subject
    reference: str | None = Field(
        None, max_length=2000, description="The request's case number, letter or reason."
    )


class ErasureAnswerOut(BaseModel):
    """The answer for one document: `retained` until `retained_until` under `basis`, `held`,
    `permanent` (category A), `undetermined` (the trigger date is not known yet) or
    `scheduled` for destruction in batch `batch_number`."""

    model_config = ConfigDict(from_attributes=True)

    document_id: uuid.UUID
    title: str
    document_class: str | None
    retention_class: str | None
    symbol: str | None
    outcome: Outcome
    retained_until: date | None
    basis: str
    batch_id: uuid.UUID | None
    batch_number: str | None
    message: str


class ErasureRequestSummary(BaseModel):
    id: uuid.UUID
    subject: Subject
    reference: str | None
    requested_by: str
    created_at: datetime
    answered_at: datetime | None
    counts: dict[str, int] = Field(description="Answers by outcome.")
    not_indexed: int = Field(
        description="Documents still waiting for processing when the request was filed: not "
        "searched; file the request again once they are processed."
    )


class ErasureRequestOut(ErasureRequestSummary):
    answers: list[ErasureAnswerOut]


class ErasureRequestPage(BaseModel):
    items: list[ErasureRequestSummary]
    next_cursor: str | None = None
