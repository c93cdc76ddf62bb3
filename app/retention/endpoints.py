"""HTTP endpoints of retention: classes, a document's retention, legal holds, disposal batches."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.deps import ActorDep, SessionDep
from app.documents import service as documents
from app.documents.models import DocumentVersion
from app.errors import NotFound, problem_responses
from app.retention import classes, disposal, holds, protocol, repository, review
from app.retention.models import (
    DisposalBatch,
    DisposalItem,
    DocumentRetention,
    HeldDocument,
    LegalHold,
    ObjectLock,
    Tombstone,
)
from app.security.principal import Actor
from schemas.retention import (
    ApproveIn,
    BatchDetail,
    BatchOut,
    ClassMappingIn,
    CollectOut,
    DocumentRetentionOut,
    ExcludeIn,
    HoldDocumentsIn,
    HoldIn,
    HoldOut,
    HoldRelease,
    ItemOut,
    RetentionClassIn,
    RetentionClassOut,
    StoreLockOut,
)

router = APIRouter(tags=["retention"])
_ERRORS = problem_responses(403, 404, 409, 422)


# --- classes ------------------------------------------------------------------------------


@router.get("/retention/classes", response_model=list[RetentionClassOut])
def list_classes(session: SessionDep, actor: ActorDep) -> list[RetentionClassOut]:
    return classes.list_classes(session)


@router.put("/retention/classes/{code}", response_model=RetentionClassOut, responses=_ERRORS)
def put_class(
    code: str, data: RetentionClassIn, session: SessionDep, actor: ActorDep
) -> RetentionClassOut:
    return classes.put_class(session, code=code, data=data, actor=actor)


@router.put("/retention/mappings/{document_class}", response_model=list[str], responses=_ERRORS)
def put_mapping(
    document_class: str, data: ClassMappingIn, session: SessionDep, actor: ActorDep
) -> list[str]:
    return classes.set_mapping(session, document_class=document_class, data=data, actor=actor)


# --- one document -------------------------------------------------------------------------


@router.get(
    "/documents/{document_id}/retention", response_model=DocumentRetentionOut, responses=_ERRORS
)
def document_retention(
    document_id: uuid.UUID, session: SessionDep, actor: ActorDep
) -> DocumentRetentionOut:
    """The retention of a document, or its tombstone once destroyed (archivists, auditors)."""
    try:
        documents.get_document(session, document_id, actor)
    except NotFound:
        return _tombstone_out(session, document_id, actor)
    row = session.get(DocumentRetention, document_id)
    if row is None:
        raise NotFound(f"the retention of document {document_id} is not computed yet")
    return DocumentRetentionOut(
        document_id=document_id,
        status=row.status,
        retention_class=row.retention_class,
        category=row.category,
        symbol=row.symbol,
        retain_until=row.retain_until,
        trigger_date=row.trigger_date,
        rule=row.rule,
        basis=row.basis,
        held_by=[hold.id for hold in repository.holds_of(session, document_id)],
        extended_until=row.extended_until,
        store_locks=_store_locks(session, document_id),
    )


def _store_locks(session: Session, document_id: uuid.UUID) -> list[StoreLockOut]:
    rows = session.execute(
        select(DocumentVersion.number, ObjectLock)
        .join(ObjectLock, ObjectLock.version_id == DocumentVersion.id)
        .where(DocumentVersion.document_id == document_id)
        .order_by(DocumentVersion.number)
    )
    return [
        StoreLockOut(
            version=number,
            locked_until=lock.locked_until,
            mode=lock.mode,
            legal_hold=lock.legal_hold,
            synced_at=lock.synced_at,
        )
        for number, lock in rows
    ]


def _tombstone_out(session: Session, document_id: uuid.UUID, actor: Actor) -> DocumentRetentionOut:
    tombstone = session.get(Tombstone, document_id)
    if tombstone is None or not actor.has_role(*review.READERS):
        raise NotFound(f"no document {document_id}")
    return DocumentRetentionOut(
        document_id=document_id,
        status="destroyed",
        retention_class=tombstone.retention_class,
        category=None,
        symbol=tombstone.symbol,
        retain_until=tombstone.retain_until,
        trigger_date=None,
        rule=tombstone.rule,
        basis=tombstone.basis,
        destroyed_at=tombstone.destroyed_at,
        batch_id=tombstone.batch_id,
    )


# --- legal holds --------------------------------------------------------------------------


def _hold_out(session: Session, hold: LegalHold) -> HoldOut:
    count = session.scalar(
        select(func.count(HeldDocument.document_id)).where(HeldDocument.hold_id == hold.id)
    )
    return HoldOut.model_validate(hold).model_copy(update={"documents": count or 0})


@router.get("/retention/holds", response_model=list[HoldOut], responses=_ERRORS)
def list_holds(session: SessionDep, actor: ActorDep, active: bool | None = None) -> list[HoldOut]:
    review.require_reader(actor)
    query = select(LegalHold).order_by(LegalHold.created_at.desc())
    if active is not None:
        query = query.where(
            LegalHold.released_at.is_(None) if active else LegalHold.released_at.is_not(None)
        )
    return [_hold_out(session, hold) for hold in session.scalars(query)]


@router.post("/retention/holds", status_code=201, response_model=HoldOut, responses=_ERRORS)
def place_hold(data: HoldIn, session: SessionDep, actor: ActorDep) -> HoldOut:
    return _hold_out(session, holds.place_hold(session, data=data, actor=actor))


@router.get("/retention/holds/{hold_id}", response_model=HoldOut, responses=_ERRORS)
def get_hold(hold_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> HoldOut:
    review.require_reader(actor)
    hold = session.get(LegalHold, hold_id)
    if hold is None:
        raise NotFound(f"no legal hold {hold_id}")
    return _hold_out(session, hold)


@router.post("/retention/holds/{hold_id}/documents", response_model=HoldOut, responses=_ERRORS)
def add_to_hold(
    hold_id: uuid.UUID, data: HoldDocumentsIn, session: SessionDep, actor: ActorDep
) -> HoldOut:
    hold = holds.add_documents(
        session, hold_id=hold_id, document_ids=data.document_ids, actor=actor
    )
    return _hold_out(session, hold)


@router.post("/retention/holds/{hold_id}/release", response_model=HoldOut, responses=_ERRORS)
def release_hold(
    hold_id: uuid.UUID, data: HoldRelease, session: SessionDep, actor: ActorDep
) -> HoldOut:
    return _hold_out(session, holds.release_hold(session, hold_id=hold_id, data=data, actor=actor))


# --- disposal batches ---------------------------------------------------------------------


def _batch_out(session: Session, batch: DisposalBatch) -> BatchOut:
    counts = disposal.counts(session, [batch.id]).get(batch.id, {})
    return BatchOut.model_validate(batch).model_copy(update={"counts": counts})


@router.get("/retention/batches", response_model=list[BatchOut], responses=_ERRORS)
def list_batches(session: SessionDep, actor: ActorDep, status: str | None = None) -> list[BatchOut]:
    return [_batch_out(session, b) for b in review.list_batches(session, actor, status)]


@router.post("/retention/batches/collect", response_model=CollectOut, responses=_ERRORS)
def collect(session: SessionDep, actor: ActorDep) -> CollectOut:
    """Run the collection now (the daily job does the same)."""
    review.require_archivist(actor)
    before = disposal.counts(session, [b.id for b in review.list_batches(session, actor, "draft")])
    batches = disposal.collect(session)
    after = disposal.counts(session, [b.id for b in batches.values()])
    added = {
        kind.value: sum(after.get(b.id, {}).values()) - sum(before.get(b.id, {}).values())
        for kind, b in batches.items()
    }
    return CollectOut(batches=[_batch_out(session, b) for b in batches.values()], added=added)


@router.get("/retention/batches/{batch_id}", response_model=BatchDetail, responses=_ERRORS)
def get_batch(batch_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> BatchDetail:
    review.require_reader(actor)
    batch = review.get_batch(session, batch_id)
    items = [ItemOut.model_validate(i) for i in disposal.batch_items(session, batch_id)]
    return BatchDetail(**_batch_out(session, batch).model_dump(), items=items)


@router.get(
    "/retention/batches/{batch_id}/list.csv",
    responses={200: {"content": {"text/csv": {}}}, **_ERRORS},
    response_class=Response,
)
def batch_csv(batch_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    """The list of records (with the sha256 of what was destroyed, once it was)."""
    review.require_reader(actor)
    batch = review.get_batch(session, batch_id)
    body = protocol.items_csv(
        disposal.batch_items(session, batch_id), disposal.tombstones_of(session, batch_id)
    )
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{_filename(batch)}.csv"'},
    )


@router.get(
    "/retention/batches/{batch_id}/list.pdf",
    responses={200: {"content": {"application/pdf": {}}}, **_ERRORS},
    response_class=Response,
)
def batch_pdf(batch_id: uuid.UUID, session: SessionDep, actor: ActorDep) -> Response:
    review.require_reader(actor)
    batch = review.get_batch(session, batch_id)
    body = protocol.batch_pdf(
        batch,
        disposal.batch_items(session, batch_id),
        disposal.tombstones_of(session, batch_id),
        protocol=batch.status == "completed",
    )
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{_filename(batch)}.pdf"'},
    )


def _filename(batch: DisposalBatch) -> str:
    return f"{batch.kind}-{batch.number.replace('/', '-')}"


@router.post(
    "/retention/batches/{batch_id}/items/{item_id}/exclude",
    response_model=ItemOut,
    responses=_ERRORS,
)
def exclude_item(
    batch_id: uuid.UUID, item_id: uuid.UUID, data: ExcludeIn, session: SessionDep, actor: ActorDep
) -> DisposalItem:
    return review.exclude(session, batch_id=batch_id, item_id=item_id, data=data, actor=actor)


@router.post(
    "/retention/batches/{batch_id}/items/{item_id}/requalify",
    response_model=ItemOut,
    responses=_ERRORS,
)
def requalify_item(
    batch_id: uuid.UUID,
    item_id: uuid.UUID,
    reason: Annotated[str, Body(embed=True, min_length=1, max_length=4000)],
    session: SessionDep,
    actor: ActorDep,
) -> DisposalItem:
    return review.requalify(session, batch_id=batch_id, item_id=item_id, reason=reason, actor=actor)


@router.post("/retention/batches/{batch_id}/approve", response_model=BatchOut, responses=_ERRORS)
def approve_batch(
    batch_id: uuid.UUID,
    session: SessionDep,
    actor: ActorDep,
    data: Annotated[ApproveIn | None, Body()] = None,
) -> BatchOut:
    batch = review.approve(session, batch_id=batch_id, data=data or ApproveIn(), actor=actor)
    return _batch_out(session, batch)


@router.get("/retention/due", response_model=dict[str, int], responses=_ERRORS)
def due_now(session: SessionDep, actor: ActorDep) -> dict[str, int]:
    """How many documents a collection would add now, by batch kind."""
    review.require_reader(actor)
    return disposal.due_counts(session)
