"""HTTP endpoints of circulation: inbox, timelines, task actions, workflows, absences."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from sqlalchemy.orm import Session

from app.circulation import absences, escalation, repository, service, views, workflows
from app.circulation.models import Absence, Workflow
from app.cursors import decode_cursor, encode_cursor
from app.db import utcnow
from app.deps import ActorDep, SessionDep
from app.documents import service as documents
from app.errors import NotFound, problem_responses
from app.security.permissions import require_write_scope
from schemas.circulation import (
    AbsenceIn,
    AbsenceOut,
    CirculationOut,
    NotificationOut,
    StartCirculation,
    TaskAction,
    TaskPage,
    WorkflowDefinition,
    WorkflowIn,
    WorkflowOut,
)

router = APIRouter(tags=["circulation"])


# --- inbox and notifications -------------------------------------------------------------


@router.get("/me/tasks", response_model=TaskPage, responses=problem_responses(400))
def my_tasks(
    session: SessionDep,
    actor: ActorDep,
    document_class: Annotated[str | None, Query(alias="class")] = None,
    step: str | None = None,
    overdue: bool = False,
    sort: Literal["due", "-due"] = "due",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> TaskPage:
    """Open tasks you may act on (yours, your role's unclaimed ones, those you substitute or
    that were escalated to you), soonest due first; follow `next_cursor`."""
    now = utcnow()
    query = repository.inbox(
        actor,
        document_class=document_class,
        step=step,
        overdue_at=now if overdue else None,
        descending=sort == "-due",
        after=None if cursor is None else decode_cursor(cursor),
    )
    rows = session.execute(query.limit(limit + 1)).all()
    page = [(task, c, d) for task, c, d in rows[:limit]]
    more = len(rows) > limit
    return TaskPage(
        items=views.inbox_items(session, page, now=now),
        next_cursor=encode_cursor(page[-1][0].due_at, page[-1][0].id) if more else None,
    )


@router.get("/me/notifications", response_model=list[NotificationOut])
def my_notifications(
    session: SessionDep, actor: ActorDep, unread: bool = False
) -> list[NotificationOut]:
    """Reminders and escalations of circulation tasks, newest first."""
    if actor.user_id is None:
        return []
    rows = escalation.notifications_for(session, actor.user_id, unread_only=unread)
    return [NotificationOut.model_validate(row, from_attributes=True) for row in rows]


@router.post(
    "/me/notifications/{notification_id}/read", status_code=204, responses=problem_responses(404)
)
def read_notification(notification_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    if actor.user_id is None or not escalation.mark_read(
        session, user_id=actor.user_id, notification_id=notification_id, now=utcnow()
    ):
        raise NotFound(f"no notification {notification_id}")
    return Response(status_code=204)


# --- circulations and actions ------------------------------------------------------------


@router.get(
    "/documents/{document_id}/circulation",
    response_model=CirculationOut,
    responses=problem_responses(404),
)
def get_circulation(document_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> CirculationOut:
    """The latest circulation of the document: steps, tasks, who acted, who is pending."""
    documents.get_document(session, document_id, actor)
    circulation = session.scalars(repository.circulations_of(document_id).limit(1)).first()
    if circulation is None:
        raise NotFound(f"document {document_id} has never been in circulation")
    return views.circulation_out(session, circulation)


@router.post(
    "/documents/{document_id}/circulation",
    status_code=201,
    response_model=CirculationOut,
    responses=problem_responses(403, 404, 409, 422),
)
def start_circulation(
    document_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    body: StartCirculation | None = None,
) -> CirculationOut:
    """Start the workflow of the document's class (its current version unless named)."""
    require_write_scope(actor)
    document = documents.get_document(session, document_id, actor)
    circulation = service.start_circulation(
        session,
        document=document,
        actor=actor,
        workflow_version=None if body is None else body.workflow_version,
    )
    return views.circulation_out(session, circulation)


