"""The hot folder: files are taken once completely written, moved to done/ or failed/ with a
sidecar, and never lost or ingested twice across restarts."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import build_sessionmaker, session_scope
from app.documents.models import Document, DocumentVersion
from app.intake import hotfolder
from app.intake.commands import hot_folder, hot_folder_thread
from app.intake.hotfolder import HotFolder, is_candidate
from app.intake.models import IntakeItem
from tests import samples
from tests.conftest import row_count

RULES = """
[[folder]]
path = "faktury"
class = "invoice"
tags = ["zakupy"]
"""


def _folder(settings: Settings, engine: Engine, root: Path, settle: float = 1.0) -> HotFolder:
    tuned = settings.model_copy(update={"hotfolder_settle_seconds": settle})
    return hot_folder(tuned, engine, root)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    root = tmp_path / "skaner"
    root.mkdir()
    return root


def scan_until(folder: HotFolder, done: Path, timeout: float = 20.0) -> list[hotfolder.ScanReport]:
    """Scan every 0.2 s until `done` exists; the reports of every scan."""
    reports = []
    deadline = time.monotonic() + timeout
    while not done.exists():
        assert time.monotonic() < deadline, f"{done} never appeared"
        reports.append(folder.scan())
        time.sleep(0.2)
    return reports


def sidecar(path: Path) -> dict[str, str]:
    loaded: dict[str, str] = json.loads(path.with_name(path.name + ".reason.json").read_text())
    return loaded


def versions(engine: Engine) -> list[DocumentVersion]:
    with session_scope(build_sessionmaker(engine)) as session:
        return list(session.scalars(select(DocumentVersion)))


def document(engine: Engine, document_id: str) -> Document:
    with session_scope(build_sessionmaker(engine)) as session:
        found = session.get(Document, document_id)
        assert found is not None
        return found


def test_names_of_files_being_written_are_ignored() -> None:
    assert is_candidate("faktura.pdf")
    for name in ("faktura.pdf.part", ".faktura.pdf", "~$faktura.pdf", "x.tmp", "a.pdf.reason.json"):
        assert not is_candidate(name), name


def test_a_file_written_slowly_is_taken_only_once_complete(
    settings: Settings, engine: Engine, inbox: Path
) -> None:
    content = samples.pdf("slow writer", pages=3)
    target = inbox / "wolno.pdf"
    chunks = [
        content[i : i + len(content) // 5 + 1]
        for i in range(0, len(content), len(content) // 5 + 1)
    ]

    def write_slowly() -> None:
        with target.open("wb") as handle:
            for chunk in chunks:
                handle.write(chunk)
                handle.flush()
                time.sleep(0.4)

    writer = threading.Thread(target=write_slowly)
    writer.start()
    folder = _folder(settings, engine, inbox, settle=1.0)
    reports = scan_until(folder, inbox / "done" / "wolno.pdf")
    writer.join()

    assert any(target in report.waiting for report in reports[:-1])
    [version] = versions(engine)
    assert version.sha256 == hashlib.sha256(content).hexdigest()
    assert version.uploaded_by == "hotfolder"
    assert (inbox / "done" / "wolno.pdf").read_bytes() == content
    assert sidecar(inbox / "done" / "wolno.pdf")["outcome"] == "ingested"
    assert sidecar(inbox / "done" / "wolno.pdf")["document_id"] == str(version.document_id)
    assert not (inbox / "failed").exists()


def test_a_file_renamed_into_place_is_taken_on_the_next_scan(
    settings: Settings, engine: Engine, inbox: Path
) -> None:
    partial = inbox / "skan.pdf.part"
    partial.write_bytes(samples.pdf("renamed"))
    old = time.time() - 600
    os.utime(partial, (old, old))
    # A long settle time: only the rename rule (an old, unchanged file) can take it this fast.
    folder = _folder(settings, engine, inbox, settle=300.0)
    assert folder.scan().taken == 0
    assert folder.scan().taken == 0  # the .part name is never taken

    partial.rename(inbox / "skan.pdf")
    first, second = folder.scan(), folder.scan()

    assert first.taken == 0  # first sight: not yet known to be unchanged
    assert second.ingested == [inbox / "skan.pdf"]
    assert (inbox / "done" / "skan.pdf").exists()
    assert row_count(engine, "documents") == 1


def test_refused_files_go_to_failed_with_the_reason(
    settings: Settings, engine: Engine, inbox: Path
) -> None:
    (inbox / "notatka.txt").write_text("to nie jest dokument")
    (inbox / "pusty.pdf").write_bytes(b"")
    folder = _folder(settings, engine, inbox, settle=0.0)

    folder.scan()
    report = folder.scan()

    assert sorted(p.name for p in report.refused) == ["notatka.txt", "pusty.pdf"]
    assert "accepted are PDF" in sidecar(inbox / "failed" / "notatka.txt")["reason"]
    assert sidecar(inbox / "failed" / "pusty.pdf")["reason"] == "the file is empty"
    assert sidecar(inbox / "failed" / "pusty.pdf")["outcome"] == "refused"
    assert list(inbox.glob("*.*")) == []
    assert row_count(engine, "documents") == 0
    assert row_count(engine, "intake_items") == 2


def test_a_duplicate_goes_to_done_naming_the_document_it_duplicates(
    settings: Settings, engine: Engine, inbox: Path
) -> None:
    content = samples.png("duplikat")
    (inbox / "oryginal.png").write_bytes(content)
    folder = _folder(settings, engine, inbox, settle=0.0)
    folder.scan()
    folder.scan()
    (inbox / "kopia.png").write_bytes(content)
    (inbox / "oryginal.png").write_bytes(content)  # the same name again, later

    folder.scan()
    report = folder.scan()

    assert len(report.duplicates) == 2
    original = sidecar(inbox / "done" / "oryginal.png")["document_id"]
    assert sidecar(inbox / "done" / "kopia.png")["outcome"] == "duplicate"
    assert sidecar(inbox / "done" / "kopia.png")["document_id"] == original
    assert f"document {original}" in sidecar(inbox / "done" / "kopia.png")["reason"]
    assert sidecar(inbox / "done" / "oryginal (2).png")["outcome"] == "duplicate"
    assert row_count(engine, "documents") == 1


def test_subfolders_give_the_class_and_tags(
    settings: Settings, engine: Engine, inbox: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    for relative, label in [
        ("invoice/2026/marzec/a.pdf", "a"),
        ("faktury/dzial-IT/b.pdf", "b"),
        ("inne/c.pdf", "c"),
        ("d.pdf", "d"),
    ]:
        path = inbox / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(samples.pdf(label))
    tuned = settings.model_copy(update={"intake_rules_file": rules, "hotfolder_settle_seconds": 0})
    folder = hot_folder(tuned, engine, inbox)

    folder.scan()
    assert len(folder.scan().ingested) == 4

    def placed(relative: str) -> tuple[str | None, list[str]]:
        found = document(engine, sidecar(inbox / "done" / relative)["document_id"])
        assert found.custom_fields["intake"]["path"] == relative
        return found.document_class, found.tags

    assert placed("invoice/2026/marzec/a.pdf") == ("invoice", ["2026", "marzec"])
    assert placed("faktury/dzial-IT/b.pdf") == ("invoice", ["zakupy"])
    assert placed("inne/c.pdf") == (None, ["inne"])
    assert placed("d.pdf") == (None, [])


class Crash(BaseException):
    """Stands for the process being killed at this line."""


def test_a_restart_between_the_commit_and_the_move_does_not_ingest_twice(
    settings: Settings, engine: Engine, inbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (inbox / "faktura.pdf").write_bytes(samples.pdf("restart"))
    folder = _folder(settings, engine, inbox, settle=0.0)
    folder.scan()

    def killed(*_args: object) -> Path:
        raise Crash

    with monkeypatch.context() as patched:
        patched.setattr(hotfolder, "settle", killed)
        with pytest.raises(Crash):
            folder.scan()
    assert (inbox / "faktura.pdf").exists()
    assert row_count(engine, "documents") == 1  # committed before the move

    restarted = _folder(settings, engine, inbox, settle=0.0)
    restarted.scan()
    report = restarted.scan()

    assert report.ingested == [inbox / "faktura.pdf"]
    assert row_count(engine, "documents") == 1
    assert row_count(engine, "intake_items") == 1
    [version] = versions(engine)
    assert sidecar(inbox / "done" / "faktura.pdf")["document_id"] == str(version.document_id)


class WatchProcess:
    """`docarchive watch DIR` as its own process, as an operator runs it."""

    def __init__(self, settings: Settings, root: Path, log: Path) -> None:
        env = {
            **os.environ,
            "DOCARCHIVE_DATABASE_URL": str(settings.database_url),
            "DOCARCHIVE_DATA_DIR": str(settings.data_dir),
            "DOCARCHIVE_HOTFOLDER_POLL_SECONDS": "0.2",
            "DOCARCHIVE_HOTFOLDER_SETTLE_SECONDS": "0.5",
        }
        with log.open("ab") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "watch", str(root)],
                env=env,
                stdout=handle,
                stderr=handle,
            )

    def stop(self, sig: int) -> int:
        self.process.send_signal(sig)
        return self.process.wait(timeout=30)


@pytest.fixture
def watchers(settings: Settings, inbox: Path, tmp_path: Path) -> Iterator[list[WatchProcess]]:
    started: list[WatchProcess] = []
    yield started
    for watcher in started:
        if watcher.process.poll() is None:
            watcher.stop(signal.SIGKILL)


def wait_for(paths: list[Path], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, [str(p) for p in paths if not p.exists()]
        time.sleep(0.2)


def test_the_watch_command_survives_being_killed(
    settings: Settings,
    engine: Engine,
    inbox: Path,
    tmp_path: Path,
    watchers: list[WatchProcess],
) -> None:
    log = tmp_path / "watch.log"
    first_batch = [f"a{n}.pdf" for n in range(3)]
    for name in first_batch:
        (inbox / name).write_bytes(samples.pdf(name))
    watchers.append(WatchProcess(settings, inbox, log))
    wait_for([inbox / "done" / first_batch[0]])
    watchers[0].stop(signal.SIGKILL)  # wherever it was: scanning, ingesting or moving

    second_batch = [f"b{n}.png" for n in range(2)]
    for name in second_batch:
        (inbox / name).write_bytes(samples.png(name))
    watchers.append(WatchProcess(settings, inbox, log))
    wait_for([inbox / "done" / name for name in first_batch + second_batch])

    assert watchers[1].stop(signal.SIGTERM) == 0, log.read_text()
    assert row_count(engine, "documents") == 5
    with session_scope(build_sessionmaker(engine)) as session:
        outcomes = [item.outcome for item in session.scalars(select(IntakeItem))]
    assert outcomes == ["ingested"] * 5
    assert sorted(p.name for p in (inbox / "done").glob("*.*") if p.suffix != ".json") == sorted(
        first_batch + second_batch
    )
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    assert any(line["message"].startswith("hot folder file b0.png") for line in lines)


def test_serve_watches_the_configured_folder_once_across_processes(
    settings: Settings, engine: Engine, inbox: Path
) -> None:
    tuned = settings.model_copy(
        update={
            "hotfolder_dir": inbox,
            "hotfolder_poll_seconds": 0.1,
            "hotfolder_settle_seconds": 0.2,
        }
    )
    names = [f"s{n}.pdf" for n in range(3)]
    assert settings.database_url is not None
    # Two `serve` processes configured with the same folder: one watches, the other stands by.
    with (
        hot_folder_thread(tuned, settings.database_url),
        hot_folder_thread(tuned, settings.database_url),
    ):
        for name in names:
            (inbox / name).write_bytes(samples.pdf(name))
        wait_for([inbox / "done" / name for name in names], timeout=30)

    assert row_count(engine, "documents") == 3
    assert row_count(engine, "intake_items") == 3
    assert not (inbox / "failed").exists()
