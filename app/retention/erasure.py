"""GDPR erasure requests (art. 17): every document of a data subject, and per document why it
is kept (a legal duty to keep it overrides erasure, art. 17(3)(b); a legal hold, 17(3)(e)) or
that it is listed for destruction. The answers are recorded with the request.

The search covers every document (a company-wide duty), not what the filer may see.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select, tuple_
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.documents.models import Document, DocumentVersion
from app.documents.repository import documents_query
from app.errors import NotFound, Unprocessable
from app.locks import advisory_xact_lock
from app.retention import disposal, holds, repository, service
from app.retention.erasure_models import ErasureAnswer, ErasureRequest, Outcome, SubjectKind
from app.retention.models import (
    BatchKind,
    DisposalBatch,
    DisposalItem,
    DocumentRetention,
    HeldDocument,
    ItemState,
    LegalHold,
    RetentionClass,
)
from app.retention.rules import Category, Status
from app.search.filters import search_conditions, terms_match
from app.search.models import DocumentSearch
from app.search.pesel import pesel_lexeme
from app.search.query import parse_query
from app.security.models import Role, Scope
from app.security.permissions import require_role
from app.security.principal import Actor, system_actor
from app.security.sensitive import mask_pesels
from schemas.erasure import Subject
from schemas.search import SearchFilters
from workers.extract.identifiers import is_valid_pesel, mask_pesel, normalise_nip, pesel_birth_date

log = logging.getLogger(__name__)

ROLES = (Role.archivist, Role.legal, Role.admin)
FINDER = system_actor("erasure")
# A basis that cites an article or a paragraph of a statute is a legal duty to keep; the seeded
# default class ("an expert reviews them") and pro-forma invoices ("kept while in use") cite none.
_SEPARATORS = re.compile(r"[\s-]+")


def require_reader(actor: Actor) -> None:
    require_role(actor, *ROLES)


# --- the subject ----------------------------------------------------------------------------


def normalised(subject: Subject) -> tuple[SubjectKind, str]:
    """The subject's value as stored and searched; 422 when it cannot be anyone's."""
    kind = SubjectKind(subject.kind)
    if kind is SubjectKind.pesel:
        return kind, _pesel(subject.value)
    if kind is SubjectKind.nip:
        return kind, _nip(subject.value)
    return kind, _name(subject.value)


def _pesel(raw: str) -> str:
    pesel = _SEPARATORS.sub("", raw)
    if not is_valid_pesel(pesel):
        raise Unprocessable(f"not a valid PESEL: {_pesel_problem(pesel)}", field="subject.value")
    return pesel


def _pesel_problem(value: str) -> str:
    if not re.fullmatch(r"[0-9]{11}", value):
        return "a PESEL has 11 digits"
    if pesel_birth_date(value) is None:
        return "it encodes an impossible birth date"
    return "its check digit is wrong"


def _nip(raw: str) -> str:
    nip = normalise_nip(raw)
    if nip is None:
        raise Unprocessable(
            "not a valid NIP: 10 digits with a correct check digit (dashes, spaces and a PL "
            "prefix are fine)",
            field="subject.value",
        )
    return nip


def _name(raw: str) -> str:
    name = " ".join(raw.replace('"', " ").split())
    if not any(char.isalpha() for char in name):
        raise Unprocessable("a name needs letters", field="subject.value")
    return name


def shown_subject(kind: str, value: str, *, unmasked: bool) -> str:
    """The subject as a caller may see it: a PESEL masked, also one typed into a name."""
    if unmasked:
        return value
    return mask_pesel(value) if kind == SubjectKind.pesel else mask_pesels(value)


# --- finding --------------------------------------------------------------------------------


def _condition(kind: SubjectKind, value: str) -> ColumnElement[bool]:
    """PESEL: its keyed hash in the index; NIP: seller or buyer NIP, or the number anywhere in
    the text; name: the words as a phrase (Polish forms match), or a counterparty name."""
    if kind is SubjectKind.pesel:
        return terms_match(f"'{pesel_lexeme(value)}'")
    if kind is SubjectKind.nip:
        text_query = parse_query(value).tsquery
        assert text_query is not None
        return or_(
            DocumentSearch.seller_nip == value,
            DocumentSearch.buyer_nip == value,
            terms_match(text_query),
        )
    phrase = parse_query(f'"{value}"').tsquery
    named = search_conditions(SearchFilters(counterparty=value))
    return or_(*named) if phrase is None else or_(terms_match(phrase), *named)


def subject_documents(kind: SubjectKind, value: str) -> Select[uuid.UUID]:
    return (
        documents_query(FINDER)
        .with_only_columns(Document.id)
        .join(DocumentSearch, DocumentSearch.document_id == Document.id)
        .where(_condition(kind, value))
        .order_by(Document.id)
    )


def _not_indexed(session: Session) -> int:
    waiting = select(func.count(Document.id)).where(
        Document.id.not_in(select(DocumentSearch.document_id))
    )
    return int(session.scalar(waiting) or 0)


# --- what is known of each document ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Listed:
    batch_id: uuid.UUID
    number: str
    kind: str
    excluded: str | None = None
    """The archive's reason, when the document was excluded from that open batch."""


