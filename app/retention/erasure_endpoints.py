"""HTTP endpoints of GDPR erasure requests: file one (answered at once), list, read."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy.orm import Session

from app.cursors import decode_dated_cursor, encode_cursor
from app.deps import ActorDep, SessionDep
from app.errors import problem_responses
from app.retention import erasure
from app.retention.erasure_models import ErasureAnswer, ErasureRequest
from app.security.permissions import sees_pesel
from app.security.principal import Actor
from app.security.sensitive import mask_pesels
from schemas.erasure import (
    ErasureAnswerOut,
    ErasureRequestIn,
    ErasureRequestOut,
    ErasureRequestPage,
    ErasureRequestSummary,
    Subject,
)

router = APIRouter(prefix="/erasure-requests", tags=["retention"])
_ERRORS = problem_responses(403, 404, 422)


@router.post("", status_code=201, response_model=ErasureRequestOut, responses=_ERRORS)
def file_request(data: ErasureRequestIn, session: SessionDep, actor: ActorDep) -> ErasureRequestOut:
    """Find the subject's documents (all of them, not only those you see) and answer for each:
    retained until a date under a legal basis, held, permanent, undetermined, or scheduled for
    destruction in the draft batch. Archivists, legal and admins."""
    request = erasure.file_request(
        session, subject=data.subject, requested_by=actor, reference=data.reference
    )
    return request_out(session, request, actor)


@router.get("", response_model=ErasureRequestPage, responses=_ERRORS)
def list_requests(
    session: SessionDep,
    actor: ActorDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ErasureRequestPage:
    """Newest first; follow `next_cursor`."""
    after = None if cursor is None else decode_dated_cursor(cursor)
    rows = erasure.list_requests(session, actor, after=after, limit=limit + 1)
    page, more = rows[:limit], len(rows) > limit
    return ErasureRequestPage(
        items=[summary_out(request, actor) for request in page],
        next_cursor=encode_cursor(page[-1].created_at, page[-1].id) if more else None,
    )


@router.get("/{request_id}", response_model=ErasureRequestOut, responses=_ERRORS)
def get_request(request_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> ErasureRequestOut:
    return request_out(session, erasure.get_request(session, request_id, actor), actor)


def summary_out(request: ErasureRequest, actor: Actor) -> ErasureRequestSummary:
    """PESELs (the subject's, or one written in the reference) masked unless the caller may
    see them."""
    unmasked = sees_pesel(actor)
    value = erasure.shown_subject(request.subject_kind, request.subject_value, unmasked=unmasked)
    reference = request.reference
    return ErasureRequestSummary(
        id=request.id,
        subject=Subject.model_validate({"kind": request.subject_kind, "value": value}),
        reference=reference if unmasked or reference is None else mask_pesels(reference),
        requested_by=request.requested_by,
        created_at=request.created_at,
        answered_at=request.answered_at,
        counts=request.counts,
        not_indexed=request.not_indexed,
    )


def request_out(session: Session, request: ErasureRequest, actor: Actor) -> ErasureRequestOut:
    answers = [_answer_out(a, actor) for a in erasure.answers_of(session, request.id)]
    return ErasureRequestOut(**summary_out(request, actor).model_dump(), answers=answers)


def _answer_out(answer: ErasureAnswer, actor: Actor) -> ErasureAnswerOut:
    shown = ErasureAnswerOut.model_validate(answer)
    if sees_pesel(actor):
        return shown
    return shown.model_copy(
        update={"title": mask_pesels(shown.title), "message": mask_pesels(shown.message)}
    )
