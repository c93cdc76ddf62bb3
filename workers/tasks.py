"""The jobs: `documents.process`, `retention.destroy_batch`, and the periodic `documents.sweep`,
`jobs.retry_stalled`, `retention.collect`, `retention.sync_object_lock` and `fixity.check`."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from procrastinate import JobContext, RetryStrategy
from procrastinate.manager import JobManager
from sqlalchemy import select, text

from app.circulation import escalation
from app.config import Settings
from app.db import session_scope, utcnow
from app.documents.jobs import PROCESS_QUEUE, PROCESS_TASK, enqueue_processing
from app.documents.models import Document, DocumentStatus
from app.intake import imap
from app.intake.rules import load_rules
from app.observability.logs import log_context
from app.reliability import fixity
from app.retention import disposal, object_lock, review
from app.retention import service as retention_service
from workers import processing, runtime
from workers.app import MAINTENANCE_QUEUE, app

log = logging.getLogger(__name__)

MAX_RETRIES = 3
STUCK_AFTER = timedelta(minutes=10)
# Workers beat every 5 s (workers.app); six missed beats mean the worker is gone.
STALLED_AFTER_S = 30.0


@app.task(
    name=PROCESS_TASK,
    queue=PROCESS_QUEUE,
    pass_context=True,
    retry=RetryStrategy(
        max_attempts=MAX_RETRIES,
        exponential_wait=2,
        retry_exceptions=set(processing.TRANSIENT_ERRORS),
    ),
)
def process_document(context: JobContext, document_id: str, request_id: str | None = None) -> None:
    """Read, classify and extract one document (its current version).

    `request_id` is the one of the upload that queued the job: the worker's log lines carry it.
    """
    with log_context(request_id=request_id, document_id=document_id):
        log.info("processing document %s (attempt %d)", document_id, context.job.attempts + 1)
        processing.process(
            runtime.current(),
            uuid.UUID(document_id),
            final_attempt=context.job.attempts >= MAX_RETRIES,
        )


@app.periodic(cron="*/5 * * * *", periodic_id="documents.sweep")
@app.task(name="documents.sweep", queue=MAINTENANCE_QUEUE, queueing_lock="documents.sweep")
def sweep_pending(timestamp: int) -> int:
    """Queue documents left `pending` or `processing` with no job waiting or running for them.

    A safety net: uploads queue their job in their own transaction, but a job can still end
    without settling its document (its last attempt failed while the database was away).
    """
    waiting_or_running = (
        select(text("1"))
        .select_from(text("procrastinate_jobs"))
        .where(
            text("lock = 'document:' || documents.id::text"),
            text("status IN ('todo', 'doing')"),
        )
    )
    with session_scope(runtime.current().sessionmaker) as session:
        stuck = session.scalars(
            select(Document.id).where(
                Document.status.in_([DocumentStatus.pending, DocumentStatus.processing]),
                Document.status_changed_at < utcnow() - STUCK_AFTER,
                Document.current_version_id.is_not(None),
                ~waiting_or_running.exists(),
            )
        ).all()
        queued = sum(enqueue_processing(session, document_id=doc_id) for doc_id in stuck)
    if queued:
        log.warning("re-queued %d documents left without a job", queued)
    return queued


@app.periodic(cron="* * * * *", periodic_id="jobs.retry_stalled")
@app.task(
    name="jobs.retry_stalled",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="jobs.retry_stalled",
    pass_context=True,
)
async def retry_stalled_jobs(context: JobContext, timestamp: int) -> int:
    """Jobs of a worker that stopped sending heartbeats (killed, lost) run again."""
    return await retry_stalled(context.app.job_manager, seconds_since_heartbeat=STALLED_AFTER_S)


async def retry_stalled(manager: JobManager, *, seconds_since_heartbeat: float) -> int:
    stalled = list(await manager.get_stalled_jobs(seconds_since_heartbeat=seconds_since_heartbeat))
    for job in stalled:
        log.warning("retrying job %s (%s) of a stalled worker", job.id, job.task_name)
        await manager.retry_job(job)
    return len(stalled)


@app.periodic(cron="* * * * *", periodic_id="intake.poll_mailboxes")
@app.task(
    name="intake.poll_mailboxes",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="intake.poll_mailboxes",
)
def poll_mailboxes(timestamp: int) -> int:
    """Attachments of new messages in the configured IMAP mailboxes become documents."""
    current = runtime.current()
    if not current.settings.imap_mailboxes:
        return 0
    context = imap.IntakeContext(
        settings=current.settings,
        factory=current.sessionmaker,
        store=current.store,
        rules=load_rules(current.settings.intake_rules_file),
    )
    reports = imap.poll_mailboxes(context, current.engine)
    return sum(len(report.documents) for report in reports)


@app.periodic(cron="*/10 * * * *", periodic_id="circulation.escalate")
@app.task(
    name="circulation.escalate", queue=MAINTENANCE_QUEUE, queueing_lock="circulation.escalate"
)
def escalate_circulation(timestamp: int) -> int:
    """Overdue circulation tasks escalate; tasks due within a day remind their holders."""
    with session_scope(runtime.current().sessionmaker) as session:
        now = utcnow()
        escalated = escalation.escalate_overdue(session, now=now)
        escalation.send_reminders(session, now=now)
    return escalated


@app.periodic(cron="0 2 * * *", periodic_id="retention.collect")
@app.task(name="retention.collect", queue=MAINTENANCE_QUEUE, queueing_lock="retention.collect")
def collect_disposal(timestamp: int) -> int:
    """Daily at 02:00: retention dates for documents without one, then the due documents into
    draft batches (destruction, expert review, transfer) waiting for an archivist."""
    with session_scope(runtime.current().sessionmaker) as session:
        retention_service.recompute_missing(session)
    with session_scope(runtime.current().sessionmaker) as session:
        batches = disposal.collect(session)
    return len(batches)


@app.periodic(cron="*/5 * * * *", periodic_id="retention.sync_object_lock")
@app.task(
    name="retention.sync_object_lock",
    queue=MAINTENANCE_QUEUE,
    queueing_lock="retention.sync_object_lock",
)
def sync_object_lock(timestamp: int) -> int:
    """Every 5 minutes, with DOCARCHIVE_S3_OBJECT_LOCK on: lock stored originals until the end
    of their statutory retention (never an archive's extension nor a class without a statutory
    basis), set and clear legal holds."""
    current = runtime.current()
    report = object_lock.sync(current.sessionmaker, current.store, current.settings)
    if report.failed:
        log.warning("object lock: %d objects not updated", len(report.failed))
    return report.locked + report.held + report.released


@app.task(name=review.DESTROY_TASK, queue=MAINTENANCE_QUEUE)
def destroy_batch(batch_id: str) -> int:
    """Destroy an approved batch; a rerun after a crash completes it."""
    current = runtime.current()
    report = disposal.destroy_batch(
        current.sessionmaker, current.store, current.settings, uuid.UUID(batch_id)
    )
    if report.refused:
        log.warning("batch %s: the store refused %d documents", batch_id, len(report.refused))
    return report.destroyed


def _fixity_cron() -> str:
    """Periodic tasks register when this module loads, so their schedule is read here, once."""
    return Settings().fixity_cron


@app.periodic(cron=_fixity_cron(), periodic_id="fixity.check")
@app.task(name="fixity.check", queue=MAINTENANCE_QUEUE, queueing_lock="fixity.check")
def check_fixity(timestamp: int) -> int:
    """Nightly (DOCARCHIVE_FIXITY_CRON): re-hash DOCARCHIVE_FIXITY_SHARE of the stored
    originals, least recently checked first; a missing or altered blob flags its document."""
    current = runtime.current()
    try:
        report = fixity.run_fixity(
            current.sessionmaker,
            current.store,
            share=current.settings.fixity_share,
            trigger="schedule",
        )
    except fixity.FixityRunInProgress:
        log.info("fixity: a run is already in progress; this one is skipped")
        return 0
    return report.checked
