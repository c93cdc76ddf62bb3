"""Circulation queries, returned as composable `Select` statements."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    false,
    func,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import distinct_on

from app.circulation.models import (
    OPEN_TASK_STATES,
    Absence,
    Circulation,
    CirculationEvent,
    CirculationStep,
    CirculationTask,
    Notification,
    Workflow,
)
from app.documents.models import Document
from app.security.models import User
from app.security.principal import Actor


def current_workflow(document_class: str) -> Select[Workflow]:
    return (
        select(Workflow)
        .where(Workflow.document_class == document_class, Workflow.active.is_(True))
        .order_by(Workflow.version.desc())
        .limit(1)
    )


def workflow_version(document_class: str, version: int) -> Select[Workflow]:
    return select(Workflow).where(
        Workflow.document_class == document_class, Workflow.version == version
    )


def latest_workflows() -> Select[Workflow]:
    return (
        select(Workflow)
        .ext(distinct_on(Workflow.document_class))
        .order_by(Workflow.document_class, Workflow.version.desc())
    )


def absent_users_substituted_by(
    user_id: uuid.UUID, on: date | ColumnElement[date] | None = None
) -> Select[uuid.UUID]:
    """Users whose absence covering `on` (default: today) names `user_id` as substitute."""
    day = func.current_date() if on is None else on
    return select(Absence.user_id).where(
        Absence.substitute_user_id == user_id,
        Absence.starts_on <= day,
        Absence.ends_on >= day,
    )


def substitute_on(user_id: uuid.UUID, day: date) -> Select[uuid.UUID]:
    return (
        select(Absence.substitute_user_id)
        .where(Absence.user_id == user_id, Absence.starts_on <= day, Absence.ends_on >= day)
        .order_by(Absence.created_at.desc())
        .limit(1)
    )


def _open_task_for(actor: Actor) -> ColumnElement[bool]:
    """The actor holds the task: as assignee, claimant, substitute, role or escalation."""
    if actor.user_id is None:
        return false()
    roles = list(actor.roles)
    absent = absent_users_substituted_by(actor.user_id)
    holder = func.coalesce(CirculationTask.claimed_by_user_id, CirculationTask.assignee_user_id)
    return and_(
        CirculationTask.state.in_(OPEN_TASK_STATES),
        or_(
            holder == actor.user_id,
            holder.in_(absent),
            and_(holder.is_(None), CirculationTask.assignee_role.in_(roles)),
            CirculationTask.escalated_to_user_id == actor.user_id,
            and_(
                CirculationTask.escalated_at.is_not(None),
                CirculationTask.escalated_to_role.in_(roles),
            ),
        ),
    )


def open_task_document_ids(actor: Actor) -> Select[uuid.UUID]:
    """Documents on which the actor has an open task: they may read them while it is open."""
    return (
        select(Circulation.document_id)
        .join(CirculationTask, CirculationTask.circulation_id == Circulation.id)
        .where(_open_task_for(actor))
    )


def inbox(
    actor: Actor,
    *,
    document_class: str | None = None,
    step: str | None = None,
    overdue_at: datetime | None = None,
    descending: bool = False,
    after: tuple[datetime | None, uuid.UUID] | None = None,
) -> Select[CirculationTask, Circulation, Document]:
    """The actor's open tasks by due time (undated last), then id; optionally after a cursor.

    The order is that of the partial index on open tasks (due_at, id), so the first page is
    read from the index instead of sorting every open task the actor may see."""
    query = (
        select(CirculationTask, Circulation, Document)
        .join(Circulation, CirculationTask.circulation_id == Circulation.id)
        .join(Document, Document.id == Circulation.document_id)
        .where(_open_task_for(actor))
    )
    if document_class is not None:
        query = query.where(Document.document_class == document_class)
    if step is not None:
        query = query.where(CirculationTask.step_key == step)
    if overdue_at is not None:
        query = query.where(CirculationTask.due_at < overdue_at)
    if after is not None:
        query = query.where(_after(*after, descending=descending))
    if descending:
        return query.order_by(
            CirculationTask.due_at.desc().nulls_first(), CirculationTask.id.desc()
        )
    return query.order_by(CirculationTask.due_at.asc().nulls_last(), CirculationTask.id)


def _after(due: datetime | None, task_id: uuid.UUID, *, descending: bool) -> ColumnElement[bool]:
    due_at, id_ = CirculationTask.due_at, CirculationTask.id
    if due is None:
        same = and_(due_at.is_(None), id_ < task_id if descending else id_ > task_id)
        return or_(same, due_at.is_not(None)) if descending else same
    tie = and_(due_at == due, id_ < task_id if descending else id_ > task_id)
    if descending:
        return or_(due_at < due, tie)
    return or_(due_at > due, tie, due_at.is_(None))


def circulations_of(document_id: uuid.UUID) -> Select[Circulation]:
    return (
        select(Circulation)
        .where(Circulation.document_id == document_id)
        .order_by(Circulation.started_at.desc())
    )


def running_document_ids() -> Select[uuid.UUID]:
    """Documents whose circulation has not finished (retention keeps them)."""
    return select(Circulation.document_id).where(Circulation.state == "running")


def running_circulation(document_id: uuid.UUID) -> Select[Circulation]:
    return select(Circulation).where(
        Circulation.document_id == document_id, Circulation.state == "running"
    )


def steps_of(circulation_id: uuid.UUID) -> Select[CirculationStep]:
    return (
        select(CirculationStep)
        .where(CirculationStep.circulation_id == circulation_id)
        .order_by(CirculationStep.seq)
    )


def tasks_of(circulation_id: uuid.UUID) -> Select[CirculationTask]:
    return (
        select(CirculationTask)
        .where(CirculationTask.circulation_id == circulation_id)
        .order_by(CirculationTask.created_at, CirculationTask.id)
    )


def events_of(circulation_id: uuid.UUID) -> Select[CirculationEvent]:
    return (
        select(CirculationEvent)
        .where(CirculationEvent.circulation_id == circulation_id)
        .order_by(CirculationEvent.id)
    )


def overdue(now: datetime) -> ColumnElement[bool]:
    """An open task past its due time that has not been escalated yet."""
    return and_(
        CirculationTask.state.in_(OPEN_TASK_STATES),
        CirculationTask.due_at < now,
        CirculationTask.escalated_at.is_(None),
    )


def tasks_to_remind(soon: datetime, reminded_before: datetime) -> Select[CirculationTask]:
    return select(CirculationTask).where(
        CirculationTask.state.in_(OPEN_TASK_STATES),
        CirculationTask.due_at < soon,
        or_(CirculationTask.reminded_at.is_(None), CirculationTask.reminded_at < reminded_before),
    )


def active_users_with_role(role: str) -> Select[User]:
    return (
        select(User)
        .where(User.active.is_(True), User.roles.contains([role]))
        .order_by(User.username)
    )


def notifications_of(user_id: uuid.UUID) -> Select[Notification]:
    return (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id)
    )


def absences_involving(user_id: uuid.UUID) -> Select[Absence]:
    return (
        select(Absence)
        .where(or_(Absence.user_id == user_id, Absence.substitute_user_id == user_id))
        .order_by(Absence.starts_on.desc())
    )