@dataclass(frozen=True, slots=True)
class Found:
    """A document of the subject and everything its answer depends on."""

    document_id: uuid.UUID
    title: str
    document_class: str | None
    retention: DocumentRetention
    trigger: str | None
    holds: tuple[tuple[str, str | None], ...]
    circulating: bool
    listed: Listed | None


def _found(session: Session, ids: list[uuid.UUID]) -> list[Found]:
    retention = _retention(session, ids)
    triggers = _triggers(session, {row.retention_class or "" for row in retention.values()})
    held = _holds(session, ids)
    circulating = _circulating(session, ids)
    listed = _listed(session, ids)
    return [
        Found(
            document_id=document_id,
            title=title,
            document_class=document_class,
            retention=retention[document_id],
            trigger=triggers.get(retention[document_id].retention_class or ""),
            holds=tuple(held.get(document_id, [])),
            circulating=document_id in circulating,
            listed=listed.get(document_id),
        )
        for document_id, title, document_class in _titles(session, ids)
        if document_id in retention
    ]


def _triggers(session: Session, codes: set[str]) -> dict[str, str]:
    """What each retention class counts from (named when the trigger is not known yet)."""
    query = select(RetentionClass.code, RetentionClass.trigger).where(
        RetentionClass.code.in_(codes)
    )
    return {row.code: row.trigger for row in session.execute(query)}


def _retention(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, DocumentRetention]:
    """Each document's retention row (locked: a shortened date is written below), computed now
    for documents that never got one."""
    rows = {
        row.document_id: row
        for row in session.scalars(
            select(DocumentRetention)
            .where(DocumentRetention.document_id.in_(ids))
            .with_for_update()
        )
    }
    for document_id in set(ids) - set(rows):
        row = service.recompute(session, document_id=document_id, actor=FINDER.name)
        if row is not None:
            rows[document_id] = row
    return rows


def _titles(session: Session, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str, str | None]]:
    rows = session.execute(
        select(
            Document.id, Document.title, DocumentVersion.original_filename, Document.document_class
        )
        .outerjoin(DocumentVersion, DocumentVersion.id == Document.current_version_id)
        .where(Document.id.in_(ids))
    )
    titled = [(d, title or filename or str(d), cls) for d, title, filename, cls in rows]
    return sorted(titled, key=lambda row: (row[1], row[0]))


def _holds(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, str | None]]]:
    held: dict[uuid.UUID, list[tuple[str, str | None]]] = {}
    rows = session.execute(
        repository.active_holds()
        .join(HeldDocument, HeldDocument.hold_id == LegalHold.id)
        .where(HeldDocument.document_id.in_(ids))
        .with_only_columns(HeldDocument.document_id, LegalHold.name, LegalHold.case_reference)
        .order_by(LegalHold.created_at)
    )
    for document_id, name, case in rows:
        held.setdefault(document_id, []).append((name, case))
    return held


