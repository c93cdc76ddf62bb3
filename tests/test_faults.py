"""Faults not covered by tests/test_failures.py and tests/test_worker.py, each ending with
`verify`: database connections killed during an upload and during a job, the API process
SIGKILLed mid-upload (a real `docarchive serve`), the blob disk full.

(A worker SIGKILLed while OCR'ing an 8-page scan is tests/test_worker.py
::test_sigkilled_worker_job_completes_once_after_restart.)
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.config import Settings
from app.db import build_sessionmaker
from app.documents.gc import collect_garbage
from app.storage import BlobStore, blob_key
from app.storage.local import LocalBlobStore
from app.verify import verify_archive
from tests import samples
from tests.conftest import EVERY_ROLE, LiveServer, RunWorker, create_user, free_port, row_count

LOCAL = pytest.mark.parametrize("blob_store", ["local"], indirect=True)
SLEEP_SECONDS = 20  # the injected stall; every test ends it well before


def assert_verified(engine: Engine, store: BlobStore, settings: Settings) -> None:
    report = verify_archive(
        build_sessionmaker(engine), store, settings.model_copy(update={"gc_grace_seconds": 0})
    )
    assert report.ok, (report.problems, report.orphan_blobs)


def collect(engine: Engine, store: BlobStore, settings: Settings) -> list[str]:
    tmp_dirs = [settings.tmp_dir, settings.resolved_blob_dir / ".staging"]
    report = collect_garbage(
        build_sessionmaker(engine), store, tmp_dirs=tmp_dirs, grace=timedelta(0)
    )
    return report.blobs_removed


def temp_files(settings: Settings) -> list[Path]:
    return list(settings.tmp_dir.iterdir()) if settings.tmp_dir.exists() else []


@pytest.fixture
def stall(engine: Engine) -> Iterator[Callable[[str], None]]:
    """`stall("documents")`: the next INSERT into that table sleeps inside its transaction
    (once: a sequence, which a rollback does not undo, counts the stalls)."""
    tables: list[str] = []

    def install(table: str) -> None:
        with engine.begin() as conn:
            conn.execute(
                text(f"""
                CREATE SEQUENCE test_stall_{table};
                CREATE FUNCTION test_stall_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                  IF nextval('test_stall_{table}') = 1 THEN PERFORM pg_sleep({SLEEP_SECONDS});
                  END IF;
                  RETURN NEW;
                END $$;
                CREATE TRIGGER test_stall_{table} BEFORE INSERT ON {table}
                  FOR EACH ROW EXECUTE FUNCTION test_stall_{table}();
                """)
            )
        tables.append(table)

    yield install
    terminate_stalled(engine)
    with engine.begin() as conn:
        for table in tables:
            conn.execute(text(f"DROP TRIGGER test_stall_{table} ON {table}"))
            conn.execute(text(f"DROP FUNCTION test_stall_{table}()"))
            conn.execute(text(f"DROP SEQUENCE test_stall_{table}"))


def stalled_backends(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                text(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event = 'PgSleep' AND pid <> pg_backend_pid()"
                )
            ).scalars()
        )


def wait_for_stall(engine: Engine) -> list[int]:
    deadline = time.monotonic() + 30
    while not (pids := stalled_backends(engine)):
        assert time.monotonic() < deadline, "nothing reached the stalled statement"
        time.sleep(0.05)
    return pids


def terminate_stalled(engine: Engine) -> int:
    pids = stalled_backends(engine)
    with engine.connect() as conn:
        for pid in pids:
            conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    return len(pids)


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, list[object]]:
    result: list[object] = []
    thread = threading.Thread(target=lambda: result.append(call()), daemon=True)
    thread.start()
    return thread, result


@LOCAL
def test_database_connection_killed_during_an_upload_leaves_only_an_orphan_blob(
    server: LiveServer, client: httpx.Client, engine: Engine, stall: Callable[[str], None]
) -> None:
    stall("documents")
    content = samples.pdf("killed")
    thread, result = in_thread(
        lambda: client.post("/documents", files={"file": ("k.pdf", content)})
    )
    wait_for_stall(engine)  # the blob is stored, the transaction is inside its INSERT

    assert terminate_stalled(engine) == 1
    thread.join(timeout=30)

    response = result[0]
    assert isinstance(response, httpx.Response)
    assert response.status_code == 503, response.text
    assert response.json()["type"].endswith("/database-unavailable")
    assert row_count(engine, "documents") == 0
    assert row_count(engine, "document_versions") == 0
    assert temp_files(server.settings) == []
    orphan = blob_key(hashlib.sha256(content).hexdigest())
    assert collect(engine, server.store, server.settings) == [orphan]
    again = client.post("/documents", files={"file": ("k.pdf", content)})
    assert again.status_code == 202, again.text
    assert_verified(engine, server.store, server.settings)


@LOCAL
def test_database_connection_killed_during_a_job_the_job_completes_later(
    server: LiveServer,
    client: httpx.Client,
    engine: Engine,
    run_worker: RunWorker,
    stall: Callable[[str], None],
) -> None:
    document_id = client.post(
        "/documents", files={"file": ("fa3.xml", samples.ksef_fa3("FV/20/2026"))}
    ).json()["id"]
    stall("document_pages")
    thread, _ = in_thread(run_worker)
    wait_for_stall(engine)  # the job is saving its results: pages, fields, status

    assert terminate_stalled(engine) == 1
    thread.join(timeout=30)

    interrupted = client.get(f"/documents/{document_id}").json()
    assert interrupted["status"] == "pending"
    assert interrupted["status_reason"].startswith("will retry")
    assert row_count(engine, "document_pages") == 0  # the save was all or nothing
    assert row_count(engine, "document_fields") == 0
    deadline = time.monotonic() + 30
    while client.get(f"/documents/{document_id}").json()["status"] != "processed":
        assert time.monotonic() < deadline, "the retry never ran"
        time.sleep(0.5)
        run_worker()
    assert processed_events(engine, document_id) == 1
    assert row_count(engine, "document_pages") == 1
    assert_verified(engine, server.store, server.settings)


def processed_events(engine: Engine, document_id: str) -> int:
    with engine.connect() as conn:
        count: int = conn.execute(
            text(
                "SELECT count(*) FROM audit_events WHERE action = 'document.processed' "
                "AND document_id = :id"
            ),
            {"id": uuid.UUID(document_id)},
        ).scalar_one()
    return count


class ServeProcess:
    """`docarchive serve` as a child process, to be killed like a real one."""

    def __init__(self, settings: Settings, log: Path) -> None:
        self.port = free_port()
        self.log = log
        self.env = {
            **os.environ,
            "DOCARCHIVE_DATABASE_URL": str(settings.database_url),
            "DOCARCHIVE_DATA_DIR": str(settings.data_dir),
            "DOCARCHIVE_RUN_WORKER": "false",
            "DOCARCHIVE_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while not self._ready():
            assert self.process.poll() is None, self.log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "docarchive serve did not start"
            time.sleep(0.1)

    def _ready(self) -> bool:
        try:
            return httpx.get(self.url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=30)


@pytest.fixture
def serve(settings: Settings, tmp_path: Path) -> Iterator[ServeProcess]:
    process = ServeProcess(settings, tmp_path / "serve.log")
    process.start()
    yield process
    process.stop()


def start_streaming_upload(
    url: str, token: str, head: bytes, total: int, *, title: str | None = None
) -> socket.socket:
    """An upload whose body has only begun to arrive: `head` of a `total`-byte file."""
    boundary = "faultboundary"
    fields = ""
    if title is not None:
        fields = f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'
    preamble = (
        f'{fields}--{boundary}\r\nContent-Disposition: form-data; name="file"; '
        'filename="stream.pdf"\r\nContent-Type: application/pdf\r\n\r\n'
    ).encode()
    closing = f"\r\n--{boundary}--\r\n".encode()
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    request = (
        f"POST /api/v1/documents HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\n"
        f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
        f"Content-Length: {len(preamble) + total + len(closing)}\r\n\r\n"
    ).encode()
    sock.sendall(request + preamble + head)
    return sock


def test_api_killed_during_a_streaming_upload_leaves_a_temp_file_gc_removes(
    serve: ServeProcess, settings: Settings, engine: Engine
) -> None:
    token = create_user(engine, "uploader", *EVERY_ROLE)
    head = samples.pdf("streamed") + os.urandom(2 * 1024 * 1024)
    sock = start_streaming_upload(serve.url, token, head, total=len(head) + 4 * 1024 * 1024)
    deadline = time.monotonic() + 30
    while sum(p.stat().st_size for p in temp_files(settings)) < 2 * 1024 * 1024:
        assert time.monotonic() < deadline, "the upload never reached the temp file"
        time.sleep(0.05)

    serve.kill()
    sock.close()

    assert row_count(engine, "documents") == 0
    assert len(temp_files(settings)) == 1  # what a killed process leaves behind
    store = LocalBlobStore(settings.resolved_blob_dir)
    assert collect(engine, store, settings) == []
    assert temp_files(settings) == []
    serve.start()
    with httpx.Client(base_url=serve.url + "/api/v1", headers=_bearer(token)) as client:
        again = client.post("/documents", files={"file": ("s.pdf", head)})
    assert again.status_code == 202, again.text
    assert_verified(engine, store, settings)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_api_killed_between_storing_the_blob_and_the_commit_gc_collects_the_orphan(
    serve: ServeProcess, settings: Settings, engine: Engine, stall: Callable[[str], None]
) -> None:
    token = create_user(engine, "uploader", *EVERY_ROLE)
    stall("documents")
    content = samples.pdf("orphaned")
    sock = start_streaming_upload(serve.url, token, content, total=len(content))
    sock.sendall(b"\r\n--faultboundary--\r\n")
    wait_for_stall(engine)  # blob stored, transaction open inside its INSERT

    serve.kill()
    sock.close()
    terminate_stalled(engine)  # what the server does once it notices its client is gone

    store = LocalBlobStore(settings.resolved_blob_dir)
    orphan = blob_key(hashlib.sha256(content).hexdigest())
    assert row_count(engine, "documents") == 0
    assert [b.key for b in store.iter_blobs()] == [orphan]
    assert collect(engine, store, settings) == [orphan]
    assert temp_files(settings) == []
    serve.start()
    with httpx.Client(base_url=serve.url + "/api/v1", headers=_bearer(token)) as client:
        again = client.post("/documents", files={"file": ("o.pdf", content)})
    assert again.status_code == 202, again.text
    assert_verified(engine, store, settings)


@pytest.fixture
def tiny_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB tmpfs: a disk that fills up. Needs root and mount rights (this machine and CI
    have both); skipped with the reason where the mount is refused."""
    mount_point = tmp_path / "tiny"
    mount_point.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    subprocess.run(["umount", "-l", str(mount_point)], check=True)


@pytest.mark.parametrize("full", ["blob store", "upload spool"])
def test_full_disk_answers_a_clear_error_and_records_nothing(
    tiny_disk: Path, full: str, settings: Settings, engine: Engine
) -> None:
    if full == "blob store":
        settings = settings.model_copy(update={"blob_dir": tiny_disk / "blobs"})
    else:
        settings = settings.model_copy(update={"data_dir": tiny_disk})
    store = LocalBlobStore(settings.resolved_blob_dir)
    big = samples.pdf("too big") + os.urandom(1536 * 1024)
    with LiveServer(settings, engine, store) as server, server.client() as client:
        refused = client.post("/documents", files={"file": ("big.pdf", big)})
        small = client.post("/documents", files={"file": ("small.png", samples.png("fits"))})

    assert refused.status_code in (503, 507), refused.text
    assert "disk is full" in refused.json()["detail"]
    assert small.status_code == 202, small.text
    assert row_count(engine, "documents") == 1
    assert temp_files(settings) == []
    assert list((settings.resolved_blob_dir / ".staging").iterdir()) == []
    assert_verified(engine, store, settings)