@router.post(
    "/tasks/{task_id}/actions",
    response_model=CirculationOut,
    responses=problem_responses(403, 404, 409, 422),
)
def act_on_task(
    task_id: uuid.UUID, request: TaskAction, session: SessionDep, actor: ActorDep
) -> CirculationOut:
    """approve, reject (comment), return (comment, to_step), delegate / reassign (to_user),
    claim, comment. 409 with the current state when someone else got there first; the same
    action repeated by the same person answers as the first time."""
    require_write_scope(actor)
    return service.act(session, task_id=task_id, request=request, actor=actor)


# --- workflow definitions ----------------------------------------------------------------


def _workflow_out(workflow: Workflow) -> WorkflowOut:
    return WorkflowOut.model_validate(workflow, from_attributes=True)


@router.get("/workflows", response_model=list[WorkflowOut])
def list_workflows(session: SessionDep, actor: ActorDep) -> list[WorkflowOut]:
    """The latest version of each class's workflow (`active` false: retired)."""
    return [_workflow_out(w) for w in workflows.latest(session)]


@router.post(
    "/workflows",
    status_code=201,
    response_model=WorkflowOut,
    responses=problem_responses(403, 409, 422),
)
def create_workflow(new: WorkflowIn, session: SessionDep, actor: ActorDep) -> WorkflowOut:
    workflow = workflows.create(
        session, document_class=new.document_class, definition=new.definition, actor=actor
    )
    return _workflow_out(workflow)


@router.get(
    "/workflows/{document_class}", response_model=WorkflowOut, responses=problem_responses(404)
)
def get_workflow(document_class: str, session: SessionDep, actor: ActorDep) -> WorkflowOut:
    return _workflow_out(workflows.current(session, document_class))


@router.put(
    "/workflows/{document_class}",
    response_model=WorkflowOut,
    responses=problem_responses(403, 422),
)
def replace_workflow(
    document_class: str, definition: WorkflowDefinition, session: SessionDep, actor: ActorDep
) -> WorkflowOut:
    """Save a new version; running circulations keep the version they started with."""
    workflow = workflows.replace(
        session, document_class=document_class, definition=definition, actor=actor
    )
    return _workflow_out(workflow)


@router.delete(
    "/workflows/{document_class}", status_code=204, responses=problem_responses(403, 404)
)
def retire_workflow(document_class: str, session: SessionDep, actor: ActorDep) -> Response:
    workflows.retire(session, document_class=document_class, actor=actor)
    return Response(status_code=204)


@router.get(
    "/workflows/{document_class}/versions/{version}",
    response_model=WorkflowOut,
    responses=problem_responses(404),
)
def get_workflow_version(
    document_class: str, version: int, session: SessionDep, actor: ActorDep
) -> WorkflowOut:
    return _workflow_out(workflows.version(session, document_class, version))


# --- absences ----------------------------------------------------------------------------


@router.get("/absences", response_model=list[AbsenceOut])
def list_absences(session: SessionDep, actor: ActorDep) -> list[AbsenceOut]:
    """Your absences and those you substitute for."""
    rows = absences.absences_of(session, actor)
    return _absences_out(session, rows)


@router.post(
    "/absences", status_code=201, response_model=AbsenceOut, responses=problem_responses(403, 422)
)
def add_absence(absence: AbsenceIn, session: SessionDep, actor: ActorDep) -> AbsenceOut:
    require_write_scope(actor)
    row = absences.record_absence(session, absence=absence, actor=actor)
    return _absences_out(session, [row])[0]


@router.delete("/absences/{absence_id}", status_code=204, responses=problem_responses(403, 404))
def cancel_absence(absence_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    require_write_scope(actor)
    absences.cancel_absence(session, absence_id=absence_id, actor=actor)
    return Response(status_code=204)


def _absences_out(session: Session, rows: list[Absence]) -> list[AbsenceOut]:
    return absences.absences_out(session, rows)
