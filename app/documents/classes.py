"""Document classes: listed for everyone, added by an administrator (no code change needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from app.audit.service import record
from app.deps import ActorDep, SessionDep
from app.documents.models import DocumentClass
from app.errors import Conflict, problem_responses
from app.locks import advisory_xact_lock
from app.security.access import open_new_class
from app.security.models import Role, Scope
from app.security.permissions import require_role
from schemas.documents import DocumentClassIn, DocumentClassOut

router = APIRouter(prefix="/document-classes", tags=["document classes"])


@router.get("", response_model=list[DocumentClassOut])
def list_classes(session: SessionDep, actor: ActorDep) -> list[DocumentClassOut]:
    classes = session.scalars(select(DocumentClass).order_by(DocumentClass.code))
    return [DocumentClassOut.model_validate(c) for c in classes]


@router.post(
    "",
    status_code=201,
    response_model=DocumentClassOut,
    responses=problem_responses(401, 403, 409, 422),
)
def create_class(new: DocumentClassIn, session: SessionDep, actor: ActorDep) -> DocumentClassOut:
    """Add a class (admin); admins and archivists may use it at once, auditors read it; the
    other roles get rights through `PUT /class-permissions/{class}/{role}`. No extractor runs
    for it."""
    require_role(actor, Role.admin, scope=Scope.admin)
    advisory_xact_lock(session, "document-class", new.code)
    if session.get(DocumentClass, new.code) is not None:
        raise Conflict(f"the document class {new.code!r} already exists", code=new.code)
    session.add(DocumentClass(code=new.code, name_en=new.name_en, name_pl=new.name_pl))
    session.flush()
    open_new_class(session, new.code)
    record(
        session,
        actor=actor.name,
        action="document_class.created",
        details=new.model_dump(),
    )
    session.flush()
    return DocumentClassOut.model_validate(new.model_dump())
