"""Pages of circulation: the inbox and, on a document's page, its timeline and the actions the
user may take. The engine's services decide; these routes only render their answers."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from app.circulation import absences, views
from app.circulation import repository as circulations
from app.circulation import service as engine
from app.circulation.models import Circulation
from app.db import utcnow
from app.deps import SessionDep
from app.documents import repository as document_queries
from app.documents import service as documents
from app.errors import DomainError
from app.security.permissions import may_edit
from app.web.pages import PageRoute, PageUser, page_user, render
from schemas.circulation import AbsenceIn, AbsenceOut, ActionName, TaskAction, TaskOut

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UserDep = Annotated[PageUser, Depends(page_user)]


def my_tasks(
    session: Session,
    user: PageUser,
    *,
    limit: int = 100,
    document_class: str | None = None,
    overdue: bool = False,
    document_id: uuid.UUID | None = None,
) -> list[TaskOut]:
    """The user's inbox, soonest due first: what `GET /api/v1/me/tasks` answers."""
    query = circulations.inbox(
        user.actor, document_class=document_class, overdue_at=utcnow() if overdue else None
    )
    if document_id is not None:
        query = query.where(Circulation.document_id == document_id)
    rows = session.execute(query.limit(limit)).all()
    return views.inbox_items(session, [(t, c, d) for t, c, d in rows], now=utcnow())


def _absences(session: Session, user: PageUser) -> list[AbsenceOut]:
    return absences.absences_out(session, absences.absences_of(session, user.actor))


@router.get("/inbox", response_class=HTMLResponse)
def inbox(
    request: Request,
    session: SessionDep,
    user: UserDep,
    document_class: Annotated[str | None, Query(alias="class", max_length=64)] = None,
    overdue: bool = False,
) -> Response:
    return render(
        request,
        "inbox.html",
        user,
        tasks=my_tasks(session, user, document_class=document_class or None, overdue=overdue),
        absences=_absences(session, user),
        classes=document_queries.class_codes(session),
        chosen_class=document_class,
        overdue=overdue,
        selectable=True,
    )


@router.post("/inbox/approve", response_class=HTMLResponse)
def approve_selected(
    request: Request,
    session: SessionDep,
    user: UserDep,
    task_ids: Annotated[list[uuid.UUID] | None, Form()] = None,
) -> Response:
    """Approve several tasks at once; each is decided by the engine on its own, so one refusal
    (segregation of duties, a comment the step requires) does not stop the others."""
    shown = {t.id: t for t in my_tasks(session, user, limit=500)}
    outcomes: list[tuple[TaskOut | None, str | None]] = []
    for task_id in task_ids or []:
        try:
            with session.begin_nested():
                engine.act(
                    session,
                    task_id=task_id,
                    request=TaskAction(action=ActionName.approve),
                    actor=user.actor,
                )
            outcomes.append((shown.get(task_id), None))
        except DomainError as exc:
            outcomes.append((shown.get(task_id), exc.detail))
    return render(
        request,
        "_bulk_result.html",
        user,
        outcomes=outcomes,
        tasks=my_tasks(session, user),
        selectable=True,
    )


@router.post("/absences", response_class=HTMLResponse)
def record_absence(
    request: Request,
    session: SessionDep,
    user: UserDep,
    substitute: Annotated[str, Form(max_length=64)],
    starts_on: Annotated[date, Form()],
    ends_on: Annotated[date, Form()],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    absence = AbsenceIn(
        substitute=substitute, starts_on=starts_on, ends_on=ends_on, reason=reason or None
    )
    absences.record_absence(session, absence=absence, actor=user.actor)
    return render(request, "_absences.html", user, absences=_absences(session, user), saved=True)


def circulation_context(session: Session, document_id: uuid.UUID, user: PageUser) -> dict[str, Any]:
    """The latest circulation of a document and the user's open tasks in it."""
    latest = session.scalars(circulations.circulations_of(document_id).limit(1)).first()
    mine = my_tasks(session, user, document_id=document_id)
    return {
        "circulation": None if latest is None else views.circulation_out(session, latest),
        "my_open_tasks": mine,
    }


def _section(
    request: Request, session: Session, document_id: uuid.UUID, user: PageUser, **extra: Any
) -> Response:
    document = documents.get_document(session, document_id, user.actor)
    context = circulation_context(session, document_id, user)
    editable = may_edit(session, user.actor, document)
    return render(
        request, "_circulation.html", user, document=document, editable=editable, **context, **extra
    )


@router.post("/documents/{document_id}/circulation/start", response_class=HTMLResponse)
def start(document_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep) -> Response:
    document = documents.get_document(session, document_id, user.actor)
    engine.start_circulation(session, document=document, actor=user.actor, workflow_version=None)
    return _section(request, session, document_id, user)


@router.post("/tasks/{task_id}/act", response_class=HTMLResponse)
def act(
    task_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    document_id: Annotated[uuid.UUID, Form()],
    action: Annotated[ActionName, Form()],
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    engine.act(
        session,
        task_id=task_id,
        request=TaskAction(action=action, comment=comment.strip() or None),
        actor=user.actor,
    )
    return _section(request, session, document_id, user, acted=action.value)
