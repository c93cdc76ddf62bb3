"""Document classes: listed for everyone, added by an administrator (no code change needed)."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from app.audit.service import record
from app.deps import ActorDep, SessionDep
from app.documents.models import DocumentClass
from app.errors import Conflict, problem_responses
from app.locks import advisory_xact_lock
from schemas.documents import DocumentClassIn, DocumentClassOut

router = APIRouter(prefix="/document-classes", tags=["document classes"])


@router.get("", response_model=list[DocumentClassOut])
def list_classes(session: SessionDep) -> list[DocumentClassOut]:
    classes = session.scalars(select(DocumentClass).order_by(DocumentClass.code))
    return [DocumentClassOut.model_validate(c) for c in classes]


@router.post(
    "", status_code=201, response_model=DocumentClassOut, responses=problem_responses(409, 422)
)
def create_class(new: DocumentClassIn, session: SessionDep, actor: ActorDep) -> DocumentClassOut:
    """Add a class; documents can be uploaded with it at once (no extractor runs for it)."""
    advisory_xact_lock(session, "document-class", new.code)
    if session.get(DocumentClass, new.code) is not None:
        raise Conflict(f"the document class {new.code!r} already exists", code=new.code)
    session.add(DocumentClass(code=new.code, name_en=new.name_en, name_pl=new.name_pl))
    record(
        session,
        actor=actor.name,
        action="document_class.created",
        details=new.model_dump(),
    )
    session.flush()
    return DocumentClassOut.model_validate(new.model_dump())
