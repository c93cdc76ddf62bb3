"""Circulation tables: versioned workflow definitions, running circulations, their step
activations and tasks, the append-only event log, absences (zastępstwa) and notifications."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base, new_id, utcnow


class CirculationState(StrEnum):
    running = "running"
    approved = "approved"
    rejected = "rejected"


class StepState(StrEnum):
    active = "active"
    completed = "completed"
    rejected = "rejected"
    skipped = "skipped"
    returned = "returned"
    """Left because the circulation was sent back to an earlier step."""
    cancelled = "cancelled"


class TaskState(StrEnum):
    open = "open"
    claimed = "claimed"
    approved = "approved"
    rejected = "rejected"
    returned = "returned"
    delegated = "delegated"
    cancelled = "cancelled"


OPEN_TASK_STATES = (TaskState.open, TaskState.claimed)


class Workflow(Base):
    """One version of the circulation of a document class; running circulations keep theirs."""

    __tablename__ = "circulation_workflows"
    __table_args__ = (
        UniqueConstraint(
            "document_class", "version", name="uq_circulation_workflows_class_version"
        ),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_class: Mapped[str] = mapped_column(
        ForeignKey("document_classes.code", onupdate="CASCADE")
    )
    version: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)
    definition: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Circulation(Base):
    __tablename__ = "circulations"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'approved', 'rejected')", name="state_known"),
        Index(
            "uq_circulations_running_document",
            "document_id",
            unique=True,
            postgresql_where=text("state = 'running'"),
        ),
        Index("ix_circulations_state_finished_at", "state", "finished_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), index=True
    )
    workflow_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circulation_workflows.id"))
    state: Mapped[str] = mapped_column(String(16), default=CirculationState.running)
    current_step: Mapped[str | None] = mapped_column(String(48))
    step_seq: Mapped[int] = mapped_column(default=0)
    """Counter of step activations, for their order (a return starts a new round)."""
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class CirculationStep(Base):
    """One activation of a definition step; a step that runs again gets a new row."""

    __tablename__ = "circulation_steps"
    __table_args__ = (
        UniqueConstraint("circulation_id", "seq", name="uq_circulation_steps_circulation_seq"),
        CheckConstraint(
            "state IN ('active', 'completed', 'rejected', 'skipped', 'returned', 'cancelled')",
            name="state_known",
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    circulation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("circulations.id", ondelete="CASCADE")
    )
    seq: Mapped[int]
    step_key: Mapped[str] = mapped_column(String(48))
    round: Mapped[int] = mapped_column(default=1)
    kind: Mapped[str] = mapped_column(String(16))
    required: Mapped[int] = mapped_column(default=1)
    state: Mapped[str] = mapped_column(String(16), default=StepState.active)
    activated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class CirculationTask(Base):
    """A decision someone owes a step: assigned to a user (possibly as a substitute) or to a
    role, in which case a holder of the role claims it."""

    __tablename__ = "circulation_tasks"
    __table_args__ = (
        CheckConstraint(
            "(assignee_user_id IS NULL) <> (assignee_role IS NULL)", name="user_or_role"
        ),
        CheckConstraint(
            "state IN ('open', 'claimed', 'approved', 'rejected', 'returned', 'delegated', "
            "'cancelled')",
            name="state_known",
        ),
        Index(
            "ix_circulation_tasks_open_user",
            "assignee_user_id",
            "due_at",
            postgresql_where=text("state IN ('open', 'claimed')"),
        ),
        Index(
            "ix_circulation_tasks_open_role",
            "assignee_role",
            "due_at",
            postgresql_where=text("state IN ('open', 'claimed')"),
        ),
        Index(
            "ix_circulation_tasks_open_claimed",
            "claimed_by_user_id",
            postgresql_where=text("state IN ('open', 'claimed')"),
        ),
        Index(
            "ix_circulation_tasks_open_due",
            "due_at",
            "id",
            postgresql_where=text("state IN ('open', 'claimed')"),
        ),
    )

    # Users who took part are never deleted from under their decisions (they are deactivated).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    circulation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("circulations.id", ondelete="CASCADE"), index=True
    )
    step_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("circulation_steps.id", ondelete="CASCADE"), index=True
    )
    step_key: Mapped[str] = mapped_column(String(48))
    state: Mapped[str] = mapped_column(String(16), default=TaskState.open)
    assignee_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assignee_role: Mapped[str | None] = mapped_column(String(32))
    on_behalf_of_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    """Set when the task went to a substitute: the absent user it was meant for."""
    claimed_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    delegated_from_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("circulation_tasks.id", ondelete="CASCADE")
    )
    due_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    escalated_at: Mapped[datetime | None]
    escalated_to_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    escalated_to_role: Mapped[str | None] = mapped_column(String(32))
    acted_by_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acted_on_behalf_of_user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acted_at: Mapped[datetime | None]
    document_revision: Mapped[int | None]
    """The document revision the decision applied to."""
    invalidated_at: Mapped[datetime | None]
    """An approval that no longer counts (the document changed, or the path was redone)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CirculationEvent(Base):
    """Append-only history of a circulation (a trigger refuses UPDATE and DELETE)."""

    __tablename__ = "circulation_events"
    __table_args__ = (Index("ix_circulation_events_circulation_id_id", "circulation_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    circulation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("circulations.id", ondelete="CASCADE")
    )
    task_id: Mapped[uuid.UUID | None]
    step_key: Mapped[str | None] = mapped_column(String(48))
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    actor_user_id: Mapped[uuid.UUID | None]
    on_behalf_of: Mapped[str | None] = mapped_column(String(200))
    comment: Mapped[str | None] = mapped_column(Text)
    document_revision: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    occurred_at: Mapped[datetime] = mapped_column(default=utcnow)


class Absence(Base):
    """A user away between two dates (inclusive); their new tasks go to the substitute."""

    __tablename__ = "circulation_absences"
    __table_args__ = (
        CheckConstraint("ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("user_id <> substitute_user_id", name="not_self"),
        Index("ix_circulation_absences_user_dates", "user_id", "starts_on", "ends_on"),
        Index("ix_circulation_absences_substitute", "substitute_user_id", "starts_on"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    substitute_user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE")
    )
    starts_on: Mapped[date]
    ends_on: Mapped[date]
    reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Notification(Base):
    __tablename__ = "circulation_notifications"
    __table_args__ = (
        CheckConstraint("kind IN ('reminder', 'overdue', 'escalation')", name="kind_known"),
        Index("ix_circulation_notifications_user_created", "user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    task_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("circulation_tasks.id", ondelete="CASCADE")
    )
    document_id: Mapped[uuid.UUID | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
