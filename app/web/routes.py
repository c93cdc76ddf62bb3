"""The pages: login, dashboard, upload, search, document. Each reads and changes data through the
same services as the API; what the user may see is the same base query."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app.audit.repository import AuditFilter, filtered_events
from app.deps import SessionDep, SettingsDep
from app.documents import repository, service
from app.documents.fields import field_out, fields_of
from app.documents.models import Document, DocumentStatus
from app.reliability.fixity import integrity_problems
from app.search import service as search_service
from app.security import access
from app.security import service as accounts
from app.security.authentication import CSRF_COOKIE, SESSION_COOKIE
from app.security.permissions import may_edit, sees_pesel
from app.security.sensitive import mask_pesels
from app.web import circulation, retention
from app.web.i18n import LANG_COOKIE, LANGUAGES
from app.web.pages import PageRoute, PageUser, page_user, render, validated
from schemas.documents import DocumentPatch, normalise_tags
from schemas.search import SearchRequest
from schemas.security import GrantIn

router = APIRouter(route_class=PageRoute, include_in_schema=False)
UserDep = Annotated[PageUser, Depends(page_user)]

_ACTIVE = (DocumentStatus.pending, DocumentStatus.processing)


def _safe_next(target: str | None) -> str:
    """Only paths of this site: an open redirect would make the login page a phishing aid."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "login.html", next=_safe_next(next))


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    result = accounts.login(
        session,
        username=username,
        password=password,
        address=request.client.host if request.client else "unknown",
        settings=settings,
    )
    if result.refusal is not None or result.secret is None or result.csrf_token is None:
        refusal = result.refusal
        throttled = refusal is not None and refusal.status == 429
        return render(
            request,
            "login.html",
            status_code=refusal.status if refusal is not None else 401,
            next=_safe_next(next),
            username=username,
            error=refusal.detail if throttled and refusal else "Wrong username or password.",
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    max_age = int(settings.session_hours * 3600)
    response.set_cookie(
        SESSION_COOKIE,
        result.secret,
        max_age=max_age,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="lax",
    )
    response.set_cookie(
        CSRF_COOKIE,
        result.csrf_token,
        max_age=max_age,
        secure=settings.secure_cookies,
        samesite="strict",
    )
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, user: UserDep) -> Response:
    secret = request.cookies.get(SESSION_COOKIE)
    if secret is not None:
        accounts.logout(session, secret=secret, actor=user.actor)
    response = Response(status_code=204, headers={"HX-Redirect": "/login"})
    response.delete_cookie(SESSION_COOKIE)
    response.delete_cookie(CSRF_COOKIE)
    return response


@router.get("/language/{code}")
def choose_language(code: str, next: str | None = None) -> Response:
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=365 * 24 * 3600, samesite="lax")
    return response


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: UserDep) -> Response:
    return render(
        request,
        "dashboard.html",
        user,
        uploads=_my_uploads(session, user),
        tasks=circulation.my_tasks(session, user, limit=20),
    )


@router.get("/fragments/my-uploads", response_class=HTMLResponse)
def my_uploads(request: Request, session: SessionDep, user: UserDep) -> Response:
    return render(request, "_uploads.html", user, uploads=_my_uploads(session, user))


def _my_uploads(session: Session, user: PageUser) -> list[Document]:
    query = (
        repository.documents_query(user.actor)
        .where(Document.created_by == user.actor.name)
        .order_by(Document.created_at.desc())
        .limit(20)
    )
    return list(session.scalars(query))


@router.get("/upload", response_class=HTMLResponse)
def upload_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    return render(request, "upload.html", user, classes=repository.class_codes(session))


_SEARCH_KEYS = ("q", "class", "status", "uploaded_after", "uploaded_before", "cursor", "sort")


@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    params = {k: v for k, v in request.query_params.items() if v != ""}
    results, error = None, None
    try:
        search = SearchRequest.model_validate({**params, "limit": 20})
        results = search_service.search(session, request=search, actor=user.actor)
    except ValidationError as exc:
        error = "; ".join(str(e["msg"]) for e in exc.errors())
    template = "_results.html" if request.headers.get("hx-request") else "search.html"
    next_link = None
    if results is not None and results.next_cursor:
        kept = {k: v for k, v in params.items() if k != "cursor"}
        next_link = "/search?" + urlencode({**kept, "cursor": results.next_cursor})
    return render(
        request,
        template,
        user,
        params=params,
        results=results,
        error=error,
        next_link=next_link,
        classes=repository.class_codes(session),
        statuses=[s.value for s in DocumentStatus],
    )


