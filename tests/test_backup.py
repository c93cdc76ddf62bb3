"""Backup and restore with the machine's PostgreSQL client: a populated archive is dumped and
copied, restored into a fresh database and a fresh blob store, and passes `verify`."""

from __future__ import annotations

import shutil
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine

from app.cli import main
from app.db import build_engine, disposing
from app.storage import blob_key
from app.storage.local import LocalBlobStore
from tests import samples
from tests.conftest import LiveServer, RunWorker, upload

pytestmark = [
    pytest.mark.parametrize("blob_store", ["local"], indirect=True),
    pytest.mark.skipif(
        shutil.which("pg_dump") is None or shutil.which("pg_restore") is None,
        reason="the PostgreSQL client (pg_dump, pg_restore) is not installed",
    ),
]

COUNTED = ("documents", "document_versions", "document_pages", "document_fields", "audit_events")


def _use(monkeypatch: pytest.MonkeyPatch, database_url: str, data_dir: Path) -> None:
    monkeypatch.setenv("DOCARCHIVE_DATABASE_URL", database_url)
    monkeypatch.setenv("DOCARCHIVE_DATA_DIR", str(data_dir))
    monkeypatch.setenv("DOCARCHIVE_GC_GRACE_SECONDS", "0")


def _counts(database_url: str) -> dict[str, int]:
    with disposing(build_engine(database_url, pool_size=1)) as engine, engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}


def _populate(client: httpx.Client, run_worker: RunWorker) -> list[dict[str, str]]:
    ids = [
        upload(client, samples.ksef_fa3("FV/1/2026"), "fa3.xml"),
        upload(client, samples.text_pdf(["Umowa zlecenia nr 4/2026"]), "umowa.pdf"),
        upload(client, samples.png("skan"), "skan.png"),
    ]
    run_worker()
    fixed = client.patch(
        f"/documents/{ids[0]}/fields", json={"fields": {"gross_total": "1300"}, "revision": 1}
    )
    assert fixed.status_code == 200, fixed.text
    documents = [client.get(f"/documents/{i}").json() for i in ids]
    assert [d["status"] for d in documents] == ["processed"] * 3
    return [{"id": d["id"], "sha256": d["current_version"]["sha256"]} for d in documents]


def test_backup_restores_into_a_fresh_database_and_store_that_verify_accepts(
    server: LiveServer,
    client: httpx.Client,
    run_worker: RunWorker,
    scratch_database: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    documents = _populate(client, run_worker)
    source_url = str(server.settings.database_url)
    before = _counts(source_url)
    folder = tmp_path / "backup"
    _use(monkeypatch, source_url, server.settings.data_dir)

    assert main(["backup", str(folder)]) == 0
    first = capsys.readouterr().out
    assert main(["backup", str(folder)]) == 0  # a second run only copies what is new
    second = capsys.readouterr().out
    assert "blobs copied: 0 (0 bytes)" in second, second
    assert "blobs copied: 0" not in first

    restored_dir = tmp_path / "restored"
    _use(monkeypatch, scratch_database, restored_dir)
    assert main(["restore", str(folder)]) == 0, capsys.readouterr().err
    capsys.readouterr()

    assert main(["verify"]) == 0
    out = capsys.readouterr().out
    assert "versions checked (sizes and SHA-256): 3" in out
    assert f"audit events in the chain: {before['audit_events']}" in out
    assert "fixity: no run yet; 3 versions never checked" in out
    assert "archive OK" in out
    assert main(["audit", "verify"]) == 0
    assert "audit chain intact" in capsys.readouterr().out
    assert _counts(scratch_database) == before
    store = LocalBlobStore(restored_dir / "blobs")
    for document in documents:
        key = blob_key(document["sha256"])
        assert b"".join(store.open(key)) == b"".join(server.store.open(key))


def test_restore_refuses_a_database_that_is_not_empty(
    server: LiveServer,
    client: httpx.Client,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    upload(client, samples.png("a"), "a.png")
    _use(monkeypatch, str(server.settings.database_url), server.settings.data_dir)
    assert main(["backup", str(tmp_path / "backup")]) == 0

    assert main(["restore", str(tmp_path / "backup")]) == 1
    assert "not empty" in capsys.readouterr().err
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM documents")).scalar_one() == 1


def test_backup_does_not_copy_altered_bytes(
    server: LiveServer,
    client: httpx.Client,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    document = client.post("/documents", files={"file": ("a.png", samples.png("a"))}).json()
    path = server.settings.resolved_blob_dir / blob_key(document["sha256"])
    data = bytearray(path.read_bytes())
    data[50] ^= 0xFF
    path.write_bytes(bytes(data))
    _use(monkeypatch, str(server.settings.database_url), server.settings.data_dir)

    assert main(["backup", str(tmp_path / "backup")]) == 1

    assert f"CORRUPT {blob_key(document['sha256'])}" in capsys.readouterr().out
    assert not (tmp_path / "backup" / "blobs" / blob_key(document["sha256"])).exists()
