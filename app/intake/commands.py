"""What `docarchive watch`, `docarchive imap` and `serve` (with a hot folder set) run."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from sqlalchemy.engine import Engine

from app.audit.service import configure_audit_from_settings
from app.config import Settings
from app.db import build_engine, build_sessionmaker, disposing
from app.intake import imap
from app.intake.hotfolder import HotFolder, watch
from app.intake.rules import load_rules
from app.storage.factory import build_blob_store


def hot_folder(settings: Settings, engine: Engine, root: Path) -> HotFolder:
    configure_audit_from_settings(settings)
    return HotFolder(
        root,
        settings=settings,
        factory=build_sessionmaker(engine),
        store=build_blob_store(settings),
        rules=load_rules(settings.intake_rules_file),
    )


def run_watch(settings: Settings, database_url: str, root: Path) -> int:
    """Watch `root` until SIGINT or SIGTERM; the scan in progress finishes first."""
    stop = threading.Event()

    def request_stop(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, request_stop)
    with disposing(build_engine(database_url, pool_size=2)) as engine:
        watch(hot_folder(settings, engine, root), engine, stop, settings.hotfolder_poll_seconds)
    return 0


@contextmanager
def hot_folder_thread(settings: Settings, database_url: str) -> Iterator[None]:
    """`serve` with DOCARCHIVE_HOTFOLDER_DIR: the watcher runs in a thread beside the API."""
    if settings.hotfolder_dir is None:
        yield
        return
    stop = threading.Event()
    with disposing(build_engine(database_url, pool_size=2)) as engine:
        folder = hot_folder(settings, engine, settings.hotfolder_dir)
        thread = threading.Thread(
            target=watch,
            args=(folder, engine, stop, settings.hotfolder_poll_seconds),
            name="hot-folder",
            daemon=True,
        )
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join(timeout=60)


def run_imap_poll(settings: Settings, database_url: str) -> int:
    """Poll every configured mailbox once and print what became of the messages."""
    if not settings.imap_mailboxes:
        print("no mailboxes are configured (DOCARCHIVE_IMAP_MAILBOXES)")
        return 2
    configure_audit_from_settings(settings)
    with disposing(build_engine(database_url, pool_size=2)) as engine:
        context = imap.IntakeContext(
            settings=settings,
            factory=build_sessionmaker(engine),
            store=build_blob_store(settings),
            rules=load_rules(settings.intake_rules_file),
        )
        reports = imap.poll_mailboxes(context, engine)
    for report in reports:
        print(_summary(report))
    return 1 if any(report.error for report in reports) else 0


def _summary(report: imap.MailboxReport) -> str:
    if report.error:
        return f"{report.mailbox}: NOT POLLED: {report.error}"
    return (
        f"{report.mailbox}: {report.messages} message(s), {len(report.documents)} document(s), "
        f"{report.duplicates} duplicate(s), {report.refused} refused, "
        f"{report.malformed} malformed, {report.already_processed} already processed"
    )
