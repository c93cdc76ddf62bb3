"""Prometheus metrics at `/metrics`.

Everything about the archive's state is read from the database at scrape time (a custom
collector), so it is the same whichever API process answers and counts the work of every
worker: documents by status, queue depth and oldest waiting job, pages OCR'd, failures by
reason, intake outcomes. Request latency is measured in each API process (one series per
process, as usual for Prometheus).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Connection, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from app.documents.models import DocumentStatus

log = logging.getLogger(__name__)

KNOWN_QUEUES = ("documents", "maintenance")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Failure reasons are sentences; digits (page numbers, sizes) would make a series per document.
_DIGITS = re.compile(r"\d+")
REASON_MAX = 120

_DOCUMENTS = text("SELECT status, count(*) FROM documents GROUP BY status")
_QUEUE = text(
    """
    SELECT queue_name, status::text, count(*) FROM procrastinate_jobs
    WHERE status IN ('todo', 'doing') GROUP BY queue_name, status
    """
)
# A job waits from its deferral (or from its retry time, once that has come).
_OLDEST = text(
    """
    SELECT j.queue_name,
           EXTRACT(EPOCH FROM now() - min(coalesce(j.scheduled_at, e.at)))
    FROM procrastinate_jobs j
    JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'deferred'
    WHERE j.status = 'todo' AND (j.scheduled_at IS NULL OR j.scheduled_at <= now())
    GROUP BY j.queue_name
    """
)
_OCR_PAGES = text("SELECT count(*) FROM document_pages WHERE source = 'ocr'")
_FAILED_JOBS = text(
    """
    SELECT queue_name, task_name, count(*) FROM procrastinate_jobs
    WHERE status = 'failed' GROUP BY queue_name, task_name
    """
)
_FAILED_DOCUMENTS = text(
    "SELECT coalesce(status_reason, 'unknown'), count(*) FROM documents "
    "WHERE status = 'failed' GROUP BY 1"
)
_INTAKE_FILES = text("SELECT channel, outcome, count(*) FROM intake_items GROUP BY 1, 2")
_INTAKE_MESSAGES = text("SELECT mailbox, outcome, count(*) FROM intake_messages GROUP BY 1, 2")
_FIXITY_LAST_RUN = text(
    "SELECT EXTRACT(EPOCH FROM finished_at), checked, failed FROM fixity_runs "
    "WHERE finished_at IS NOT NULL ORDER BY started_at DESC LIMIT 1"
)
_FIXITY_TOTALS = text(
    """
    SELECT (SELECT coalesce(sum(checked), 0) FROM fixity_runs),
           (SELECT count(*) FROM document_versions) - (SELECT count(*) FROM fixity_checks),
           (SELECT EXTRACT(EPOCH FROM now() - min(checked_at)) FROM fixity_checks)
    """
)
_FIXITY_FLAGGED = text(
    "SELECT outcome, count(*) FROM fixity_checks WHERE outcome <> 'ok' GROUP BY outcome"
)


_OPEN_TASKS = text(
    "SELECT count(*), count(*) FILTER (WHERE due_at < now()) FROM circulation_tasks "
    "WHERE state IN ('open', 'claimed')"
)
_CIRCULATIONS = text("SELECT state, count(*) FROM circulations GROUP BY state")
_DISPOSAL_BATCHES = text(
    "SELECT kind, status, count(*) FROM disposal_batches "
    "WHERE status <> 'completed' GROUP BY kind, status"
)
_LEGAL_HOLDS = text("SELECT count(*) FROM legal_holds WHERE released_at IS NULL")


def failure_reason(reason: str) -> str:
    """A label value for a failure reason: numbers folded, length bounded."""
    return _DIGITS.sub("N", reason)[:REASON_MAX]


class DatabaseCollector(Collector):
    """Gauges and counters computed with a few aggregate queries on every scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterable[Metric]:
        up = GaugeMetricFamily(
            "docarchive_metrics_database_up", "1 when the database answered this scrape."
        )
        try:
            with self.engine.connect() as conn:
                families = list(self._families(conn))
        except SQLAlchemyError as exc:
            log.warning("metrics: the database did not answer: %s", type(exc).__name__)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, *families]

    def _families(self, conn: Connection) -> Iterator[Metric]:
        yield _documents(conn)
        yield from _queues(conn)
        ocr = CounterMetricFamily(
            "docarchive_ocr_pages", "Pages whose stored text came from OCR (rate() gives pages/s)."
        )
        ocr.add_metric([], conn.execute(_OCR_PAGES).scalar_one())
        yield ocr
        yield from _failures(conn)
        yield from _intake(conn)
        yield from _fixity(conn)
        yield from _circulation(conn)
        yield from _retention(conn)


def _documents(conn: Connection) -> Metric:
    counts = dict.fromkeys(DocumentStatus, 0)
    counts.update({row[0]: row[1] for row in conn.execute(_DOCUMENTS)})
    family = GaugeMetricFamily(
        "docarchive_documents", "Documents by processing status.", labels=["status"]
    )
    for status, count in sorted(counts.items()):
        family.add_metric([status], count)
    return family


def _queues(conn: Connection) -> Iterator[Metric]:
    depth = {(queue, status): 0 for queue in KNOWN_QUEUES for status in ("todo", "doing")}
    depth.update({(row[0], row[1]): row[2] for row in conn.execute(_QUEUE)})
    jobs = GaugeMetricFamily(
        "docarchive_queue_jobs",
        "Jobs waiting (todo) or running (doing).",
        labels=["queue", "status"],
    )
    for (queue, status), count in sorted(depth.items()):
        jobs.add_metric([queue, status], count)
    yield jobs
    ages = dict.fromkeys(KNOWN_QUEUES, 0.0)
    ages.update({row[0]: float(row[1]) for row in conn.execute(_OLDEST)})
    oldest = GaugeMetricFamily(
        "docarchive_queue_oldest_job_age_seconds",
        "How long the oldest waiting job has waited (0: none waits).",
        labels=["queue"],
    )
    for queue, age in sorted(ages.items()):
        oldest.add_metric([queue], max(age, 0.0))
    yield oldest


