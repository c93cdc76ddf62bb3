"""The fixity job: re-hash a share of the stored originals on each run, least recently checked
first, so that the whole store is read within 1/share runs.

Each version's latest result is kept in `fixity_checks`; a missing or altered blob flags its
document there (`docarchive verify` lists it) and writes a `fixity.failed` audit event, a blob
found intact again after a failure writes `fixity.recovered`, and each run ends with a
`fixity.run` summary event. Blobs are read outside any transaction; results are written a
batch at a time, so a run killed midway keeps what it found and the next run goes on.
"""

from __future__ import annotations

import logging
import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import record
from app.db import session_scope, utcnow
from app.documents.models import DocumentVersion
from app.errors import Conflict
from app.locks import only_one
from app.reliability import repository
from app.reliability.models import FixityCheck, FixityOutcome, FixityRun
from app.storage import BlobMissing, BlobStore, BlobStoreUnavailable
from app.storage.base import BlobCorrupt, verify_blob

log = logging.getLogger(__name__)

FIXITY_ACTOR = "fixity"
BATCH = 200


class FixityRunInProgress(Conflict):
    title, slug = "Fixity run in progress", "fixity-run-in-progress"


@dataclass(frozen=True, slots=True)
class Finding:
    """What one check found about one version's blob."""

    version_id: uuid.UUID
    document_id: uuid.UUID
    number: int
    blob_key: str
    outcome: FixityOutcome
    detail: str | None
    previous: str | None  # the outcome of the check before, None when never checked

    def describe(self) -> str:
        return f"document {self.document_id} version {self.number} ({self.blob_key}): {self.detail}"


@dataclass
class FixityReport:
    run_id: uuid.UUID
    planned: int
    checked: int = 0
    bytes_read: int = 0
    unreadable: list[str] = field(default_factory=list)
    failures: list[Finding] = field(default_factory=list)
    recovered: int = 0

    @property
    def ok(self) -> bool:
        return not self.failures and not self.unreadable


@dataclass(frozen=True, slots=True)
class _Due:
    version: DocumentVersion
    previous: str | None
    checked_at: datetime


def run_fixity(
    factory: sessionmaker[Session],
    store: BlobStore,
    *,
    share: float,
    trigger: str,
) -> FixityReport:
    """Check `share` (0 < share <= 1) of the versions, the least recently checked first."""
    if not 0 < share <= 1:
        raise ValueError(f"the share must be in (0, 1], not {share}")
    with _only_run(factory):
        report = _start(factory, share=share, trigger=trigger)
        started_at = utcnow()
        after: tuple[datetime, uuid.UUID] | None = None
        while report.checked + len(report.unreadable) < report.planned:
            left = report.planned - report.checked - len(report.unreadable)
            batch = _due(factory, started_at=started_at, after=after, limit=min(BATCH, left))
            if not batch:
                break
            _check_batch(factory, store, batch, report)
            after = (batch[-1].checked_at, batch[-1].version.id)
        _finish(factory, report)
    return report


@contextmanager
def _only_run(factory: sessionmaker[Session]) -> Iterator[None]:
    """One run at a time across every process."""
    with only_one(factory, "fixity", "run") as alone:
        if not alone:
            raise FixityRunInProgress("another fixity run is in progress")
        yield


def _start(factory: sessionmaker[Session], *, share: float, trigger: str) -> FixityReport:
    with session_scope(factory) as session:
        total = session.scalar(repository.version_count()) or 0
        run = FixityRun(trigger=trigger, planned=math.ceil(total * share))
        session.add(run)
        session.flush()
        return FixityReport(run_id=run.id, planned=run.planned)


