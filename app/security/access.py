"""Changing who may do what: class permissions (admin) and per-document grants."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.documents import repository
from app.documents import service as documents
from app.errors import NotFound, Unprocessable
from app.security.models import ClassPermission, DocumentGrant, Role, Scope, User
from app.security.permissions import require_edit, require_role
from app.security.principal import Actor
from schemas.security import ClassPermissionIn, GrantIn, GrantOut

# A class added later opens to these roles; admins change the rest.
_NEW_CLASS_RIGHTS: dict[Role, tuple[bool, bool, bool]] = {
    Role.admin: (True, True, True),
    Role.archivist: (True, True, True),
    Role.auditor: (True, False, False),
}


def open_new_class(session: Session, code: str) -> None:
    for role, (view, upload, edit) in _NEW_CLASS_RIGHTS.items():
        session.add(
            ClassPermission(
                document_class=code, role=role, can_view=view, can_upload=upload, can_edit=edit
            )
        )


def class_permissions(session: Session, actor: Actor) -> list[ClassPermission]:
    require_role(actor, Role.admin, Role.auditor)
    query = select(ClassPermission).order_by(ClassPermission.document_class, ClassPermission.role)
    return list(session.scalars(query))


def set_class_permission(
    session: Session, *, code: str, role: str, rights: ClassPermissionIn, actor: Actor
) -> ClassPermission:
    require_role(actor, Role.admin, scope=Scope.admin)
    if role not in set(Role):
        raise Unprocessable(f"unknown role {role!r}")
    if not repository.class_exists(session, code):
        raise NotFound(f"no document class {code!r}")
    row = session.get(ClassPermission, (code, role), with_for_update=True)
    before = None if row is None else _rights(row)
    if row is None:
        row = ClassPermission(document_class=code, role=role)
        session.add(row)
    row.can_view, row.can_upload, row.can_edit = rights.can_view, rights.can_upload, rights.can_edit
    record(
        session,
        actor=actor.name,
        action="permission.class_changed",
        details={"class": code, "role": role, "from": before, "to": rights.model_dump()},
    )
    session.flush()
    return row


def _rights(row: ClassPermission) -> dict[str, bool]:
    return {"can_view": row.can_view, "can_upload": row.can_upload, "can_edit": row.can_edit}


def grant(session: Session, *, document_id: uuid.UUID, new: GrantIn, actor: Actor) -> GrantOut:
    """Open one document to a user or a role: whoever may change the document may share it."""
    document = documents.get_document(session, document_id, actor)
    require_edit(session, actor, document)
    user = _grantee(session, new)
    if new.expires_at is not None and new.expires_at <= utcnow():
        raise Unprocessable("expires_at lies in the past")
    row = DocumentGrant(
        document_id=document.id,
        user_id=None if user is None else user.id,
        role=new.role,
        permission=new.permission,
        expires_at=new.expires_at,
        granted_by=actor.name,
    )
    session.add(row)
    session.flush()
    out = _grant_out(row, user.username if user else None)
    record(
        session,
        actor=actor.name,
        action="permission.granted",
        document_id=document.id,
        details=out.model_dump(mode="json", include={"id", "user", "role", "permission"}),
    )
    return out


def _grantee(session: Session, new: GrantIn) -> User | None:
    if (new.user is None) == (new.role is None):
        raise Unprocessable("name either a user or a role")
    if new.role is not None:
        if new.role not in set(Role):
            raise Unprocessable(f"unknown role {new.role!r}")
        return None
    user = session.scalars(select(User).where(User.username == new.user)).one_or_none()
    if user is None:
        raise Unprocessable(f"no user {new.user!r}")
    return user


def grants_of(session: Session, *, document_id: uuid.UUID, actor: Actor) -> list[GrantOut]:
    documents.get_document(session, document_id, actor)
    rows = session.execute(
        select(DocumentGrant, User.username)
        .outerjoin(User, User.id == DocumentGrant.user_id)
        .where(DocumentGrant.document_id == document_id)
        .order_by(DocumentGrant.created_at)
    )
    return [_grant_out(row, username) for row, username in rows]


def revoke_grant(
    session: Session, *, document_id: uuid.UUID, grant_id: uuid.UUID, actor: Actor
) -> None:
    document = documents.get_document(session, document_id, actor)
    require_edit(session, actor, document)
    row = session.get(DocumentGrant, grant_id, with_for_update=True)
    if row is None or row.document_id != document_id:
        raise NotFound(f"no grant {grant_id} on document {document_id}")
    session.delete(row)
    record(
        session,
        actor=actor.name,
        action="permission.revoked",
        document_id=document_id,
        details={"grant": str(grant_id)},
    )
    session.flush()


def _grant_out(row: DocumentGrant, username: str | None) -> GrantOut:
    return GrantOut(
        id=row.id,
        document_id=row.document_id,
        user=username,
        role=row.role,
        permission=row.permission,
        expires_at=row.expires_at,
        granted_by=row.granted_by,
        created_at=row.created_at,
    )
