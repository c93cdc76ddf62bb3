"""Circulation (obieg dokumentów): workflow definitions as JSON, actions, timelines and inboxes."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

END = "end"
"""The pseudo step after the last one: reaching it approves the circulation."""

STEP_KEY = r"^[a-z][a-z0-9_]{0,47}$"


class StepKind(StrEnum):
    single = "single"
    all_of = "all_of"
    any_of = "any_of"
    quorum = "quorum"
    """N-of-M: `quorum` approvals among the step's tasks complete it."""


class Duty(StrEnum):
    """What a step means for segregation of duties."""

    register = "register"
    describe = "describe"
    approve = "approve"


class ConditionOp(StrEnum):
    eq = "eq"
    ne = "ne"
    gt = "gt"
    gte = "gte"
    lt = "lt"
    lte = "lte"
    in_ = "in"
    not_in = "not_in"
    present = "present"
    absent = "absent"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Assignee(_Strict):
    """Exactly one of: a user, a role, or a document fact looked up in a mapping table."""

    user: str | None = None
    role: str | None = None
    fact: str | None = None
    mapping: str | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Assignee:
        kinds = [self.user is not None, self.role is not None, self.fact is not None]
        if sum(kinds) != 1:
            raise ValueError("an assignee names exactly one of user, role or fact (+ mapping)")
        if (self.fact is None) != (self.mapping is None):
            raise ValueError("an assignee by fact names the mapping table to look it up in")
        return self

    def label(self) -> str:
        if self.user is not None:
            return f"user:{self.user}"
        if self.role is not None:
            return f"role:{self.role}"
        return f"{self.fact}->{self.mapping}"


class MappingTable(_Strict):
    """E.g. cost centre -> owner (username); `fallback` when the value is missing or unknown."""

    entries: dict[str, str] = Field(default_factory=dict)
    fallback: Assignee | None = None


class Condition(_Strict):
    """A test on a document fact: a field (gross_total, currency, seller_nip...), a metadata
    key (cost_centre), `document_class`, or `amount_pln` (gross amount converted to PLN)."""

    fact: str = Field(min_length=1, max_length=64)
    op: ConditionOp
    value: Any = None


class StepDefinition(_Strict):
    key: str = Field(pattern=STEP_KEY)
    name: str = Field(min_length=1, max_length=200)
    kind: StepKind = StepKind.single
    quorum: int | None = Field(default=None, ge=1)
    assignees: list[Assignee] = Field(default_factory=list)
    when: list[Condition] = Field(default_factory=list)
    """All must hold for the step to run; otherwise it is skipped."""
    due_business_days: int | None = Field(default=None, ge=1, le=120)
    escalate_to: Assignee | None = None
    next: str | None = None
    """The step after this one (or `end`); default: the next in the list."""
    on_reject: str = END
    """`end` rejects the circulation; a step key sends it back to that step."""
    duty: Duty | None = None
    delegate_to_roles: list[str] = Field(default_factory=list)
    """Roles a task may be delegated to; default: the roles among the assignees."""


class WorkflowDefinition(_Strict):
    name: str = Field(min_length=1, max_length=200)
    segregation_of_duties: bool = False
    currency_rates: dict[str, Decimal] = Field(default_factory=dict)
    """PLN per unit, stated by whoever maintains the definition. A currency without a rate makes
    `amount_pln` unknown, and an unknown amount counts as above every threshold."""
    mappings: dict[str, MappingTable] = Field(default_factory=dict)
    steps: list[StepDefinition] = Field(min_length=1, max_length=100)


class WorkflowIn(_Strict):
    document_class: str = Field(min_length=1, max_length=64)
    definition: WorkflowDefinition


class WorkflowOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    document_class: str
    version: int
    active: bool
    definition: WorkflowDefinition
    created_by: str
    created_at: datetime


class ActionName(StrEnum):
    claim = "claim"
    approve = "approve"
    reject = "reject"
    return_ = "return"
    delegate = "delegate"
    reassign = "reassign"
    comment = "comment"


class TaskAction(_Strict):
    action: ActionName
    comment: str | None = Field(default=None, max_length=4000)
    to_user: str | None = Field(default=None, max_length=64)
    """delegate / reassign: the username the task goes to."""
    to_step: str | None = Field(default=None, pattern=STEP_KEY)
    """return: the earlier step to send the circulation back to (default: the previous one)."""
    document_revision: int | None = Field(default=None, ge=1)
    """The revision the actor looked at; a newer one refuses the decision (409)."""


class StartCirculation(_Strict):
    workflow_version: int | None = Field(default=None, ge=1)


class TaskOut(BaseModel):
    id: uuid.UUID
    circulation_id: uuid.UUID
    document_id: uuid.UUID
    document_title: str | None = None
    document_class: str | None = None
    step: str
    step_name: str
    state: str
    assignee: str
    """`alice`, or `role:approver` for a task any holder of the role may claim."""
    on_behalf_of: str | None = None
    claimed_by: str | None = None
    due_at: datetime | None = None
    overdue: bool = False
    escalated_at: datetime | None = None
    escalated_to: str | None = None
    acted_by: str | None = None
    acted_on_behalf_of: str | None = None
    acted_at: datetime | None = None
    document_revision: int | None = None
    invalidated_at: datetime | None = None
    created_at: datetime


class TaskPage(BaseModel):
    items: list[TaskOut]
    next_cursor: str | None = None


class StepOut(BaseModel):
    key: str
    name: str
    round: int
    kind: str
    state: str
    required: int
    activated_at: datetime
    finished_at: datetime | None = None
    tasks: list[TaskOut]


class EventOut(BaseModel):
    id: int
    action: str
    step: str | None = None
    task_id: uuid.UUID | None = None
    actor: str
    on_behalf_of: str | None = None
    comment: str | None = None
    document_revision: int | None = None
    details: dict[str, Any]
    occurred_at: datetime


class CirculationOut(BaseModel):
    id: uuid.UUID
    document_id: uuid.UUID
    document_class: str
    workflow: str
    workflow_version: int
    state: str
    current_step: str | None = None
    started_by: str
    started_at: datetime
    finished_at: datetime | None = None
    pending: list[str]
    """Who may act now: usernames, or `role:<name>` for unclaimed role tasks."""
    steps: list[StepOut]
    events: list[EventOut]


class AbsenceIn(_Strict):
    substitute: str = Field(min_length=1, max_length=64)
    starts_on: date
    ends_on: date
    user: str | None = Field(default=None, max_length=64)
    """Whose absence; default: the caller (recording another user's absence needs admin)."""
    reason: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _ordered(self) -> AbsenceIn:
        if self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        return self


class AbsenceOut(BaseModel):
    id: uuid.UUID
    user: str
    substitute: str
    starts_on: date
    ends_on: date
    reason: str | None = None
    created_at: datetime


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: Literal["reminder", "overdue", "escalation"]
    message: str
    task_id: uuid.UUID | None = None
    document_id: uuid.UUID | None = None
    created_at: datetime
    read_at: datetime | None = None
