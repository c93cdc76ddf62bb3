"""Who may see and change which documents: the one place these rules live.

Visibility is a SQL predicate on `documents`, attached by `app.documents.repository` to every
query that reads documents, so that listing, search, counts, facets, downloads and the audit
trail cannot disagree. A document is visible to an actor when

- one of their roles may view its class (`class_permissions.can_view`; a document not yet
  classified counts as `other`), or
- they uploaded it and one of their roles may upload to its class ("clerk: see own"), or
- a grant that has not expired names them or one of their roles, or
- they hold an open circulation task on it (hook: `task_documents`).

System actors (the worker, `import`) see everything.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session

from app.documents.models import Document
from app.errors import Forbidden
from app.security.models import ClassPermission, DocumentGrant, GrantPermission, Role, Scope
from app.security.principal import Actor

UNCLASSIFIED = "other"
"""The class whose rules apply to a document the classifier has not classified yet."""

SEES_PESEL = frozenset({Role.hr})
"""Roles that see PESEL numbers unmasked and may look documents up by one."""

TaskDocuments = Callable[[Actor], Select[uuid.UUID]]


@dataclass
class _Hooks:
    task_documents: TaskDocuments | None = None


_hooks = _Hooks()


def register_task_documents(query: TaskDocuments) -> None:
    """Circulation registers the documents an actor holds an open task on."""
    _hooks.task_documents = query


def _effective_class() -> ColumnElement[str]:
    return func.coalesce(Document.document_class, UNCLASSIFIED)


def _classes_where(actor: Actor, right: Any) -> Select[str]:
    return select(ClassPermission.document_class).where(
        ClassPermission.role.in_(sorted(actor.roles)), right.is_(True)
    )


def _granted(actor: Actor, *permissions: str) -> ColumnElement[bool]:
    return exists().where(
        DocumentGrant.document_id == Document.id, *_grant_conditions(actor, *permissions)
    )


def _grant_conditions(actor: Actor, *permissions: str) -> list[ColumnElement[bool]]:
    holder: ColumnElement[bool] = DocumentGrant.role.in_(sorted(actor.roles))
    if actor.user_id is not None:
        holder = or_(DocumentGrant.user_id == actor.user_id, holder)
    return [
        holder,
        DocumentGrant.permission.in_(permissions),
        or_(DocumentGrant.expires_at.is_(None), DocumentGrant.expires_at > func.now()),
    ]


def visible(actor: Actor) -> ColumnElement[bool]:
    """The predicate on `documents` rows this actor may see."""
    if actor.is_system:
        return true()
    if not actor.may(Scope.read):
        return false()
    return or_(
        _effective_class().in_(_classes_where(actor, ClassPermission.can_view)),
        *_beyond_classes(actor),
    )


def viewable_classes(session: Session, actor: Actor) -> frozenset[str] | None:
    """The classes whose every document this actor may see (None: every class, a system
    actor). `visible` is these classes or what `seen_whatever_the_class` lists."""
    if actor.is_system:
        return None
    if not actor.may(Scope.read):
        return frozenset()
    return frozenset(session.scalars(_classes_where(actor, ClassPermission.can_view)))


def seen_whatever_the_class(actor: Actor) -> list[Select[uuid.UUID]]:
    """The ids of the documents an actor sees whatever their class (own uploads, grants,
    tasks), one query per rule, each through its own index; none for a system actor, who
    sees every class."""
    if actor.is_system or not actor.may(Scope.read):
        return []
    queries = [
        select(Document.id).where(_own_uploads(actor)),
        select(DocumentGrant.document_id).where(
            *_grant_conditions(actor, GrantPermission.view, GrantPermission.edit)
        ),
    ]
    if _hooks.task_documents is not None:
        queries.append(_hooks.task_documents(actor))
    return queries


def _own_uploads(actor: Actor) -> ColumnElement[bool]:
    """What they uploaded to a class their roles may upload to ("clerk: see own")."""
    return and_(
        Document.created_by == actor.name,
        _effective_class().in_(_classes_where(actor, ClassPermission.can_upload)),
    )


def _beyond_classes(actor: Actor) -> list[ColumnElement[bool]]:
    rules = [
        _own_uploads(actor),
        _granted(actor, GrantPermission.view, GrantPermission.edit),
    ]
    if _hooks.task_documents is not None:
        rules.append(Document.id.in_(_hooks.task_documents(actor)))
    return rules


def _has_class_right(session: Session, actor: Actor, code: str | None, right: Any) -> bool:
    if actor.is_system:
        return True
    query = _classes_where(actor, right).where(
        ClassPermission.document_class == (code or UNCLASSIFIED)
    )
    return session.scalars(query.limit(1)).first() is not None


def require_write_scope(actor: Actor) -> None:
    if not actor.may(Scope.write):
        raise Forbidden("this token was not given the 'write' scope")


def require_upload(session: Session, actor: Actor, document_class: str | None) -> None:
    require_write_scope(actor)
    if not _has_class_right(session, actor, document_class, ClassPermission.can_upload):
        shown = document_class or f"{UNCLASSIFIED} (no class given)"
        raise Forbidden(f"your roles may not upload documents of class {shown}")


def may_edit(session: Session, actor: Actor, document: Document) -> bool:
    if actor.is_system:
        return True
    if _has_class_right(session, actor, document.document_class, ClassPermission.can_edit):
        return True
    granted = select(Document.id).where(
        Document.id == document.id, _granted(actor, GrantPermission.edit)
    )
    return session.scalars(granted).first() is not None


def require_edit(session: Session, actor: Actor, document: Document) -> None:
    """For a document the actor can see: may they change it?"""
    require_write_scope(actor)
    if not may_edit(session, actor, document):
        raise Forbidden(f"you may read document {document.id} but not change it")


def require_class_edit(session: Session, actor: Actor, document_class: str | None) -> None:
    """Moving a document into a class needs the right to edit documents of that class."""
    if not _has_class_right(session, actor, document_class, ClassPermission.can_edit):
        raise Forbidden(f"your roles may not edit documents of class {document_class}")


def require_role(actor: Actor, *roles: Role, scope: Scope = Scope.read) -> None:
    """For what is not about one document: user management, the audit trail, settings."""
    if not actor.has_role(*roles):
        names = " or ".join(role.value for role in roles)
        raise Forbidden(f"this needs the role {names}")
    if not actor.may(scope):
        raise Forbidden(f"this token was not given the '{scope.value}' scope")


def sees_pesel(actor: Actor) -> bool:
    return actor.is_system or bool(SEES_PESEL & actor.roles)
