"""Queries of the retention domain, as composable statements where they compose."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.documents.models import Document, DocumentField
from app.retention.models import (
    ClassRetention,
    DocumentRetention,
    HeldDocument,
    LegalHold,
    RetentionClass,
)
from app.retention.rules import Category, Condition, DocumentFacts, RetentionRule, Trigger
from app.security.permissions import UNCLASSIFIED

WARSAW = ZoneInfo("Europe/Warsaw")

UnfinishedCirculation = Callable[[], Select[uuid.UUID]]


@dataclass
class _Hooks:
    unfinished_circulation: UnfinishedCirculation | None = None


_hooks = _Hooks()


def register_unfinished_circulation(query: UnfinishedCirculation) -> None:
    """Circulation registers the ids of documents whose circulation is still running; until
    it does, no document counts as in circulation."""
    _hooks.unfinished_circulation = query


def in_unfinished_circulation() -> Select[uuid.UUID] | None:
    if _hooks.unfinished_circulation is None:
        # Importing circulation registers its query (see app/circulation/__init__.py); done
        # here, not at the top, because circulation imports retention. Without it, a process
        # that never loaded circulation (`docarchive purge`) would destroy running documents.
        import app.circulation  # noqa: F401

    return None if _hooks.unfinished_circulation is None else _hooks.unfinished_circulation()


def today() -> date:
    """Retention dates are Polish calendar dates."""
    return datetime.now(WARSAW).date()


def rule_of(row: RetentionClass) -> RetentionRule:
    return RetentionRule(
        code=row.code,
        category=Category(row.category),
        period_years=row.period_years,
        trigger=Trigger(row.trigger),
        legal_basis=row.legal_basis,
        round_to_year_end=row.round_to_year_end,
        condition=None if row.condition is None else Condition(row.condition),
    )


def rules_for(session: Session, document_class: str | None) -> list[RetentionRule]:
    """The classes mapped to a document class, or the default class when none is."""
    mapped = session.scalars(
        select(RetentionClass)
        .join(ClassRetention, ClassRetention.retention_class == RetentionClass.code)
        .where(ClassRetention.document_class == (document_class or UNCLASSIFIED))
        .order_by(RetentionClass.code)
    ).all()
    if mapped:
        return [rule_of(row) for row in mapped]
    default = session.scalars(select(RetentionClass).where(RetentionClass.is_default)).all()
    return [rule_of(row) for row in default]


def facts_of(session: Session, document: Document, row: DocumentRetention | None) -> DocumentFacts:
    """Extracted and manual fields win over custom metadata of the same name; custom metadata
    carries what extraction has no field for (`settlement_date`, `zus_osw_ria_filed`)."""
    fields: dict[str, Any] = dict(document.custom_fields or {})
    extracted = session.execute(
        select(DocumentField.name, DocumentField.value).where(
            DocumentField.document_id == document.id, DocumentField.value.is_not(None)
        )
    )
    fields.update({name: value for name, value in extracted if value is not None})
    finished = None if row is None else row.circulation_finished_at
    return DocumentFacts(
        uploaded_on=document.created_at.astimezone(WARSAW).date(),
        fields=fields,
        circulation_finished_on=None if finished is None else finished.astimezone(WARSAW).date(),
    )


def active_holds() -> Select[LegalHold]:
    return select(LegalHold).where(LegalHold.released_at.is_(None))


def held_ids() -> Select[uuid.UUID]:
    """Documents under at least one active hold."""
    return (
        select(HeldDocument.document_id)
        .join(LegalHold, LegalHold.id == HeldDocument.hold_id)
        .where(LegalHold.released_at.is_(None))
    )


def is_held(session: Session, document_id: uuid.UUID) -> bool:
    query = held_ids().where(HeldDocument.document_id == document_id).limit(1)
    return session.scalars(query).first() is not None


def holds_of(session: Session, document_id: uuid.UUID) -> list[LegalHold]:
    return list(
        session.scalars(
            active_holds()
            .join(HeldDocument, HeldDocument.hold_id == LegalHold.id)
            .where(HeldDocument.document_id == document_id)
            .order_by(LegalHold.created_at)
        )
    )
