"""Circulations and tasks as the API shows them: usernames instead of ids, steps by name."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.circulation import repository
from app.circulation.definitions import step_by_key
from app.circulation.models import (
    OPEN_TASK_STATES,
    Circulation,
    CirculationEvent,
    CirculationStep,
    CirculationTask,
    Workflow,
)
from app.db import utcnow
from app.documents.models import Document
from app.security.models import User
from schemas.circulation import CirculationOut, EventOut, StepOut, TaskOut, WorkflowDefinition


def usernames(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(select(User.id, User.username).where(User.id.in_(wanted)))
    return dict(rows.all())


def task_people(task: CirculationTask) -> list[uuid.UUID | None]:
    return [
        task.assignee_user_id,
        task.on_behalf_of_user_id,
        task.claimed_by_user_id,
        task.escalated_to_user_id,
        task.acted_by_user_id,
        task.acted_on_behalf_of_user_id,
    ]


def task_out(
    task: CirculationTask,
    *,
    circulation: Circulation,
    names: Mapping[uuid.UUID, str],
    step_name: str,
    document: Document | None = None,
    now: datetime | None = None,
) -> TaskOut:
    def name(user_id: uuid.UUID | None) -> str | None:
        return None if user_id is None else names.get(user_id, str(user_id))

    is_open = task.state in OPEN_TASK_STATES
    return TaskOut(
        id=task.id,
        circulation_id=circulation.id,
        document_id=circulation.document_id,
        document_title=None if document is None else document.title,
        document_class=None if document is None else document.document_class,
        step=task.step_key,
        step_name=step_name,
        state=task.state,
        assignee=name(task.assignee_user_id) or f"role:{task.assignee_role}",
        on_behalf_of=name(task.on_behalf_of_user_id),
        claimed_by=name(task.claimed_by_user_id),
        due_at=task.due_at,
        overdue=is_open and task.due_at is not None and task.due_at < (now or utcnow()),
        escalated_at=task.escalated_at,
        escalated_to=name(task.escalated_to_user_id)
        or (None if task.escalated_to_role is None else f"role:{task.escalated_to_role}"),
        acted_by=name(task.acted_by_user_id),
        acted_on_behalf_of=name(task.acted_on_behalf_of_user_id),
        acted_at=task.acted_at,
        document_revision=task.document_revision,
        invalidated_at=task.invalidated_at,
        created_at=task.created_at,
    )


def definition_of(session: Session, workflow_id: uuid.UUID) -> tuple[Workflow, WorkflowDefinition]:
    workflow = session.get(Workflow, workflow_id)
    assert workflow is not None
    return workflow, WorkflowDefinition.model_validate(workflow.definition)


def step_name(definition: WorkflowDefinition, key: str) -> str:
    step = step_by_key(definition, key)
    return key if step is None else step.name


def circulation_out(session: Session, circulation: Circulation) -> CirculationOut:
    workflow, definition = definition_of(session, circulation.workflow_id)
    steps = list(session.scalars(repository.steps_of(circulation.id)))
    tasks = list(session.scalars(repository.tasks_of(circulation.id)))
    events = list(session.scalars(repository.events_of(circulation.id)))
    names = usernames(session, [p for t in tasks for p in task_people(t)])
    outs = [
        task_out(
            t, circulation=circulation, names=names, step_name=step_name(definition, t.step_key)
        )
        for t in tasks
    ]
    by_step: dict[uuid.UUID, list[TaskOut]] = {}
    for task, out in zip(tasks, outs, strict=True):
        by_step.setdefault(task.step_id, []).append(out)
    return CirculationOut(
        id=circulation.id,
        document_id=circulation.document_id,
        document_class=workflow.document_class,
        workflow=definition.name,
        workflow_version=workflow.version,
        state=circulation.state,
        current_step=circulation.current_step,
        started_by=circulation.started_by,
        started_at=circulation.started_at,
        finished_at=circulation.finished_at,
        pending=_pending(outs),
        steps=[_step_out(s, definition, by_step.get(s.id, [])) for s in steps],
        events=[_event_out(e) for e in events],
    )


def _pending(tasks: list[TaskOut]) -> list[str]:
    return [t.claimed_by or t.assignee for t in tasks if t.state in OPEN_TASK_STATES]


def _step_out(
    step: CirculationStep, definition: WorkflowDefinition, tasks: list[TaskOut]
) -> StepOut:
    return StepOut(
        key=step.step_key,
        name=step_name(definition, step.step_key),
        round=step.round,
        kind=step.kind,
        state=step.state,
        required=step.required,
        activated_at=step.activated_at,
        finished_at=step.finished_at,
        tasks=tasks,
    )


def _event_out(event: CirculationEvent) -> EventOut:
    return EventOut(
        id=event.id,
        action=event.action,
        step=event.step_key,
        task_id=event.task_id,
        actor=event.actor,
        on_behalf_of=event.on_behalf_of,
        comment=event.comment,
        document_revision=event.document_revision,
        details=dict(event.details),
        occurred_at=event.occurred_at,
    )


def inbox_items(
    session: Session,
    rows: Sequence[tuple[CirculationTask, Circulation, Document]],
    *,
    now: datetime,
) -> list[TaskOut]:
    """Rows of `repository.inbox` as the inbox shows them (API and pages alike)."""
    tasks = [task for task, _, _ in rows]
    names = usernames(session, [p for t in tasks for p in task_people(t)])
    definitions = {c.workflow_id: definition_of(session, c.workflow_id)[1] for _, c, _ in rows}
    return [
        task_out(
            task,
            circulation=c,
            names=names,
            step_name=step_name(definitions[c.workflow_id], task.step_key),
            document=d,
            now=now,
        )
        for task, c, d in rows
    ]
