"""Review of a batch before destruction: exclude items, requalify BE items to A, approve.

Approval is the archivist's; a batch may ask for a second approver (the head of the unit,
"kierownik jednostki"), who must be another person with the archivist or admin role. The
final approval queues the destruction job in the same transaction.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.audit.service import record
from app.db import utcnow
from app.errors import Conflict, NotFound
from app.retention import service
from app.retention.models import (
    BatchKind,
    BatchStatus,
    DisposalBatch,
    DisposalItem,
    ItemState,
)
from app.security.models import Role, Scope
from app.security.permissions import require_role
from app.security.principal import Actor
from schemas.retention import ApproveIn, ExcludeIn

DESTROY_TASK = "retention.destroy_batch"
DESTROY_QUEUE = "maintenance"
_REVIEWABLE = (BatchStatus.draft, BatchStatus.awaiting_second_approval)
_DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task, 0, :lock, NULL, CAST(:args AS jsonb), NULL
    )]::procrastinate_job_to_defer_v1[]))
    WHERE NOT EXISTS (SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status = 'todo')
    """
)


READERS = (Role.archivist, Role.admin, Role.auditor)


def require_reader(actor: Actor) -> None:
    require_role(actor, *READERS)


def require_archivist(actor: Actor) -> None:
    require_role(actor, Role.archivist, scope=Scope.write)


def get_batch(session: Session, batch_id: uuid.UUID, *, lock: bool = False) -> DisposalBatch:
    batch = session.get(DisposalBatch, batch_id, with_for_update=lock)
    if batch is None:
        raise NotFound(f"no disposal batch {batch_id}")
    return batch


def list_batches(session: Session, actor: Actor, status: str | None) -> list[DisposalBatch]:
    require_reader(actor)
    query = select(DisposalBatch).order_by(DisposalBatch.created_at.desc()).limit(200)
    if status is not None:
        query = query.where(DisposalBatch.status == status)
    return list(session.scalars(query))


def _reviewable_item(
    session: Session, batch_id: uuid.UUID, item_id: uuid.UUID
) -> tuple[DisposalBatch, DisposalItem]:
    batch = get_batch(session, batch_id, lock=True)
    if batch.status not in _REVIEWABLE:
        raise Conflict(f"batch {batch.number} is {batch.status}: its items can no longer change")
    item = session.get(DisposalItem, item_id, with_for_update=True)
    if item is None or item.batch_id != batch.id:
        raise NotFound(f"no item {item_id} in batch {batch.number}")
    if item.state != ItemState.pending:
        raise Conflict(f"item {item.ordinal} is already {item.state}")
    return batch, item


def exclude(
    session: Session, *, batch_id: uuid.UUID, item_id: uuid.UUID, data: ExcludeIn, actor: Actor
) -> DisposalItem:
    """Keep a record out of this batch, with the reason; `keep_until` extends its retention."""
    require_archivist(actor)
    batch, item = _reviewable_item(session, batch_id, item_id)
    item.state, item.remarks, item.decided_by = ItemState.excluded, data.reason, actor.name
    if data.keep_until is not None:
        service.extend(
            session, document_id=item.document_id, until=data.keep_until, actor=actor.name
        )
    record(
        session,
        actor=actor.name,
        action="retention.item_excluded",
        document_id=item.document_id,
        details={
            "batch": batch.number,
            "ordinal": item.ordinal,
            "reason": data.reason,
            "keep_until": None if data.keep_until is None else data.keep_until.isoformat(),
        },
    )
    session.flush()
    return item


def requalify(
    session: Session, *, batch_id: uuid.UUID, item_id: uuid.UUID, reason: str, actor: Actor
) -> DisposalItem:
    """The expert review found archival value: the record becomes category A, kept forever."""
    require_archivist(actor)
    batch, item = _reviewable_item(session, batch_id, item_id)
    if batch.kind != BatchKind.expert_review:
        raise Conflict("only items of an expert review (BE) batch can be requalified")
    item.state, item.remarks, item.decided_by = ItemState.requalified, reason, actor.name
    service.requalify_to_a(session, document_id=item.document_id, actor=actor.name)
    record(
        session,
        actor=actor.name,
        action="retention.item_requalified",
        document_id=item.document_id,
        details={"batch": batch.number, "ordinal": item.ordinal, "reason": reason},
    )
    session.flush()
    return item


def approve(
    session: Session, *, batch_id: uuid.UUID, data: ApproveIn, actor: Actor
) -> DisposalBatch:
    batch = get_batch(session, batch_id, lock=True)
    if batch.status == BatchStatus.draft:
        _first_approval(batch, data, actor)
    elif batch.status == BatchStatus.awaiting_second_approval:
        _second_approval(batch, actor)
    else:
        raise Conflict(f"batch {batch.number} is already {batch.status}")
    if batch.status == BatchStatus.approved:
        _approved(session, batch)
    record(
        session,
        actor=actor.name,
        action="retention.batch_approved",
        details={"batch": batch.number, "kind": batch.kind, "status": batch.status},
    )
    session.flush()
    return batch


def _first_approval(batch: DisposalBatch, data: ApproveIn, actor: Actor) -> None:
    require_archivist(actor)
    batch.approved_by, batch.approved_at = actor.name, utcnow()
    second = data.second_approval_required
    batch.status = BatchStatus.awaiting_second_approval if second else BatchStatus.approved


def _second_approval(batch: DisposalBatch, actor: Actor) -> None:
    require_role(actor, Role.archivist, Role.admin, scope=Scope.write)
    if actor.name == batch.approved_by:
        raise Conflict("the second approval must come from another person")
    batch.second_approved_by, batch.second_approved_at = actor.name, utcnow()
    batch.status = BatchStatus.approved


def _approved(session: Session, batch: DisposalBatch) -> None:
    if batch.kind == BatchKind.transfer:
        # A transfer report destroys nothing: approving it closes it.
        batch.status, batch.completed_at = BatchStatus.completed, utcnow()
        return
    enqueue_destruction(session, batch.id)


def enqueue_destruction(session: Session, batch_id: uuid.UUID) -> None:
    session.execute(
        _DEFER,
        {
            "queue": DESTROY_QUEUE,
            "task": DESTROY_TASK,
            "lock": f"disposal-batch:{batch_id}",
            "args": json.dumps({"batch_id": str(batch_id)}),
        },
    )
