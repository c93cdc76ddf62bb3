"""The hot folder: files dropped into a directory (a scanner's share) become documents.

A file is taken once it is completely written: its size and mtime stayed the same between two
scans and for `settle_seconds` (a file renamed into place is old already, so it goes on the
next scan). Names a writer uses while writing (`.name`, `~name`, `*.part`, `*.tmp`) are
ignored. The document and the ledger row (by SHA-256) commit together before the file is moved
to `done/` or `failed/` beside a `<name>.reason.json` sidecar; after a crash between the two,
the next scan finds the ledger row and only moves the file.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from app.config import Settings
from app.db import session_scope, utcnow
from app.documents.repository import class_codes
from app.documents.upload import SpooledFile, spool_path
from app.errors import DomainError
from app.intake.lease import AdvisoryLease
from app.intake.models import IntakeChannel, ItemOutcome
from app.intake.rules import IntakeRules, Placement
from app.intake.service import (
    TRANSIENT_ERRORS,
    IntakeResult,
    IntakeSource,
    mark_settled,
    record_item,
    take_file,
    unsettled_ingest,
)
from app.observability.logs import log_context
from app.security.principal import system_actor
from app.storage import BlobStore
from schemas.documents import MetadataFields

log = logging.getLogger(__name__)

HOTFOLDER_ACTOR = system_actor("hotfolder")
DONE_DIR = "done"
FAILED_DIR = "failed"
SIDECAR_SUFFIX = ".reason.json"
WRITING_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".crdownload", ".swp", ".filepart")


def is_candidate(name: str) -> bool:
    """False for names writers use while a file is incomplete, and for our own sidecars."""
    lowered = name.lower()
    return not (
        name.startswith((".", "~"))
        or lowered.endswith(WRITING_SUFFIXES)
        or lowered.endswith(SIDECAR_SUFFIX)
    )


@dataclass(frozen=True, slots=True)
class Signature:
    size: int
    mtime_ns: int


@dataclass
class StabilityTracker:
    """Remembers what each file looked like on earlier scans."""

    settle_seconds: float
    _seen: dict[Path, tuple[Signature, float]] = field(default_factory=dict)

    def ready(self, path: Path, signature: Signature, now: float) -> bool:
        previous = self._seen.get(path)
        if previous is None or previous[0] != signature:
            self._seen[path] = (signature, now)
            return False
        unchanged_for = now - previous[1]
        age = time.time() - signature.mtime_ns / 1e9
        return max(unchanged_for, age) >= self.settle_seconds

    def forget(self, path: Path) -> None:
        self._seen.pop(path, None)

    def keep_only(self, present: set[Path]) -> None:
        for path in set(self._seen) - present:
            del self._seen[path]


@dataclass
class ScanReport:
    ingested: list[Path] = field(default_factory=list)
    duplicates: list[Path] = field(default_factory=list)
    refused: list[Path] = field(default_factory=list)
    waiting: list[Path] = field(default_factory=list)

    @property
    def taken(self) -> int:
        return len(self.ingested) + len(self.duplicates) + len(self.refused)


class HotFolder:
    def __init__(
        self,
        root: Path,
        *,
        settings: Settings,
        factory: sessionmaker[Session],
        store: BlobStore,
        rules: IntakeRules,
    ) -> None:
        self.root = root.resolve()
        self.settings = settings
        self.factory = factory
        self.store = store
        self.rules = rules
        self.tracker = StabilityTracker(settings.hotfolder_settle_seconds)

    def candidates(self) -> Iterator[Path]:
        """Files under the root, outside done/, failed/ and hidden folders, in name order."""
        for dirpath, dirs, files in os.walk(self.root):
            at_root = Path(dirpath) == self.root
            dirs[:] = sorted(
                d
                for d in dirs
                if not d.startswith(".") and not (at_root and d in {DONE_DIR, FAILED_DIR})
            )
            for name in sorted(files):
                if is_candidate(name):
                    yield Path(dirpath) / name

    def scan(self) -> ScanReport:
        """Take every file that is completely written; the others wait for the next scan."""
        report = ScanReport()
        present: set[Path] = set()
        known_classes: set[str] | None = None
        for path in self.candidates():
            present.add(path)
            if not self._is_ready(path):
                report.waiting.append(path)
                continue
            if known_classes is None:
                known_classes = self._known_classes()
            self._take(path, known_classes, report)
        self.tracker.keep_only(present)
        return report

    def _is_ready(self, path: Path) -> bool:
        try:
            stat = path.stat()
        except FileNotFoundError:
            return False
        return self.tracker.ready(path, Signature(stat.st_size, stat.st_mtime_ns), time.monotonic())

    def _known_classes(self) -> set[str]:
        with session_scope(self.factory) as session:
            return set(class_codes(session))

    def _take(self, path: Path, known_classes: set[str], report: ScanReport) -> None:
        relative = path.relative_to(self.root)
        with log_context(request_id=f"hotfolder-{uuid.uuid4().hex[:12]}", file=str(relative)):
            result = self._ingest(path, relative, known_classes)
            if result is None:
                return
            settle(self.root, relative, result)
            self._mark_settled(result)
            self.tracker.forget(path)
            _report_outcome(report, path, result)
            log.info("hot folder file %s: %s", relative, result.reason)

    def _ingest(self, path: Path, relative: Path, known_classes: set[str]) -> IntakeResult | None:
        origin = IntakeSource(IntakeChannel.hotfolder, relative.as_posix(), relative.name)
        try:
            fields = self._fields(relative, known_classes)
            spooled = spool_path(
                path, tmp_dir=self.settings.tmp_dir, max_bytes=self.settings.max_upload_bytes
            )
        except FileNotFoundError:
            return None  # taken away meanwhile
        except (DomainError, ValidationError) as exc:
            return self._refuse(origin, _reason(exc))
        try:
            return self._ingest_spooled(spooled, fields, origin)
        finally:
            spooled.path.unlink(missing_ok=True)

    def _ingest_spooled(
        self, spooled: SpooledFile, fields: MetadataFields, origin: IntakeSource
    ) -> IntakeResult:
        with session_scope(self.factory) as session:
            earlier = unsettled_ingest(session, source=origin.source, sha256=spooled.sha256)
            if earlier is not None:
                return earlier
            return take_file(
                session,
                store=self.store,
                upload=spooled,
                fields=fields,
                actor=HOTFOLDER_ACTOR,
                origin=origin,
            )

    def _mark_settled(self, result: IntakeResult) -> None:
        if result.item_id is not None:
            with session_scope(self.factory) as session:
                mark_settled(session, result.item_id)

    def _refuse(self, origin: IntakeSource, reason: str) -> IntakeResult:
        result = IntakeResult(ItemOutcome.refused, reason)
        with session_scope(self.factory) as session:
            return record_item(session, origin=origin, result=result)

    def _fields(self, relative: Path, known_classes: set[str]) -> MetadataFields:
        folder = PurePosixPath(relative.parent.as_posix())
        placement: Placement = self.rules.for_folder(
            folder if folder.parts else PurePosixPath(), known_classes
        )
        return MetadataFields(
            document_class=placement.document_class,
            tags=list(placement.tags),
            metadata={"intake": {"channel": "hotfolder", "path": relative.as_posix()}},
        )


def _reason(exc: DomainError | ValidationError) -> str:
    if isinstance(exc, DomainError):
        return exc.detail
    return "; ".join(str(error["msg"]) for error in exc.errors())


def _report_outcome(report: ScanReport, path: Path, result: IntakeResult) -> None:
    if result.outcome is ItemOutcome.ingested:
        report.ingested.append(path)
    elif result.outcome is ItemOutcome.duplicate:
        report.duplicates.append(path)
    else:
        report.refused.append(path)


def settle(root: Path, relative: Path, result: IntakeResult) -> Path:
    """Write the sidecar, then move the file beside it (done/ or failed/, same subfolders)."""
    folder = root / (DONE_DIR if result.accepted else FAILED_DIR) / relative.parent
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, relative.name)
    sidecar = target.with_name(target.name + SIDECAR_SUFFIX)
    _write_sidecar(sidecar, relative, result)
    os.replace(root / relative, target)
    return target


def _free_name(folder: Path, name: str) -> Path:
    """`name`, or `stem (2).ext`... when a file of that name was moved there before."""
    candidate = folder / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 2
    while candidate.exists():
        candidate = folder / f"{stem} ({number}){suffix}"
        number += 1
    return candidate


def _write_sidecar(sidecar: Path, relative: Path, result: IntakeResult) -> None:
    body = {
        "file": relative.as_posix(),
        "outcome": result.outcome.value,
        "reason": result.reason,
        "document_id": str(result.document_id) if result.document_id else None,
        "at": utcnow().isoformat(),
    }
    partial = sidecar.with_name("." + sidecar.name + ".part")
    partial.write_text(json.dumps(body, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, sidecar)


def watch(folder: HotFolder, engine: Engine, stop: threading.Event, poll_seconds: float) -> None:
    """Scan until `stop` is set; a database outage is logged and waited out."""
    lease = AdvisoryLease(engine, "hotfolder", str(folder.root))
    folder.root.mkdir(parents=True, exist_ok=True)
    log.info("watching %s for new files", folder.root)
    try:
        while not stop.is_set():
            try:
                if lease.held():
                    folder.scan()
            except OperationalError as exc:
                lease.release()
                log.warning("hot folder scan failed, the database is unavailable: %s", exc.orig)
            except TRANSIENT_ERRORS as exc:
                log.warning("hot folder scan interrupted, will retry: %s", exc.detail)
            stop.wait(poll_seconds)
    finally:
        lease.release()