def _failures(conn: Connection) -> Iterator[Metric]:
    jobs = GaugeMetricFamily(
        "docarchive_jobs_failed",
        "Jobs that failed for good (kept in the queue table).",
        labels=["queue", "task"],
    )
    for queue, task, count in conn.execute(_FAILED_JOBS):
        jobs.add_metric([queue, task], count)
    yield jobs
    reasons: dict[str, int] = {}
    for reason, count in conn.execute(_FAILED_DOCUMENTS):
        label = failure_reason(reason)
        reasons[label] = reasons.get(label, 0) + count
    documents = GaugeMetricFamily(
        "docarchive_processing_failures",
        "Documents whose processing failed, by reason.",
        labels=["reason"],
    )
    for label, count in sorted(reasons.items()):
        documents.add_metric([label], count)
    yield documents


def _intake(conn: Connection) -> Iterator[Metric]:
    files = CounterMetricFamily(
        "docarchive_intake_files",
        "Files taken by an intake channel, by outcome.",
        labels=["channel", "outcome"],
    )
    for channel, outcome, count in conn.execute(_INTAKE_FILES):
        files.add_metric([channel, outcome], count)
    yield files
    messages = CounterMetricFamily(
        "docarchive_intake_messages",
        "E-mail messages taken from a mailbox, by outcome.",
        labels=["mailbox", "outcome"],
    )
    for mailbox, outcome, count in conn.execute(_INTAKE_MESSAGES):
        messages.add_metric([mailbox, outcome], count)
    yield messages


def _fixity(conn: Connection) -> Iterator[Metric]:
    last = conn.execute(_FIXITY_LAST_RUN).one_or_none()
    finished, checked, failed = last if last is not None else (0, 0, 0)
    yield _gauge(
        "docarchive_fixity_last_run_timestamp_seconds",
        "When the last fixity run ended (Unix time; 0: never).",
        float(finished),
    )
    yield _gauge(
        "docarchive_fixity_last_run_checked", "Blobs re-hashed by the last fixity run.", checked
    )
    yield _gauge(
        "docarchive_fixity_last_run_failed",
        "Blobs the last fixity run found missing or altered.",
        failed,
    )
    total, never, oldest = conn.execute(_FIXITY_TOTALS).one()
    blobs = CounterMetricFamily(
        "docarchive_fixity_blobs_checked", "Blobs re-hashed by every fixity run so far."
    )
    blobs.add_metric([], total)
    yield blobs
    yield _gauge(
        "docarchive_fixity_never_checked_versions",
        "Stored versions no fixity run has checked yet.",
        max(never, 0),
    )
    yield _gauge(
        "docarchive_fixity_oldest_check_age_seconds",
        "Age of the least recent fixity check (the store is covered within this time).",
        float(oldest or 0),
    )
    flagged = GaugeMetricFamily(
        "docarchive_fixity_failures",
        "Versions whose latest fixity check failed, by outcome (their documents are flagged).",
        labels=["outcome"],
    )
    counts = {"missing": 0, "corrupt": 0}
    counts.update({row[0]: row[1] for row in conn.execute(_FIXITY_FLAGGED)})
    for outcome, count in sorted(counts.items()):
        flagged.add_metric([outcome], count)
    yield flagged


def _circulation(conn: Connection) -> Iterator[Metric]:
    open_tasks, overdue = conn.execute(_OPEN_TASKS).one()
    yield _gauge("docarchive_circulation_open_tasks", "Circulation tasks waiting.", open_tasks)
    yield _gauge(
        "docarchive_circulation_overdue_tasks", "Waiting tasks past their due time.", overdue
    )
    states = {"running": 0, "approved": 0, "rejected": 0}
    states.update({row[0]: row[1] for row in conn.execute(_CIRCULATIONS)})
    family = GaugeMetricFamily(
        "docarchive_circulations", "Circulations by state.", labels=["state"]
    )
    for state, count in sorted(states.items()):
        family.add_metric([state], count)
    yield family


def _retention(conn: Connection) -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "docarchive_disposal_batches_pending",
        "Disposal batches not completed yet (draft: awaiting review), by kind and status.",
        labels=["kind", "status"],
    )
    for kind, status, count in conn.execute(_DISPOSAL_BATCHES):
        family.add_metric([kind, status], count)
    yield family
    yield _gauge(
        "docarchive_legal_holds_active",
        "Legal holds in force.",
        conn.execute(_LEGAL_HOLDS).scalar_one(),
    )


def _gauge(name: str, documentation: str, value: float) -> Metric:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], value)
    return family


class Metrics:
    """The registry of one API process and the instruments its middleware feeds."""

    def __init__(self, engine: Engine) -> None:
        self.registry = CollectorRegistry()
        self.request_latency = Histogram(
            "docarchive_http_request_duration_seconds",
            "Time to answer a request, by route template.",
            labelnames=["method", "route", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.registry.register(DatabaseCollector(engine))

    def render(self) -> bytes:
        return generate_latest(self.registry)


router = APIRouter(include_in_schema=False)


@router.get("/metrics")
def metrics(request: Request) -> Response:
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE_LATEST)