def _due(
    factory: sessionmaker[Session],
    *,
    started_at: datetime,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[_Due]:
    query = repository.due_versions(started_at=started_at, after=after, limit=limit)
    with session_scope(factory) as session:
        return [_Due(version, previous, at) for version, previous, at in session.execute(query)]


def _check_batch(
    factory: sessionmaker[Session], store: BlobStore, batch: list[_Due], report: FixityReport
) -> None:
    findings: list[Finding] = []
    for due in batch:
        try:
            findings.append(_inspect(store, due))
        except BlobStoreUnavailable as exc:
            # Not a verdict on the bytes: the version keeps its last result and comes first
            # in the next run.
            report.unreadable.append(f"{due.version.blob_key}: {exc}")
            continue
        report.bytes_read += due.version.size
    with session_scope(factory) as session:
        for finding in findings:
            _save(session, finding)
    report.checked += len(findings)
    report.failures += [f for f in findings if f.outcome is not FixityOutcome.ok]
    report.recovered += sum(1 for f in findings if _recovered(f))


def _inspect(store: BlobStore, due: _Due) -> Finding:
    version = due.version
    outcome, detail = FixityOutcome.ok, None
    try:
        verify_blob(store, sha256=version.sha256, size=version.size)
    except BlobMissing:
        outcome, detail = FixityOutcome.missing, "the blob is missing"
    except BlobCorrupt:
        outcome, detail = FixityOutcome.corrupt, "the blob no longer matches its SHA-256"
    return Finding(
        version_id=version.id,
        document_id=version.document_id,
        number=version.number,
        blob_key=version.blob_key,
        outcome=outcome,
        detail=detail,
        previous=due.previous,
    )


def _recovered(finding: Finding) -> bool:
    failed_before = finding.previous not in (None, FixityOutcome.ok)
    return failed_before and finding.outcome is FixityOutcome.ok


def _save(session: Session, finding: Finding) -> None:
    now = utcnow()
    failing = finding.outcome is not FixityOutcome.ok
    values = {
        "version_id": finding.version_id,
        "document_id": finding.document_id,
        "checked_at": now,
        "outcome": finding.outcome.value,
        "detail": finding.detail,
        "failing_since": now if failing else None,
    }
    statement = insert(FixityCheck).values(values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[FixityCheck.version_id],
            set_={
                "checked_at": statement.excluded.checked_at,
                "outcome": statement.excluded.outcome,
                "detail": statement.excluded.detail,
                "failing_since": func.coalesce(FixityCheck.failing_since, now) if failing else None,
            },
        )
    )
    _audit(session, finding)


def _audit(session: Session, finding: Finding) -> None:
    if finding.outcome is not FixityOutcome.ok:
        action = "fixity.failed"
    elif _recovered(finding):
        action = "fixity.recovered"
    else:
        return
    record(
        session,
        actor=FIXITY_ACTOR,
        action=action,
        document_id=finding.document_id,
        version_id=finding.version_id,
        details={"outcome": finding.outcome.value, "blob_key": finding.blob_key},
    )


def _finish(factory: sessionmaker[Session], report: FixityReport) -> None:
    with session_scope(factory) as session:
        run = session.get(FixityRun, report.run_id)
        assert run is not None
        run.finished_at = utcnow()
        run.checked = report.checked
        run.failed = len(report.failures)
        run.unreadable = len(report.unreadable)
        run.bytes_read = report.bytes_read
        record(
            session,
            actor=FIXITY_ACTOR,
            action="fixity.run",
            details={
                "run_id": str(run.id),
                "trigger": run.trigger,
                "planned": run.planned,
                "checked": run.checked,
                "failed": run.failed,
                "unreadable": run.unreadable,
                "recovered": report.recovered,
                "bytes_read": run.bytes_read,
            },
        )
    if report.failures or report.unreadable:
        log.warning(
            "fixity: %d of %d blobs failed, %d unreadable",
            len(report.failures),
            report.checked,
            len(report.unreadable),
        )


def flagged(factory: sessionmaker[Session]) -> list[str]:
    """One line per version whose latest fixity check failed (for `docarchive verify`)."""
    with session_scope(factory) as session:
        rows = session.execute(repository.flagged_versions()).all()
    return [
        f"fixity: document {check.document_id} version {number}: {check.detail} "
        f"(failing since {check.failing_since:%Y-%m-%d %H:%M}, "
        f"last checked {check.checked_at:%Y-%m-%d %H:%M} UTC)"
        for check, number in rows
    ]


def coverage(factory: sessionmaker[Session]) -> str:
    """One line on the fixity job's progress: its last run and what it has not read yet."""
    with session_scope(factory) as session:
        run = session.scalar(repository.last_run())
        never = session.scalar(repository.never_checked()) or 0
    if run is None or run.finished_at is None:
        return f"fixity: no run yet; {never} versions never checked"
    return (
        f"fixity: last run {run.finished_at:%Y-%m-%d %H:%M} UTC ({run.checked} checked, "
        f"{run.failed} failed, {run.unreadable} unreadable); {never} versions never checked"
    )


def integrity_problems(session: Session, document_id: uuid.UUID) -> list[str]:
    """What the document API and page say about a flagged document, one line per version."""
    rows = session.execute(repository.problems_of(document_id))
    return [
        f"version {number}: {check.outcome} since "
        f"{check.failing_since or check.checked_at:%Y-%m-%d %H:%M} UTC"
        + (f" ({check.detail})" if check.detail else "")
        for check, number in rows
    ]