def _circulating(session: Session, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    running = repository.in_unfinished_circulation()
    if running is None:
        return set()
    return set(
        session.scalars(select(Document.id).where(Document.id.in_(ids), Document.id.in_(running)))
    )


def _listed(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Listed]:
    """Documents waiting in an open batch, or excluded from one by the archive (a decision the
    request does not overturn; the document is not listed twice)."""
    rows = session.execute(
        select(
            DisposalItem.document_id, DisposalBatch.id, DisposalBatch.number, DisposalBatch.kind,
            DisposalItem.state, DisposalItem.remarks,
        )
        .join(DisposalBatch, DisposalBatch.id == DisposalItem.batch_id)
        .where(
            DisposalItem.document_id.in_(ids),
            DisposalItem.state.in_([ItemState.pending, ItemState.destroying, ItemState.excluded]),
            DisposalBatch.status.in_(disposal.OPEN_STATES),
        )
    )  # fmt: skip
    return {
        row[0]: Listed(
            row[1], row[2], row[3], (row[5] or "no reason given") if row[4] == "excluded" else None
        )
        for row in rows
    }


# --- deciding -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    outcome: Outcome
    message: str
    """For `scheduled`: why; the batch's number is put in front once it is known."""
    retained_until: date | None = None
    listed: Listed | None = None
    schedule: bool = False
    """To be added to the draft destruction batch."""


def answer(found: Found, today: date) -> Answer:
    """In this order: a hold, category A, an unknown trigger, a legal duty not yet ended, a
    circulation still running, an expert review (BE), and otherwise destruction."""
    row = found.retention
    basis = row.basis or "no legal basis"
    if found.holds:
        return Answer(Outcome.held, _held(found.holds), row.retain_until)
    if row.category == Category.A or row.status == Status.permanent:
        return Answer(Outcome.permanent, f"kept permanently (category A) under {basis}")
    if row.status == Status.unknown_trigger:
        return Answer(Outcome.undetermined, _undetermined(found, basis))
    duty = service.statutory(row.basis)
    if duty and row.retain_until is not None and row.retain_until >= today:
        return Answer(Outcome.retained, _retained(row, basis), row.retain_until)
    if found.listed is not None and found.listed.excluded is not None:
        message = (
            f"retained: excluded from batch {found.listed.number} by the archive "
            f"({found.listed.excluded}) under {basis}"
        )
        return Answer(Outcome.retained, message, row.retain_until, listed=found.listed)
    if found.circulating:
        return Answer(Outcome.retained, _circulating_message(duty, basis))
    if row.category == Category.BE:  # only an expert's review may let it go
        return Answer(Outcome.retained, _expert_message(found, basis), listed=found.listed)
    why = _why_destroyed(row, duty, basis)
    if _listed_as(found, BatchKind.destruction):
        return Answer(Outcome.scheduled, why, listed=found.listed)
    return Answer(Outcome.scheduled, why, schedule=True)


def _listed_as(found: Found, kind: BatchKind) -> bool:
    return found.listed is not None and found.listed.kind == kind


def _held(holds_: Sequence[tuple[str, str | None]]) -> str:
    named = [f"legal hold {name}" + (f", case {case}" if case else "") for name, case in holds_]
    return "retained: " + "; ".join(named)


def _undetermined(found: Found, basis: str) -> str:
    missing = (
        "no retention class applies"
        if found.trigger is None
        else f"the {found.trigger.replace('_', ' ')} is not known"
    )
    return f"retained: the retention period cannot be computed yet ({missing}) under {basis}"


def _retained(row: DocumentRetention, basis: str) -> str:
    assert row.retain_until is not None
    message = f"retained until {row.retain_until.isoformat()} under {basis}"
    statutory_end = row.computed_until
    if row.extended_until is not None and statutory_end and row.extended_until > statutory_end:
        message += (
            f" (the statutory period ends on {statutory_end.isoformat()}; extended by the archive)"
        )
    return message


def _circulating_message(duty: bool, basis: str) -> str:
    if duty:
        return (
            "retained until its circulation finishes; its retention under "
            f"{basis} has ended, so it is listed for destruction after that"
        )
    return (
        f"retained until its circulation finishes; no statutory duty to keep it ({basis}): "
        "file the request again once the circulation has finished"
    )


def _expert_message(found: Found, basis: str) -> str:
    message = f"retained pending expert review (category BE) under {basis}"
    if found.listed is not None:
        message += f", in expert review batch {found.listed.number}"
    return message


def _why_destroyed(row: DocumentRetention, duty: bool, basis: str) -> str:
    if duty and row.retain_until is not None:
        return f"its retention under {basis} ended on {row.retain_until.isoformat()}"
    return f"no statutory duty to keep it ({basis})"


# --- filing ---------------------------------------------------------------------------------


def file_request(
    session: Session, *, subject: Subject, requested_by: Actor, reference: str | None
) -> ErasureRequest:
    """Find the subject's documents, answer for each, list the ones that may go in the draft
    destruction batch, and record it all with an audit event, in the caller's transaction."""
    require_role(requested_by, *ROLES, scope=Scope.write)
    kind, value = normalised(subject)
    request = ErasureRequest(
        subject_kind=kind, subject_value=value, reference=reference,
        requested_by=requested_by.name, counts={}, not_indexed=_not_indexed(session),
    )  # fmt: skip
    session.add(request)
    session.flush()
    # the collection's lock first, as `collect` takes it: nothing is listed twice meanwhile
    advisory_xact_lock(session, "retention", "collect")
    holds.lock_holds(session, shared=True)
    holds.refresh_all_search_scopes(session)
    ids = list(session.scalars(subject_documents(kind, value)))
    found = _found(session, ids)
    today = repository.today()
    answers = {item.document_id: answer(item, today) for item in found}
    batch = _schedule(session, request, found, answers, today)
    _record_answers(session, request, found, answers, batch)
    _audit(session, request, requested_by)
    log.info("erasure request %s answered: %s", request.id, request.counts)
    return request


def _schedule(
    session: Session,
    request: ErasureRequest,
    found: list[Found],
    answers: dict[uuid.UUID, Answer],
    today: date,
) -> DisposalBatch | None:
    """List the documents nothing keeps. One whose date has not come (no statutory duty
    keeps it) has its retention ended the day before the request, for good: the retention
    service honours `erasure_requested_on` in every later recomputation, and destruction
    re-checks the date."""
    going = [item for item in found if answers[item.document_id].schedule]
    if not going:
        return None
    for item in going:
        row = item.retention
        if row.retain_until is None or row.retain_until >= today:
            row.erasure_requested_on = today
            session.flush()
            service.recompute(session, document_id=item.document_id, actor=FINDER.name)
    return disposal.schedule(
        session,
        document_ids=[item.document_id for item in going],
        remark=f"erasure request {request.id}",
        kind=BatchKind.destruction,
    )


def _record_answers(
    session: Session,
    request: ErasureRequest,
    found: list[Found],
    answers: dict[uuid.UUID, Answer],
    batch: DisposalBatch | None,
) -> None:
    for item in found:
        decided = answers[item.document_id]
        listed = decided.listed
        if decided.schedule:
            assert batch is not None
            listed = Listed(batch.id, batch.number, batch.kind)
        message = decided.message
        if decided.outcome is Outcome.scheduled:
            assert listed is not None
            message = f"scheduled for destruction in batch {listed.number}: {message}"
        session.add(_answer_row(request, item, decided, listed, message))
    session.flush()
    request.counts = dict(Counter(decided.outcome.value for decided in answers.values()))
    request.answered_at = utcnow()


def _answer_row(
    request: ErasureRequest,
    item: Found,
    decided: Answer,
    listed: Listed | None,
    message: str,
) -> ErasureAnswer:
    row = item.retention
    return ErasureAnswer(
        request_id=request.id,
        document_id=item.document_id,
        title=item.title,
        document_class=item.document_class,
        retention_class=row.retention_class,
        symbol=row.symbol,
        outcome=decided.outcome,
        retained_until=decided.retained_until,
        basis=row.basis,
        batch_id=None if listed is None else listed.batch_id,
        batch_number=None if listed is None else listed.number,
        message=message,
    )


def _audit(session: Session, request: ErasureRequest, actor: Actor) -> None:
    """The subject's PESEL never goes into the trail in clear (nor in the reference)."""
    answers = session.scalars(
        select(ErasureAnswer).where(ErasureAnswer.request_id == request.id)
    ).all()
    details: dict[str, Any] = {
        "request": str(request.id),
        "subject_kind": request.subject_kind,
        "subject": shown_subject(request.subject_kind, request.subject_value, unmasked=False),
        "reference": None if request.reference is None else mask_pesels(request.reference),
        "counts": request.counts,
        "not_indexed": request.not_indexed,
        "documents": [
            {"id": str(a.document_id), "outcome": a.outcome, "batch": a.batch_number}
            for a in answers
        ],
    }
    record(session, actor=actor.name, action="retention.erasure_answered", details=details)


# --- reading --------------------------------------------------------------------------------


def get_request(session: Session, request_id: uuid.UUID, actor: Actor) -> ErasureRequest:
    require_reader(actor)
    request = session.get(ErasureRequest, request_id)
    if request is None:
        raise NotFound(f"no erasure request {request_id}")
    return request


def answers_of(session: Session, request_id: uuid.UUID) -> list[ErasureAnswer]:
    return list(
        session.scalars(
            select(ErasureAnswer)
            .where(ErasureAnswer.request_id == request_id)
            .order_by(ErasureAnswer.title, ErasureAnswer.document_id)
        )
    )


def list_requests(
    session: Session, actor: Actor, *, after: tuple[datetime, uuid.UUID] | None, limit: int
) -> list[ErasureRequest]:
    """Newest first, from after (created_at, id) of the last one seen."""
    require_reader(actor)
    query = select(ErasureRequest).order_by(
        ErasureRequest.created_at.desc(), ErasureRequest.id.desc()
    )
    if after is not None:
        query = query.where(tuple_(ErasureRequest.created_at, ErasureRequest.id) < after)
    return list(session.scalars(query.limit(limit)))
