"""Enqueueing document processing inside the caller's transaction.

The job row is inserted through procrastinate's own SQL function in the same transaction as
the document, so a commit can never happen without its job (nor a job without its commit).
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

PROCESS_TASK = "documents.process"
PROCESS_QUEUE = "documents"

_DEFER = text(
    """
    SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(
        :queue, :task, 0, :lock, :queueing_lock, CAST(:args AS jsonb), NULL
    )]::procrastinate_job_to_defer_v1[]))
    """
)


def processing_lock(document_id: uuid.UUID) -> str:
    """One document is processed by one job at a time."""
    return f"document:{document_id}"


def enqueue_processing(session: Session, *, document_id: uuid.UUID, new: bool = False) -> bool:
    """Queue `documents.process` for a document's current version.

    False when a job is already waiting for this document: that job reads the current version
    when it starts, so it covers this request too. A `new` document cannot have one, which
    spares the savepoint (two round trips on every upload).
    """
    params = {
        "queue": PROCESS_QUEUE,
        "task": PROCESS_TASK,
        "lock": processing_lock(document_id),
        "queueing_lock": f"process:{document_id}",
        "args": json.dumps({"document_id": str(document_id)}),
    }
    if new:
        session.execute(_DEFER, params)
        return True
    try:
        with session.begin_nested():
            session.execute(_DEFER, params)
    except IntegrityError:
        return False
    return True
