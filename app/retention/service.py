"""Retention dates of documents: computed from the rules, kept from shrinking under a hold,
extended by hand, recomputed when what they depend on changes.

The documents service calls `recompute` after a class, metadata or field change; the worker
after processing; circulation calls `on_circulation_finished`.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.documents.models import Document
from app.retention import repository
from app.retention.models import DocumentRetention
from app.retention.rules import Category, Decision, RetentionRule, Status, decide, period_end

KEPT_UNDER_HOLD = "; not shortened: the document is under a legal hold"
# A citation of a provision: "art. 74", "artykuł 74", "§ 1", "Dz.U. 2018 poz. 357".
_STATUTE = re.compile(r"\b(?:art|artykuł\w*|article)\b\.?\s*\d|§|\bDz\.\s?U\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class _Outcome:
    status: Status
    retain_until: date | None
    due_on: date | None
    rule: str


def recompute(session: Session, *, document_id: uuid.UUID, actor: str) -> DocumentRetention | None:
    """Compute (again) the retention of one document in the caller's transaction.

    Not audited itself: the date is derived from what is (the edit, the processing result,
    the hold, the exclusion that caused the recomputation). `actor` names the cause for
    callers that audit it.
    """
    document = session.get(Document, document_id)
    if document is None:
        return None
    row = session.get(DocumentRetention, document_id, with_for_update=True)
    facts = repository.facts_of(session, document, row)
    decision = decide(repository.rules_for(session, document.document_class), facts)
    held = repository.is_held(session, document_id)
    if row is None:
        row = DocumentRetention(document_id=document_id, requalified_to_a=False)
    _apply(row, decision, held=held)
    session.add(row)
    session.flush()
    return row


def _apply(row: DocumentRetention, decision: Decision, *, held: bool) -> None:
    outcome = _outcome(row, decision)
    if held and _shorter(row, outcome):
        outcome = _Outcome(
            Status(row.status), row.retain_until, row.due_on, row.rule + KEPT_UNDER_HOLD
        )
    rule = decision.rule
    row.status = outcome.status
    row.retention_class = None if rule is None else rule.code
    row.category = Category.A if row.requalified_to_a else _or_none(rule, "category")
    row.symbol = "A" if row.requalified_to_a else _or_none(rule, "symbol")
    row.trigger_date = decision.trigger_date
    row.computed_until = decision.retain_until
    row.retain_until = outcome.retain_until
    row.due_on = outcome.due_on
    row.rule = outcome.rule
    row.basis = decision.basis
    row.computed_at = utcnow()


def _or_none(rule: RetentionRule | None, attribute: str) -> str | None:
    return None if rule is None else str(getattr(rule, attribute))


def _outcome(row: DocumentRetention, decision: Decision) -> _Outcome:
    outcome = _kept(row, decision)
    erased_on = row.erasure_requested_on
    if (
        erased_on is not None
        and outcome.status is Status.dated
        and outcome.retain_until is not None
        and outcome.retain_until >= erased_on
        and not statutory(decision.basis)
    ):
        # GDPR art. 17: nothing but a legal duty (art. 17(3)(b)) keeps it past the request.
        end = erased_on - timedelta(days=1)
        return _Outcome(
            outcome.status,
            end,
            end,
            f"{outcome.rule}; ended by an erasure request of {erased_on.isoformat()}: "
            "no statutory duty to keep it",
        )
    return outcome


def statutory(basis: str | None) -> bool:
    """Does the basis cite a provision of law (an article or a paragraph)?"""
    return basis is not None and _STATUTE.search(basis) is not None


def _kept(row: DocumentRetention, decision: Decision) -> _Outcome:
    if row.requalified_to_a:
        return _Outcome(Status.permanent, None, None, "requalified to category A by an expert")
    if decision.status is Status.permanent:
        return _Outcome(Status.permanent, None, _transfer_on(decision), decision.explanation)
    until = decision.retain_until
    if until is not None and row.extended_until is not None and row.extended_until > until:
        return _Outcome(
            decision.status,
            row.extended_until,
            row.extended_until,
            f"{decision.explanation}; extended to {row.extended_until.isoformat()}",
        )
    return _Outcome(decision.status, until, until, decision.explanation)


def _transfer_on(decision: Decision) -> date | None:
    """Category A is never destroyed; after its period it is listed in a transfer report."""
    rule = decision.rule
    if rule is None or decision.trigger_date is None:
        return None
    return period_end(rule, decision.trigger_date)


def _shorter(row: DocumentRetention, outcome: _Outcome) -> bool:
    """Would the new outcome let the document go sooner than the stored one?"""
    if row.status is None:
        return False
    if row.status != Status.dated:
        return outcome.status is Status.dated
    if outcome.status is not Status.dated:
        return False
    assert row.retain_until is not None
    assert outcome.retain_until is not None
    return outcome.retain_until < row.retain_until


def on_circulation_finished(
    session: Session, *, document_id: uuid.UUID, finished_at: datetime, actor: str = "circulation"
) -> DocumentRetention | None:
    """Circulation calls this when a document's circulation ends (its completion can be the
    trigger of a retention class)."""
    row = session.get(DocumentRetention, document_id, with_for_update=True)
    if row is None:
        row = recompute(session, document_id=document_id, actor=actor)
        if row is None:
            return None
    row.circulation_finished_at = finished_at
    session.flush()
    return recompute(session, document_id=document_id, actor=actor)


def extend(
    session: Session, *, document_id: uuid.UUID, until: date, actor: str
) -> DocumentRetention | None:
    """Keep a document at least until `until` (an exclusion from a batch with a new date)."""
    row = recompute(session, document_id=document_id, actor=actor)
    if row is None:
        return None
    row.extended_until = max(until, row.extended_until or until)
    # The archive's decision to keep, taken after an erasure request, is the later word.
    row.erasure_requested_on = None
    return recompute(session, document_id=document_id, actor=actor)


def requalify_to_a(session: Session, *, document_id: uuid.UUID, actor: str) -> None:
    """An expert decided a BE record has archival value: it becomes category A."""
    row = recompute(session, document_id=document_id, actor=actor)
    if row is not None:
        row.requalified_to_a = True
        recompute(session, document_id=document_id, actor=actor)


def recompute_missing(session: Session, *, limit: int = 5000, actor: str = "retention") -> int:
    """Documents that never got a retention row (older uploads, failed processing)."""
    missing = session.scalars(
        select(Document.id)
        .where(
            ~select(DocumentRetention.document_id)
            .where(DocumentRetention.document_id == Document.id)
            .exists()
        )
        .limit(limit)
    ).all()
    for document_id in missing:
        recompute(session, document_id=document_id, actor=actor)
    return len(missing)
