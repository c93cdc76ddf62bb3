"""Enqueueing document processing inside the caller's transaction.

The job row is inserted through procrastinate's own SQL function in the same transaction as
the document, so a commit can never happen without its job (nor a job without its commit).
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from app.observability.logs import current_request_id

PROCESS_TASK = "documents.process"
PROCESS_QUEUE = "documents"

# Inserted only when no job for the document is waiting yet. procrastinate's own
# queueing_lock is not used: its retry of a failed attempt would collide with a job queued
# meanwhile and leave the document stuck; the per-document `lock` keeps jobs one at a time.
_DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task, 0, :lock, NULL, CAST(:args AS jsonb), NULL
    )]::procrastinate_job_to_defer_v1[]))
    WHERE NOT EXISTS (
        SELECT 1 FROM procrastinate_jobs WHERE lock = :lock AND status = 'todo'
    )
    """
)


def processing_lock(document_id: uuid.UUID) -> str:
    """One document is processed by one job at a time."""
    return f"document:{document_id}"


def _job_args(document_id: uuid.UUID) -> dict[str, str]:
    """The request id travels with the job, so the worker's log lines carry it too."""
    args = {"document_id": str(document_id)}
    request_id = current_request_id()
    if request_id is not None:
        args["request_id"] = request_id
    return args


def enqueue_processing(session: Session, *, document_id: uuid.UUID) -> bool:
    """Queue `documents.process` for a document's current version.

    False when a job is already waiting for this document: that job reads the current version
    when it starts, so it covers this request too.
    """
    queued = session.execute(
        _DEFER,
        {
            "queue": PROCESS_QUEUE,
            "task": PROCESS_TASK,
            "lock": processing_lock(document_id),
            "args": json.dumps(_job_args(document_id)),
        },
    ).first()
    return queued is not None
