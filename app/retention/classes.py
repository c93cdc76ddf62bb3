"""Retention classes and the document classes they cover, as data an admin can change.

A change recomputes the retention of the documents it touches (holds still keep theirs from
shrinking).
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, delete, func, select, update
from sqlalchemy.orm import Session

from app.audit.service import record
from app.documents.models import Document, DocumentClass
from app.errors import NotFound, Unprocessable
from app.retention import service
from app.retention.models import ClassRetention, RetentionClass
from app.retention.rules import Category, RetentionRule, Trigger
from app.security.models import Role, Scope
from app.security.permissions import UNCLASSIFIED, require_role
from app.security.principal import Actor
from schemas.retention import ClassMappingIn, RetentionClassIn, RetentionClassOut


def class_out(row: RetentionClass, document_classes: list[str]) -> RetentionClassOut:
    symbol = RetentionRule(
        row.code, Category(row.category), row.period_years, Trigger(row.trigger), ""
    ).symbol
    return RetentionClassOut(
        code=row.code,
        name=row.name,
        category=row.category,
        period_years=row.period_years,
        trigger=row.trigger,
        round_to_year_end=row.round_to_year_end,
        condition=row.condition,
        legal_basis=row.legal_basis,
        is_default=row.is_default,
        symbol=symbol,
        document_classes=document_classes,
    )


def list_classes(session: Session) -> list[RetentionClassOut]:
    mapping: dict[str, list[str]] = {}
    for row in session.scalars(select(ClassRetention).order_by(ClassRetention.document_class)):
        mapping.setdefault(row.retention_class, []).append(row.document_class)
    rows = session.scalars(select(RetentionClass).order_by(RetentionClass.code))
    return [class_out(row, mapping.get(row.code, [])) for row in rows]


def put_class(
    session: Session, *, code: str, data: RetentionClassIn, actor: Actor
) -> RetentionClassOut:
    require_role(actor, Role.admin, Role.archivist, scope=Scope.write)
    if data.code != code:
        raise Unprocessable(f"the body names class {data.code!r}, the path {code!r}")
    row = session.get(RetentionClass, code, with_for_update=True)
    before = None if row is None else _snapshot(row)
    if row is None:
        row = RetentionClass(code=code)
        session.add(row)
    if data.is_default:
        session.execute(update(RetentionClass).values(is_default=False))
    for name, value in data.model_dump(exclude={"code"}).items():
        setattr(row, name, value)
    session.flush()
    record(
        session,
        actor=actor.name,
        action="retention.class_changed",
        details={"class": code, "from": before, "to": _snapshot(row)},
    )
    was_default = before is not None and bool(before["is_default"])
    _recompute(session, _covered_by(session, code, default=was_default or row.is_default), actor)
    return class_out(row, _document_classes_of(session, code))


def _snapshot(row: RetentionClass) -> dict[str, object]:
    return {
        "category": row.category,
        "period_years": row.period_years,
        "trigger": row.trigger,
        "round_to_year_end": row.round_to_year_end,
        "condition": row.condition,
        "is_default": row.is_default,
    }


def _document_classes_of(session: Session, code: str) -> list[str]:
    return list(
        session.scalars(
            select(ClassRetention.document_class).where(ClassRetention.retention_class == code)
        )
    )


def set_mapping(
    session: Session, *, document_class: str, data: ClassMappingIn, actor: Actor
) -> list[str]:
    require_role(actor, Role.admin, Role.archivist, scope=Scope.write)
    if session.get(DocumentClass, document_class) is None:
        raise NotFound(f"no document class {document_class!r}")
    unknown = set(data.retention_classes) - set(
        session.scalars(
            select(RetentionClass.code).where(RetentionClass.code.in_(data.retention_classes))
        )
    )
    if unknown:
        raise Unprocessable(f"no retention class {sorted(unknown)[0]!r}")
    session.execute(delete(ClassRetention).where(ClassRetention.document_class == document_class))
    session.add_all(
        ClassRetention(document_class=document_class, retention_class=code)
        for code in sorted(set(data.retention_classes))
    )
    session.flush()
    record(
        session,
        actor=actor.name,
        action="retention.mapping_changed",
        details={"document_class": document_class, "retention_classes": data.retention_classes},
    )
    _recompute(session, _effective_class() == document_class, actor)
    return sorted(set(data.retention_classes))


def _recompute(session: Session, condition: ColumnElement[bool], actor: Actor) -> None:
    """Synchronous: fine for thousands of documents; a class change is rare."""
    ids: list[uuid.UUID] = list(session.scalars(select(Document.id).where(condition)))
    for document_id in ids:
        service.recompute(session, document_id=document_id, actor=actor.name)


def _effective_class() -> ColumnElement[str]:
    return func.coalesce(Document.document_class, UNCLASSIFIED)


def _covered_by(session: Session, code: str, *, default: bool) -> ColumnElement[bool]:
    """Documents a retention class applies to: its document classes, and when it is (or was)
    the default, documents of every class without a mapping."""
    condition: ColumnElement[bool] = _effective_class().in_(_document_classes_of(session, code))
    if default:
        condition = condition | _effective_class().not_in(select(ClassRetention.document_class))
    return condition