@router.get("/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    document_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep
) -> Response:
    document = service.get_document(session, document_id, user.actor)
    return render(request, "document.html", user, **_document_context(session, document, user))


def _document_context(session: Session, document: Document, user: PageUser) -> dict[str, Any]:
    unmask = sees_pesel(user.actor)
    version = document.current_version
    pages = list(session.scalars(repository.pages_of(version.id))) if version else []
    audit: list[Any] = []
    if user.is_auditor:
        visible = repository.documents_query(user.actor).with_only_columns(Document.id)
        criteria = AuditFilter(document_id=document.id)
        audit = list(session.scalars(filtered_events(criteria, visible).limit(200)))
    return {
        **circulation.circulation_context(session, document.id, user),
        "document": document,
        "fields": [field_out(f, unmask=unmask) for f in fields_of(session, document.id)],
        "pages": pages,
        "page_text": {p.number: p.text if unmask else mask_pesels(p.text) for p in pages},
        "versions": list(session.scalars(repository.versions_of(document.id))),
        "editable": may_edit(session, user.actor, document),
        "integrity_problems": integrity_problems(session, document.id),
        "retention": retention.retention_of(session, document.id, user),
        "grants": access.grants_of(session, document_id=document.id, actor=user.actor),
        "classes": repository.class_codes(session),
        "audit": audit,
    }


@router.post("/documents/{document_id}/metadata", response_class=HTMLResponse)
def save_metadata(
    document_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    revision: Annotated[int, Form(ge=1)],
    title: Annotated[str, Form(max_length=500)] = "",
    document_class: Annotated[str, Form(max_length=64)] = "",
    tags: Annotated[str, Form(max_length=5000)] = "",
) -> Response:
    patch = DocumentPatch(
        title=title or None,
        document_class=document_class or None,
        tags=normalise_tags(tags.split(",")),
    )
    document = service.update_metadata(
        session,
        document_id=document_id,
        patch=patch,
        expected_revision=revision,
        actor=user.actor,
        stale_is_conflict=True,
    )
    return _both_sections(request, session, document, user, saved="metadata")


@router.post("/documents/{document_id}/fields", response_class=HTMLResponse)
def correct_field(
    document_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    revision: Annotated[int, Form(ge=1)],
    name: Annotated[str, Form(max_length=64)],
    value: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    document = service.correct_fields(
        session,
        document_id=document_id,
        values={name: value or None},
        expected_revision=revision,
        actor=user.actor,
        stale_is_conflict=True,
    )
    return _both_sections(request, session, document, user, saved="fields")


def _both_sections(
    request: Request, session: Session, document: Document, user: PageUser, *, saved: str
) -> Response:
    """The saved section, and the other one out of band: both forms carry the new revision."""
    context = _document_context(session, document, user)
    other = "fields" if saved == "metadata" else "metadata"
    target = render(request, f"_{saved}.html", user, saved=True, **context)
    extra = render(request, f"_{other}.html", user, oob=other, **context)
    return HTMLResponse(bytes(target.body) + bytes(extra.body))


def _grants_section(
    request: Request, session: Session, document_id: uuid.UUID, user: PageUser, **extra: Any
) -> Response:
    document = service.get_document(session, document_id, user.actor)
    return render(
        request,
        "_grants.html",
        user,
        document=document,
        grants=access.grants_of(session, document_id=document_id, actor=user.actor),
        editable=may_edit(session, user.actor, document),
        **extra,
    )


@router.post("/documents/{document_id}/grants", response_class=HTMLResponse)
def add_grant(
    document_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    grantee: Annotated[str, Form(max_length=64)],
    permission: Annotated[str, Form(pattern="^(view|edit)$")] = "view",
    expires_on: Annotated[date | None, Form()] = None,
) -> Response:
    """`grantee` is a username, or `role:<role>`."""
    role = grantee.removeprefix("role:") if grantee.startswith("role:") else None
    until = None if expires_on is None else datetime.combine(expires_on, time.max, tzinfo=UTC)
    new = validated(
        GrantIn,
        user=None if role else grantee.strip(),
        role=role,
        permission=permission,
        expires_at=until,
    )
    access.grant(session, document_id=document_id, new=new, actor=user.actor)
    return _grants_section(request, session, document_id, user, saved=True)


@router.post("/documents/{document_id}/grants/{grant_id}/revoke", response_class=HTMLResponse)
def revoke_grant(
    document_id: uuid.UUID,
    grant_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
) -> Response:
    access.revoke_grant(session, document_id=document_id, grant_id=grant_id, actor=user.actor)
    return _grants_section(request, session, document_id, user, saved=True)
