"""`docarchive import`: many files through the same spool-and-ingest code as an upload."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from sqlalchemy.orm import Session, sessionmaker

from app.audit.service import configure_audit_from_settings
from app.config import Settings
from app.db import build_engine, build_sessionmaker, disposing, session_scope
from app.documents import service
from app.documents.upload import spool_path
from app.errors import DomainError, DuplicateContent
from app.security.principal import system_actor
from app.storage import BlobStore
from app.storage.factory import build_blob_store
from schemas.documents import MetadataFields

IMPORT_ACTOR = system_actor("import")


@dataclass
class ImportReport:
    accepted: list[Path] = field(default_factory=list)
    duplicates: list[tuple[Path, str]] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused


def discover(paths: list[Path]) -> Iterator[Path]:
    """Every regular file under the given paths, in a stable order."""
    for path in paths:
        if path.is_dir():
            for dirpath, dirs, files in os.walk(path):
                dirs.sort()
                for name in sorted(files):
                    yield Path(dirpath) / name
        else:
            yield path


def import_one(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    path: Path,
    fields: MetadataFields,
) -> str:
    """Ingest one file; returns the new document id. Raises DomainError on a refusal."""
    spooled = spool_path(path, tmp_dir=settings.tmp_dir, max_bytes=settings.max_upload_bytes)
    try:
        with session_scope(factory) as session:
            accepted = service.ingest_document(
                session, store=store, upload=spooled, fields=fields, actor=IMPORT_ACTOR
            )
        return str(accepted.id)
    finally:
        spooled.path.unlink(missing_ok=True)


def import_paths(
    settings: Settings,
    paths: list[Path],
    *,
    document_class: str | None = None,
    tags: list[str] | None = None,
    console: Console | None = None,
) -> ImportReport:
    assert settings.database_url is not None
    configure_audit_from_settings(settings)
    console = console or Console(stderr=True)
    store = build_blob_store(settings)
    fields = MetadataFields(document_class=document_class, tags=tags or [])
    files = list(discover(paths))
    report = ImportReport()
    with (
        disposing(build_engine(settings.database_url, pool_size=1)) as engine,
        _progress(console) as progress,
    ):
        factory = build_sessionmaker(engine)
        task = progress.add_task("importing", total=_total_size(files), files=0, count=len(files))
        for index, path in enumerate(files, start=1):
            _import_reporting(factory, store, settings, path, fields, report)
            progress.update(task, advance=_size(path), files=index)
    _print_summary(console, report)
    return report


def _import_reporting(
    factory: sessionmaker[Session],
    store: BlobStore,
    settings: Settings,
    path: Path,
    fields: MetadataFields,
    report: ImportReport,
) -> None:
    try:
        import_one(factory, store, settings, path, fields)
    except DuplicateContent as exc:
        report.duplicates.append((path, str(exc.extensions.get("document_id"))))
    except DomainError as exc:
        report.refused.append((path, exc.detail))
    except OSError as exc:
        report.refused.append((path, f"cannot read the file: {exc.strerror or exc}"))
    else:
        report.accepted.append(path)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.fields[files]}/{task.fields[count]} files"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
    )


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _total_size(files: list[Path]) -> int:
    return sum(_size(p) for p in files)


def _print_summary(console: Console, report: ImportReport) -> None:
    console.print(
        f"accepted: {len(report.accepted)}, duplicates skipped: {len(report.duplicates)}, "
        f"refused: {len(report.refused)}"
    )
    if report.duplicates:
        table = Table("file", "already stored as document", title="Duplicates skipped")
        for path, document_id in report.duplicates:
            table.add_row(str(path), document_id)
        console.print(table)
    if report.refused:
        table = Table("file", "reason", title="Refused")
        for path, reason in report.refused:
            table.add_row(str(path), reason)
        console.print(table)
