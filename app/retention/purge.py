"""`docarchive purge`: what the daily job and approved batches would do, or doing it.

`--dry-run` builds the batches in a transaction that is rolled back, so its figures are those
of a real collection; `--run` collects for real and destroys the approved batches (never a
batch nobody approved).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope
from app.retention import disposal, service
from app.retention.models import DisposalBatch, DisposalItem, ItemState
from app.storage import BlobStore


@dataclass
class PurgeSummary:
    would_add: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    approved: list[str] = field(default_factory=list)
    destroyed: dict[str, int] = field(default_factory=dict)
    refused: dict[str, dict[str, str]] = field(default_factory=dict)


def dry_run(factory: sessionmaker[Session]) -> PurgeSummary:
    summary = PurgeSummary()
    started = time.perf_counter()
    with factory() as session:
        try:
            service.recompute_missing(session)
            batches = disposal.collect(session)
            summary.would_add = {
                kind.value: _pending(session, batch.id) for kind, batch in batches.items()
            }
            summary.approved = _approved_numbers(session)
        finally:
            session.rollback()
    summary.seconds = time.perf_counter() - started
    return summary


def run(factory: sessionmaker[Session], store: BlobStore, settings: Settings) -> PurgeSummary:
    summary = PurgeSummary()
    started = time.perf_counter()
    with session_scope(factory) as session:
        service.recompute_missing(session)
    with session_scope(factory) as session:
        batches = disposal.collect(session)
        summary.would_add = {
            kind.value: _pending(session, batch.id) for kind, batch in batches.items()
        }
    with session_scope(factory) as session:
        pending = _numbered(session, disposal.pending_batches(session))
    for batch_id, number in pending:
        report = disposal.destroy_batch(factory, store, settings, batch_id)
        summary.approved.append(number)
        summary.destroyed[number] = report.destroyed
        if report.refused:
            summary.refused[number] = report.refused
    summary.seconds = time.perf_counter() - started
    return summary


def _pending(session: Session, batch_id: uuid.UUID) -> int:
    return int(
        session.scalar(
            select(func.count(DisposalItem.id)).where(
                DisposalItem.batch_id == batch_id, DisposalItem.state == ItemState.pending
            )
        )
        or 0
    )


def _approved_numbers(session: Session) -> list[str]:
    return [number for _, number in _numbered(session, disposal.pending_batches(session))]


def _numbered(session: Session, ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, str]]:
    rows = session.execute(
        select(DisposalBatch.id, DisposalBatch.number).where(DisposalBatch.id.in_(ids))
    )
    number: dict[uuid.UUID, str] = {row[0]: row[1] for row in rows}
    return [(batch_id, number[batch_id]) for batch_id in ids]
