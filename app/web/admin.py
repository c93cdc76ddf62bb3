"""Administration pages: users and roles, class permissions, workflow definitions (a JSON editor
whose validation errors are shown in place). The security and circulation services decide."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.circulation import workflows
from app.deps import SessionDep
from app.documents import repository as documents
from app.errors import NotFound, Unprocessable
from app.retention import classes as retention
from app.security import access
from app.security import service as accounts
from app.security.models import Role
from app.security.permissions import require_role
from app.web.pages import PageRoute, PageUser, page_user, render, validated
from schemas.circulation import WorkflowDefinition
from schemas.retention import RetentionClassIn
from schemas.security import ClassPermissionIn

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)
UserDep = Annotated[PageUser, Depends(page_user)]
ROLES = [role.value for role in Role]


def _users_context(session: Session, user: PageUser) -> dict[str, Any]:
    return {"users": accounts.list_users(session, actor=user.actor), "roles": ROLES}


@router.get("/users", response_class=HTMLResponse)
def users_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    return render(request, "admin_users.html", user, **_users_context(session, user))


@router.post("/users", response_class=HTMLResponse)
def create_user(
    request: Request,
    session: SessionDep,
    user: UserDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    roles: Annotated[list[str] | None, Form()] = None,
) -> Response:
    accounts.create_user(
        session, username=username, password=password, roles=roles or [], actor=user.actor
    )
    return render(request, "_users.html", user, created=username, **_users_context(session, user))


@router.post("/users/{user_id}", response_class=HTMLResponse)
def update_user(
    user_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    roles: Annotated[list[str] | None, Form()] = None,
    active: Annotated[str, Form()] = "",
) -> Response:
    accounts.update_user(
        session, user_id=user_id, actor=user.actor, roles=roles or [], active=active == "on"
    )
    return render(request, "_users.html", user, **_users_context(session, user))


@router.get("/permissions", response_class=HTMLResponse)
def permissions_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    rows = access.class_permissions(session, user.actor)
    matrix = {(r.document_class, r.role): r for r in rows}
    return render(
        request,
        "admin_permissions.html",
        user,
        classes=documents.class_codes(session),
        roles=ROLES,
        matrix=matrix,
    )


@router.post("/permissions/{document_class}/{role}", response_class=HTMLResponse)
def set_permission(
    document_class: str,
    role: str,
    request: Request,
    session: SessionDep,
    user: UserDep,
    can_view: Annotated[str, Form()] = "",
    can_upload: Annotated[str, Form()] = "",
    can_edit: Annotated[str, Form()] = "",
) -> Response:
    rights = ClassPermissionIn(
        can_view=can_view == "on", can_upload=can_upload == "on", can_edit=can_edit == "on"
    )
    row = access.set_class_permission(
        session, code=document_class, role=role, rights=rights, actor=user.actor
    )
    return render(request, "_permission_cell.html", user, row=row, saved=True)


@router.get("/workflows", response_class=HTMLResponse)
def workflows_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    require_role(user.actor, Role.admin)
    editors = [
        {"workflow": w, "text": json.dumps(w.definition, indent=2, ensure_ascii=False)}
        for w in workflows.latest(session)
    ]
    return render(request, "admin_workflows.html", user, editors=editors)


@router.post("/workflows/{document_class}", response_class=HTMLResponse)
def save_workflow(
    document_class: str,
    request: Request,
    session: SessionDep,
    user: UserDep,
    definition: Annotated[str, Form(max_length=200_000)],
) -> Response:
    """A new version from the edited JSON; every problem is listed beside the editor."""
    problems: list[str] = []
    saved = None
    try:
        parsed = WorkflowDefinition.model_validate(json.loads(definition))
        saved = workflows.replace(
            session, document_class=document_class, definition=parsed, actor=user.actor
        )
    except json.JSONDecodeError as exc:
        problems = [f"JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"]
    except ValidationError as exc:
        problems = [f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
    except Unprocessable as exc:
        found = exc.extensions.get("errors") or []
        problems = [str(e.get("message", e)) for e in found] or [exc.detail]
    return render(
        request,
        "_workflow_editor.html",
        user,
        document_class=document_class,
        text=definition,
        problems=problems,
        saved=saved,
    )


@router.get("/retention", response_class=HTMLResponse)
def retention_classes_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    require_role(user.actor, Role.admin)
    return render(
        request, "admin_retention.html", user, retention_classes=retention.list_classes(session)
    )


@router.post("/retention/{code}", response_class=HTMLResponse)
def save_retention_class(
    code: str,
    request: Request,
    session: SessionDep,
    user: UserDep,
    category: Annotated[str, Form(max_length=4)],
    period_years: Annotated[int, Form(ge=0, le=200)],
    legal_basis: Annotated[str, Form(max_length=2000)],
) -> Response:
    """Change a class's category, period or basis; documents under it are recomputed."""
    current = next((c for c in retention.list_classes(session) if c.code == code), None)
    if current is None:
        raise NotFound(f"no retention class {code!r}")
    changed = {**current.model_dump(), "category": category, "period_years": period_years}
    changed["legal_basis"] = legal_basis
    data = validated(
        RetentionClassIn,
        **{k: v for k, v in changed.items() if k in RetentionClassIn.model_fields},
    )
    saved = retention.put_class(session, code=code, data=data, actor=user.actor)
    return render(request, "_retention_class.html", user, row=saved, saved=True)
