"""Archivist pages: disposal batches (review, exclude with a reason, approve, download the list or
protocol), legal holds (place, release) and GDPR erasure requests. The retention services
decide."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.deps import SessionDep
from app.errors import NotFound
from app.retention import disposal, erasure, erasure_endpoints, holds, review
from app.retention.endpoints import document_retention
from app.retention.models import LegalHold
from app.web.pages import PageRoute, PageUser, page_user, render, validated
from schemas.erasure import ErasureRequestIn, ErasureRequestSummary
from schemas.retention import ApproveIn, DocumentRetentionOut, ExcludeIn, HoldIn, HoldRelease

router = APIRouter(prefix="/archive", route_class=PageRoute, include_in_schema=False)
UserDep = Annotated[PageUser, Depends(page_user)]
ERASURE_PAGE = 50


def retention_of(
    session: Session, document_id: uuid.UUID, user: PageUser
) -> DocumentRetentionOut | None:
    """For the document page: its retention, or None while it is not computed."""
    try:
        return document_retention(document_id, session, user.actor)
    except NotFound:
        return None


def _batch_context(session: Session, batch_id: uuid.UUID) -> dict[str, Any]:
    batch = review.get_batch(session, batch_id)
    return {
        "batch": batch,
        "counts": disposal.counts(session, [batch.id]).get(batch.id, {}),
        "items": disposal.batch_items(session, batch_id),
    }


@router.get("/batches", response_class=HTMLResponse)
def batches_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    review.require_reader(user.actor)
    batches = review.list_batches(session, user.actor, None)
    counts = disposal.counts(session, [b.id for b in batches])
    return render(request, "archive_batches.html", user, batches=batches, counts=counts)


@router.post("/batches/collect", response_class=HTMLResponse)
def collect(request: Request, session: SessionDep, user: UserDep) -> Response:
    """What the daily job does, now: due documents go into draft batches."""
    review.require_archivist(user.actor)
    disposal.collect(session)
    batches = review.list_batches(session, user.actor, None)
    counts = disposal.counts(session, [b.id for b in batches])
    return render(request, "_batches.html", user, batches=batches, counts=counts)


@router.get("/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    batch_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep
) -> Response:
    review.require_reader(user.actor)
    return render(request, "archive_batch.html", user, **_batch_context(session, batch_id))


@router.post("/batches/{batch_id}/items/{item_id}/exclude", response_class=HTMLResponse)
def exclude(
    batch_id: uuid.UUID,
    item_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    data = validated(ExcludeIn, reason=reason.strip() or None)
    review.exclude(session, batch_id=batch_id, item_id=item_id, data=data, actor=user.actor)
    return render(request, "_batch.html", user, **_batch_context(session, batch_id))


@router.post("/batches/{batch_id}/approve", response_class=HTMLResponse)
def approve(batch_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep) -> Response:
    review.approve(session, batch_id=batch_id, data=ApproveIn(), actor=user.actor)
    return render(request, "_batch.html", user, approved=True, **_batch_context(session, batch_id))


def _holds(session: Session) -> list[LegalHold]:
    return list(session.scalars(select(LegalHold).order_by(LegalHold.created_at.desc())))


@router.get("/holds", response_class=HTMLResponse)
def holds_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    review.require_reader(user.actor)
    return render(request, "archive_holds.html", user, holds=_holds(session))


@router.post("/holds", response_class=HTMLResponse)
def place_hold(
    request: Request,
    session: SessionDep,
    user: UserDep,
    name: Annotated[str, Form(max_length=200)],
    reason: Annotated[str, Form(max_length=4000)],
    case_reference: Annotated[str, Form(max_length=200)] = "",
    document_ids: Annotated[str, Form(max_length=100_000)] = "",
) -> Response:
    """A hold on the listed documents (ids separated by spaces, commas or lines)."""
    data = validated(
        HoldIn,
        name=name,
        reason=reason,
        case_reference=case_reference or None,
        document_ids=document_ids.replace(",", " ").split(),
    )
    holds.place_hold(session, data=data, actor=user.actor)
    return render(request, "_holds.html", user, holds=_holds(session), saved=True)


@router.post("/holds/{hold_id}/release", response_class=HTMLResponse)
def release_hold(
    hold_id: uuid.UUID,
    request: Request,
    session: SessionDep,
    user: UserDep,
    reason: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    holds.release_hold(
        session,
        hold_id=hold_id,
        data=validated(HoldRelease, reason=reason.strip() or None),
        actor=user.actor,
    )
    return render(request, "_holds.html", user, holds=_holds(session), saved=True)


def _erasure_requests(session: Session, user: PageUser) -> list[ErasureRequestSummary]:
    rows = erasure.list_requests(session, user.actor, after=None, limit=ERASURE_PAGE)
    return [erasure_endpoints.summary_out(row, user.actor) for row in rows]


@router.get("/erasure", response_class=HTMLResponse)
def erasure_page(request: Request, session: SessionDep, user: UserDep) -> Response:
    """GDPR erasure requests: file one (answered at once) and the latest ones."""
    return render(request, "archive_erasure.html", user, requests=_erasure_requests(session, user))


@router.post("/erasure", response_class=HTMLResponse)
def file_erasure(
    request: Request,
    session: SessionDep,
    user: UserDep,
    kind: Annotated[str, Form(max_length=8)],
    value: Annotated[str, Form(max_length=200)],
    reference: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    data = validated(
        ErasureRequestIn,
        subject={"kind": kind, "value": value.strip()},
        reference=reference.strip() or None,
    )
    filed = erasure.file_request(
        session, subject=data.subject, requested_by=user.actor, reference=data.reference
    )
    shown = erasure_endpoints.request_out(session, filed, user.actor)
    return render(request, "_erasure_answers.html", user, erasure_request=shown, saved=True)


@router.get("/erasure/{request_id}", response_class=HTMLResponse)
def erasure_request_page(
    request_id: uuid.UUID, request: Request, session: SessionDep, user: UserDep
) -> Response:
    filed = erasure.get_request(session, request_id, user.actor)
    shown = erasure_endpoints.request_out(session, filed, user.actor)
    return render(request, "archive_erasure_request.html", user, erasure_request=shown)
